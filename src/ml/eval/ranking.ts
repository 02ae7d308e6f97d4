import type { Csr, Split } from '../data/types.ts';
import { topKExcluding } from './topk.ts';

/** Writes the user's score for every item into out [nItems]. */
export type UserScoreFn = (user: number, out: Float32Array) => void;

export interface RankingMetrics {
  hr: number; // fraction of test users with ≥ 1 held-out item in the top K (NaN without test users)
  ndcg: number; // binary gains; ideal DCG over min(#held-out, K)
  mrr: number; // reciprocal rank of the first hit in the top K, 0 when none
  users: number;
  k: number;
}

/**
 * Full-ranking HR@K, NDCG@K and MRR@K: every item is ranked for every test user, the user's training
 * positives excluded, averaged over all users with a non-empty test row.
 */
export function evaluateRanking(
  scoreUser: UserScoreFn,
  split: Split,
  opts: { k?: number; signal?: AbortSignal } = {},
): RankingMetrics {
  const k = opts.k ?? 10;
  const { train, test, testUsers } = split;
  const scores = new Float32Array(train.cols);
  let hr = 0;
  let ndcg = 0;
  let mrr = 0;
  for (let t = 0; t < testUsers.length; t++) {
    if ((t & 1023) === 0) opts.signal?.throwIfAborted();
    const u = testUsers[t];
    scoreUser(u, scores);
    const top = topKExcluding(scores, k, train.indices, train.indptr[u], train.indptr[u + 1]);
    const m = userMetrics(top, test, u, k);
    hr += m.hit;
    ndcg += m.ndcg;
    mrr += m.rr;
  }
  const n = testUsers.length;
  // No test user: not measured (NaN, null in JSON), rather than a score of 0 that reads as a failure.
  return n === 0
    ? { hr: Number.NaN, ndcg: Number.NaN, mrr: Number.NaN, users: 0, k }
    : { hr: hr / n, ndcg: ndcg / n, mrr: mrr / n, users: n, k };
}

/** One user's hit, NDCG and reciprocal rank given their top-K list and held-out row. */
export function userMetrics(
  top: Int32Array,
  test: Csr,
  u: number,
  k: number,
): { hit: number; ndcg: number; rr: number } {
  const start = test.indptr[u];
  const end = test.indptr[u + 1];
  let dcg = 0;
  let rr = 0;
  for (let r = 0; r < top.length; r++) {
    if (contains(test.indices, start, end, top[r])) {
      dcg += 1 / Math.log2(r + 2);
      if (rr === 0) rr = 1 / (r + 1);
    }
  }
  let idcg = 0;
  const ideal = Math.min(end - start, k);
  for (let r = 0; r < ideal; r++) idcg += 1 / Math.log2(r + 2);
  return { hit: rr > 0 ? 1 : 0, ndcg: idcg > 0 ? dcg / idcg : 0, rr };
}

/** Binary search in the sorted slice indices[start, end). */
function contains(indices: Int32Array, start: number, end: number, x: number): boolean {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = indices[mid];
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid;
  }
  return false;
}
