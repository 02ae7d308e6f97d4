import { encode } from '../../sae/model.ts';
import { compilePolicies, steerItems } from '../apply.ts';
import { conceptMask, promotionNeuronFor, topItemsOf, topUsersBy } from '../pick.ts';
import { DEPTH, type MeasureSession } from './session.ts';
import type { PromotionRow } from './types.ts';

/**
 * Promotion: push one of each concept's items through the concept's neuron to the users most active on it
 * (see measureInterventions). `userCodes`: the users' codes when the caller has them (shared SAE only).
 */
export function measurePromotion(
  s: MeasureSession,
  concepts: readonly string[],
  userCodes?: Float32Array, // [nUsers × latents]
): PromotionRow[] {
  const { bundle, ctx, model, o, train, base, users } = s;
  const { dim, latents } = ctx;
  const rows: PromotionRow[] = [];
  // The audience is read at item-SAE neurons: with one SAE per side, the users as the item SAE encodes
  // them (their own codes are in another dictionary, whose neuron j means something else).
  let audienceCache: Float32Array | undefined;
  const audienceCodes = () =>
    (audienceCache ??=
      s.onUserCodes && userCodes
        ? userCodes
        : encode(s.onUserCodes ? ctx.userSae : ctx.itemSae, model.params.userEmb, ctx.nUsers));
  if (!s.onUserCodes && concepts.length > 0)
    s.choices.push(
      'One SAE per side: the promotion audience is read from the users as the item SAE encodes them.',
    );
  for (const concept of concepts) {
    const mask = conceptMask(bundle, concept);
    const { neuron, purity20, activeUsers } = promotionNeuronFor(
      bundle,
      s.itemCodes,
      audienceCodes(),
      concept,
    );
    const measured = new Set(users);
    const pool = topUsersBy(audienceCodes(), latents, neuron, o.audienceShare ?? 0.1).filter((u) =>
      measured.has(u),
    );
    const inPool = new Set(pool);
    const top50 = topItemsOf(s.itemCodes, latents, neuron, 50);
    // The concept's items among the neuron's top-50, as popular as the catalogue's median item at least
    // (an item almost nobody interacted with keeps a near-random embedding the recommender ignores).
    const medianPop = median(bundle.popularity);
    const onConcept = top50.filter((i) => mask[i] === 1);
    const known = onConcept.filter((i) => bundle.popularity[i] >= medianPop);
    const candidates = known.length > 0 ? known : onConcept;
    const rank = (u: number, item: number) => base.get(u)!.top.indexOf(item); // −1 when outside the top-31
    const isPositive = (u: number, item: number) =>
      contains(train.indices, train.indptr[u], train.indptr[u + 1], item);
    const audienceOf = (item: number) =>
      pool.filter((u) => !isPositive(u, item) && !(rank(u, item) >= 0 && rank(u, item) < 20));
    let item = (candidates.length > 0 ? candidates : top50)[0] ?? 0;
    let bestCount = -1;
    for (const i of candidates.length > 0 ? candidates : top50) {
      const c = audienceOf(i).length;
      if (c > bestCount) {
        bestCount = c;
        item = i;
      }
    }
    const audience = audienceOf(item);
    const others = Array.from(users).filter(
      (u) => !inPool.has(u) && !isPositive(u, item) && !(rank(u, item) >= 0 && rank(u, item) < DEPTH),
    );
    const itemId = bundle.dataset.items.ids[item];
    s.choices.push(
      `Promotion "${concept}": neuron ${neuron} (purity@20 ${purity20.toFixed(2)}, active on ${activeUsers} users), item ${itemId} "${bundle.dataset.itemTitles[item]}" (popularity ${bundle.popularity[item]}); pool = ${pool.length} users most active on the neuron, audience ${audience.length} of them without it in their top-20; ${others.length} other users.`,
    );
    for (const strength of o.promoteStrengths ?? [0, 0.5, 1, 2, 4, 8, 16]) {
      o.signal?.throwIfAborted();
      const compiled = compilePolicies(ctx, [{ kind: 'promote', neuron, strength, items: [itemId] }]);
      const steered = steerItems(ctx, compiled);
      const iVec = steered.itemEmb.subarray(item * dim, (item + 1) * dim);
      const enters = (u: number, k: number) => {
        const score = Math.fround(ctx.scorer.score(u, item, s.uVec(u), iVec));
        const b = base.get(u)!;
        // the k-th best item other than `item` in the unsteered list
        const r = b.top.indexOf(item);
        const at = r >= 0 && r < k ? k : k - 1;
        if (at >= b.top.length) return true;
        return score > b.scores[at] || (score === b.scores[at] && item < b.top[at]);
      };
      let top30 = 0;
      let top10 = 0;
      for (const u of audience) {
        if (enters(u, DEPTH)) top30++;
        if (enters(u, 10)) top10++;
      }
      let rising = 0;
      for (const u of others) if (enters(u, DEPTH)) rising++;
      rows.push({
        item: itemId,
        title: bundle.dataset.itemTitles[item] ?? '',
        concept,
        neuron,
        strength,
        audience: audience.length,
        success_top30: audience.length ? top30 / audience.length : 0,
        success_top10: audience.length ? top10 / audience.length : 0,
        others_rising: others.length ? rising / others.length : 0,
        others: others.length,
      });
    }
  }
  return rows;
}

function median(values: Int32Array): number {
  const sorted = Int32Array.from(values).sort();
  return sorted.length ? sorted[sorted.length >> 1] : 0;
}

function contains(sorted: Int32Array, start: number, end: number, x: number): boolean {
  let lo = start;
  let hi = end - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === x) return true;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
