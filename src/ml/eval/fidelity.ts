import { MlError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import type { Csr, Split } from '../data/types.ts';
import type { PairScorer } from '../models/types.ts';
import { evaluateRanking } from './ranking.ts';
import { topKExcluding } from './topk.ts';

/**
 * Recommendation fidelity: does the recommender, fed SAE-reconstructed embeddings, still recommend what it
 * recommended with the original ones? Measured on held-out users the SAE never saw.
 */

/**
 * Rank-biased overlap truncated at `depth`, as the paper's code computes it:
 *   Σ_{d=1..depth} p^{d−1} (1 − p) |A[:d] ∩ B[:d]| / d.
 * Not extrapolated, so two identical lists of 30 score 1 − 0.9³⁰ ≈ 0.958. Lists shorter than `depth`
 * (a user with fewer unseen items than that) keep dividing by d past their end, so identical lists of
 * L < depth items score less (0.845 for L = 10): on such catalogues fidelity has a lower ceiling (the
 * paper's code stops at the longer list's length instead, as `listRbo` does; ML-1M and Last.FM users all
 * have 30 unseen items, so fidelity is the same either way there).
 */
export function rbo(a: ArrayLike<number>, b: ArrayLike<number>, p = 0.9, depth = 30): number {
  const seenA = new Set<number>();
  const seenB = new Set<number>();
  let overlap = 0;
  let sum = 0;
  let weight = 1 - p;
  for (let d = 1; d <= depth; d++) {
    if (d <= a.length) {
      const x = a[d - 1];
      if (seenB.has(x)) overlap++;
      seenA.add(x);
    }
    if (d <= b.length) {
      const y = b[d - 1];
      if (seenA.has(y)) overlap++;
      seenB.add(y);
    }
    // an item appearing at the same depth in both lists was counted once above (A first, then B sees it)
    sum += (weight * overlap) / d;
    weight *= p;
  }
  return sum;
}

/**
 * RBO (p = 0.9) of two served lists, truncated at their own length as the paper's code truncates: identical
 * lists of n items score 1 − 0.9ⁿ, however many were asked for (a user with fewer unseen items than k).
 */
export function listRbo(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return rbo(a, b, 0.9, Math.max(a.length, b.length));
}

/**
 * Kendall τ-b between two top-`depth` lists over the union of their items; an item missing from a list
 * takes rank depth + 1 there (so missing items tie with each other, which τ-b accounts for):
 *   τ_b = (n_c − n_d) / √((n₀ − n₁)(n₀ − n₂)),
 * n₁, n₂ = pairs tied in the first / second ranking. With no untied pair to compare (a list of one
 * item, or a ranking that is all ties): 1 when both rankings are the same, else 0.
 */
export function kendallTauB(a: ArrayLike<number>, b: ArrayLike<number>, depth = 30): number {
  const rankA = new Map<number, number>();
  const rankB = new Map<number, number>();
  for (let r = 0; r < Math.min(depth, a.length); r++) if (!rankA.has(a[r])) rankA.set(a[r], r + 1);
  for (let r = 0; r < Math.min(depth, b.length); r++) if (!rankB.has(b[r])) rankB.set(b[r], r + 1);
  const union = [...new Set([...rankA.keys(), ...rankB.keys()])];
  const n = union.length;
  const ra = union.map((x) => rankA.get(x) ?? depth + 1);
  const rb = union.map((x) => rankB.get(x) ?? depth + 1);
  let conc = 0;
  let disc = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const da = Math.sign(ra[i] - ra[j]);
      const db = Math.sign(rb[i] - rb[j]);
      if (da === 0) tiesA++;
      if (db === 0) tiesB++;
      if (da * db > 0) conc++;
      else if (da * db < 0) disc++;
    }
  }
  const n0 = (n * (n - 1)) / 2;
  const den = Math.sqrt((n0 - tiesA) * (n0 - tiesB));
  if (den > 0) return (conc - disc) / den;
  return ra.every((r, i) => r === rb[i]) ? 1 : 0;
}

/**
 * Seeded split of users into SAE-training users and fidelity's held-out users (`fraction` of them, in
 * (0, 1)). Both lists ascending.
 */
export function holdOutUsers(
  nUsers: number,
  fraction = 0.2,
  seed = 0,
): { train: Int32Array; heldOut: Int32Array } {
  if (!(fraction > 0 && fraction < 1))
    throw new MlError(
      'BAD_CONFIG',
      `heldOutFraction must be between 0 and 1 (exclusive), got ${fraction}`,
      'heldOutFraction',
    );
  const order = Int32Array.from({ length: nUsers }, (_, u) => u);
  new Rng(seed ^ 0x5ae1d).shuffle(order);
  const nHeld = Math.round(nUsers * fraction);
  const heldOut = order.slice(0, nHeld).sort();
  const train = order.slice(nHeld).sort();
  return { train, heldOut };
}

