import type { ModelBundle } from '../../bundle.ts';
import { Rng } from '../../core/rng.ts';
import { rbo } from '../../eval/fidelity.ts';
import { topKExcluding } from '../../eval/topk.ts';
import { compilePolicies } from '../apply.ts';
import { bestNeuronFor, conceptMask } from '../pick.ts';
import { type Policy, resolveConcept } from '../policy.ts';
import { DEPTH, type MeasureSession } from './session.ts';
import type { FilteringRow } from './types.ts';

/** Replace mode's strength in the filtering runs: nothing edited, so the row shows the reconstruction swap alone. */
export const REPLACE_PROBE = 1e-6;

/**
 * Filtering: suppress each concept for the users who see most of it (see measureInterventions), on the
 * items' codes as those users see them and, with one shared SAE, on the users' own codes.
 */
export function measureFiltering(s: MeasureSession, concepts: readonly string[]): FilteringRow[] {
  const { bundle, ctx, model, o, train, base, scores, users } = s;
  const rows: FilteringRow[] = [];
  for (const concept of concepts) {
    const mask = conceptMask(bundle, concept);
    const { neuron, purity20 } = bestNeuronFor(bundle, s.itemCodes, concept);
    // Suppress the concept as the service would: every neuron labelled with it; the best neuron alone
    // when the labels do not name it.
    const labelled = labelledNeurons(bundle, concept);
    const target: Pick<Policy, 'neuron' | 'concept'> = labelled.length > 0 ? { concept } : { neuron };
    const shareOf = (top: ArrayLike<number>) => {
      let hits = 0;
      for (let r = 0; r < Math.min(DEPTH, top.length); r++) hits += mask[top[r]];
      return hits / DEPTH;
    };
    const byShare = Array.from(users)
      .map((u) => ({ u, share: shareOf(base.get(u)!.top) }))
      .filter((x) => x.share > 0)
      .sort((a, b) => b.share - a.share || a.u - b.u);
    const segment = byShare
      .slice(0, Math.max(1, Math.round((o.segmentShare ?? 0.1) * users.length)))
      .map((x) => x.u);
    const inSegment = new Set(segment);
    s.choices.push(
      `Filtering "${concept}": ${labelled.length > 0 ? `the ${labelled.length} neurons labelled "${concept}" (best: ${neuron}, purity@20 ${purity20.toFixed(2)})` : `neuron ${neuron} (purity@20 ${purity20.toFixed(2)})`}, ${segment.length} users with the highest "${concept}" share in their top-30 (≥ ${(byShare[segment.length - 1]?.share ?? 0).toFixed(2)}).`,
    );
    const conceptItems = Int32Array.from(Array.from(mask).flatMap((v, i) => (v ? [i] : [])));
    const withoutConcept = new Map<number, { ex: Int32Array; before: Int32Array }>();
    for (const u of segment) {
      const ex = mergeSorted(train.indices.subarray(train.indptr[u], train.indptr[u + 1]), conceptItems);
      withoutConcept.set(u, {
        ex,
        before: s.topOf(ctx.scorer, s.uVec(u), model.params.itemEmb, u, DEPTH, ex),
      });
    }
    const untargeted = Array.from(users).filter((u) => !inSegment.has(u));
    const sample = new Rng(1).shuffle(untargeted).slice(0, 200);
    const runs: [number, 'users' | 'items', 'delta' | 'replace'][] = [
      ...(o.filterStrengths ?? [0, 0.5, 1, 2, 3, 4, 5, 6, 8]).map((x): [number, 'items', 'delta'] => [
        x,
        'items',
        'delta',
      ]),
      ...(s.onUserCodes ? userCodeRuns(o.filterUserStrengths ?? [0.5, 1, 2]) : []),
    ];
    for (const [strength, on, mode] of runs) {
      o.signal?.throwIfAborted();
      const policy: Policy = {
        kind: 'suppress',
        ...target,
        strength,
        users: segment.map((u) => bundle.dataset.users.ids[u]),
        on,
        mode,
      };
      const compiled = compilePolicies(ctx, [policy]);
      let before = 0;
      let after = 0;
      let collateral = 0;
      for (const u of segment) {
        s.scoreSteered(compiled, u);
        const top = topKExcluding(scores, DEPTH, train.indices, train.indptr[u], train.indptr[u + 1]);
        before += shareOf(base.get(u)!.top);
        after += shareOf(top);
        const w = withoutConcept.get(u)!;
        collateral += rbo(w.before, topKExcluding(scores, DEPTH, w.ex), 0.9, DEPTH);
      }
      let changed = 0;
      for (const u of sample) {
        s.scoreSteered(compiled, u);
        const top = topKExcluding(scores, DEPTH, train.indices, train.indptr[u], train.indptr[u + 1]);
        if (!sameList(top, base.get(u)!.top)) changed++;
      }
      const n = segment.length;
      rows.push({
        concept,
        neuron,
        neurons: labelled.length > 0 ? labelled : [neuron],
        on,
        strength,
        mode,
        users: n,
        share_before: before / n,
        share_after: after / n,
        collateral_rbo: collateral / n,
        untargeted_checked: sample.length,
        untargeted_changed: changed,
      });
    }
  }
  return rows;
}

/** The filtering runs on the users' codes: delta at each strength, then replace at a vanishing one. */
function userCodeRuns(strengths: number[]): [number, 'users', 'delta' | 'replace'][] {
  return [
    ...strengths.map((x): [number, 'users', 'delta'] => [x, 'users', 'delta']),
    [REPLACE_PROBE, 'users', 'replace'],
  ];
}

function labelledNeurons(bundle: ModelBundle, concept: string): number[] {
  try {
    return resolveConcept(bundle.neurons, concept);
  } catch {
    return [];
  }
}

function sameList(a: Int32Array, b: Int32Array): boolean {
  for (let r = 0; r < Math.min(a.length, b.length, DEPTH); r++) if (a[r] !== b[r]) return false;
  return true;
}

/** Union of two ascending lists, ascending, without duplicates. */
function mergeSorted(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let w = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (w === 0 || out[w - 1] !== x) out[w++] = x;
  }
  return out.subarray(0, w);
}
