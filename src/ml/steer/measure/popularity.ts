import type { Split } from '../../data/types.ts';
import { evaluateRanking } from '../../eval/ranking.ts';
import { topKExcluding } from '../../eval/topk.ts';
import { compilePolicies, steerItems, steerUser } from '../apply.ts';
import { longTailMask, popularityNeurons } from '../pick.ts';
import type { Policy } from '../policy.ts';
import type { MeasureSession } from './session.ts';
import type { PopularityRow } from './types.ts';

/**
 * Popularity: scale the popularity neurons on every item (and, with one shared SAE, every user) and measure
 * the long-tail share of the top-10 and HR/NDCG@10 over the measured test users (see measureInterventions).
 */
export function measurePopularity(s: MeasureSession): PopularityRow[] {
  const { bundle, ctx, model, o, train, split, users } = s;
  const rows: PopularityRow[] = [];
  const popNeurons = popularityNeurons(bundle, s.itemCodes);
  const labelled = bundle.neurons.some((n) => n.kind === 'popularity');
  s.choices.push(
    `Popularity: neuron(s) ${popNeurons.join(', ')} (${labelled ? 'labelled popularity' : 'best correlation of item activation with log popularity'}); long tail = items outside the 20 % most popular.`,
  );
  const tail = longTailMask(bundle.popularity);
  const measured = new Set(users);
  const evalSplit: Split = { ...split, testUsers: split.testUsers.filter((u) => measured.has(u)) };
  const evaluate = (scoreInto: (u: number, out: Float32Array) => void) => {
    let slots = 0;
    let longTail = 0;
    const m = evaluateRanking(
      (u, out) => {
        scoreInto(u, out);
        const top = topKExcluding(out, 10, train.indices, train.indptr[u], train.indptr[u + 1]);
        slots += top.length;
        for (const i of top) longTail += tail[i];
      },
      evalSplit,
      { k: 10, signal: o.signal },
    );
    return { hr: m.hr, ndcg: m.ndcg, longtail: slots ? longTail / slots : 0 };
  };
  const plain = evaluate((u, out) => ctx.scorer.scoreAll(u, s.uVec(u), model.params.itemEmb, out));
  const sides = (o.popularitySides ?? ['items', 'users']).filter((on) => s.onUserCodes || on === 'items');
  sides.forEach((on, sideIndex) => {
    const strengths =
      on === 'users'
        ? (o.popularityStrengths ?? [-0.025, -0.05, -0.075, -0.1, -0.15, -0.2, -0.3, -0.5, -0.75, -1])
        : (o.popularityItemStrengths ?? o.popularityStrengths ?? [-0.25, -0.5, -1, -2, -4]);
    for (const strength of strengths) {
      const policies: Policy[] = popNeurons.map((neuron) => ({ kind: 'popularity', neuron, strength, on }));
      const compiled = compilePolicies(ctx, policies);
      const items = steerItems(ctx, compiled);
      const after = evaluate((u, out) =>
        items.scorer.scoreAll(u, steerUser(ctx, compiled, u).vec, items.itemEmb, out),
      );
      rows.push({
        on,
        neurons: popNeurons,
        strength,
        longtail_before: plain.longtail,
        longtail_after: after.longtail,
        'hr@10_before': plain.hr,
        'hr@10_after': after.hr,
        'ndcg@10_before': plain.ndcg,
        'ndcg@10_after': after.ndcg,
      });
    }
    s.progress(0.6 + (0.4 * (sideIndex + 1)) / sides.length, `popularity on ${on}`);
  });
  return rows;
}