export interface FidelityInput {
  scorer: PairScorer;
  /**
   * A second scorer of the same model for the reconstructed item table. Scorers may cache per item table
   * (NCF keeps each item's first-layer half): one scorer per table keeps both caches warm instead of
   * rebuilding one for every user. Defaults to `scorer`.
   */
  reconScorer?: PairScorer;
  userEmb: Float32Array; // [nUsers × dim] original
  itemEmb: Float32Array; // [nItems × dim] original
  userRecon: Float32Array; // [nUsers × dim] SAE reconstruction
  itemRecon: Float32Array; // [nItems × dim] SAE reconstruction
  /** Training positives, excluded from both lists. */
  train: Csr;
  /** The held-out users to compare lists for. */
  users: Int32Array;
  depth?: number; // 30
  p?: number; // 0.9
  /**
   * How many users' lists to return as samples, spread evenly over `users` (every (n / samples)-th):
   * the first ones in id order would be a biased slice (their mean RBO sat 2–3 standard errors above all).
   */
  samples?: number; // 200
  /** For HR/NDCG with reconstructed and original embeddings, over split.testUsers (pass held-out users). */
  split?: Split;
  k?: number; // 10
  signal?: AbortSignal;
}

export interface FidelitySample {
  user: number; // internal index
  original: Int32Array; // internal item indices
  reconstructed: Int32Array;
}

export interface FidelityResult {
  /** Users whose lists were compared (the means below are NaN when there were none). */
  users: number;
  /** Users left out because every item is among their training positives (no list to compare). */
  skippedUsers: number;
  rbo: number; // mean over compared users
  kendall: number; // mean over compared users
  /** HR@k / NDCG@k of the recommender fed reconstructed embeddings, on `split`'s test users; NaN without split. */
  hr: number;
  ndcg: number;
  /** The same with the original embeddings, on the same users (the like-for-like reference). */
  hrOriginal: number;
  ndcgOriginal: number;
  /** Test users HR/NDCG were measured on (0 without split). */
  evalUsers: number;
  samples: FidelitySample[];
}

/** Top-`depth` lists from original vs reconstructed embeddings (both sides) for every user in `users`. */
export function measureFidelity(input: FidelityInput): FidelityResult {
  const depth = input.depth ?? 30;
  const p = input.p ?? 0.9;
  const nSamples = input.samples ?? 200;
  const { scorer, userEmb, itemEmb, userRecon, itemRecon, train, users } = input;
  const reconScorer = input.reconScorer ?? scorer;
  const d = scorer.dim;
  const nItems = itemEmb.length / d;
  const orig = new Float32Array(nItems);
  const rec = new Float32Array(nItems);
  let rboSum = 0;
  let tauSum = 0;
  let skipped = 0;
  const samples: FidelitySample[] = [];
  for (let t = 0; t < users.length; t++) {
    if ((t & 255) === 0) input.signal?.throwIfAborted();
    const u = users[t];
    const s = train.indptr[u];
    const e = train.indptr[u + 1];
    if (e - s >= nItems) {
      skipped++; // two empty lists: RBO would say 0 and τ 1 for the same non-observation
      continue;
    }
    scorer.scoreAll(u, userEmb.subarray(u * d, u * d + d), itemEmb, orig);
    reconScorer.scoreAll(u, userRecon.subarray(u * d, u * d + d), itemRecon, rec);
    const a = topKExcluding(orig, depth, train.indices, s, e);
    const b = topKExcluding(rec, depth, train.indices, s, e);
    rboSum += rbo(a, b, p, depth);
    tauSum += kendallTauB(a, b, depth);
    if (Math.floor(((t + 1) * nSamples) / users.length) > Math.floor((t * nSamples) / users.length))
      samples.push({ user: u, original: a, reconstructed: b });
  }
  const ranking = (by: PairScorer, users: Float32Array, items: Float32Array) =>
    input.split
      ? evaluateRanking(
          (u, out) => by.scoreAll(u, users.subarray(u * d, u * d + d), items, out),
          input.split,
          { k: input.k ?? 10, signal: input.signal },
        )
      : { hr: Number.NaN, ndcg: Number.NaN, users: 0 };
  const reconstructed = ranking(reconScorer, userRecon, itemRecon);
  const original = ranking(scorer, userEmb, itemEmb);
  const n = users.length - skipped;
  return {
    users: n,
    skippedUsers: skipped,
    rbo: n ? rboSum / n : Number.NaN,
    kendall: n ? tauSum / n : Number.NaN,
    hr: reconstructed.hr,
    ndcg: reconstructed.ndcg,
    hrOriginal: original.hr,
    ndcgOriginal: original.ndcg,
    evalUsers: reconstructed.users,
    samples,
  };
}
