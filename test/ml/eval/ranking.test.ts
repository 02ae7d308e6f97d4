import { describe, expect, it } from 'vitest';
import type { Split } from '../../../src/ml/data/types.ts';
import { mostPopularBaseline } from '../../../src/ml/eval/baselines.ts';
import { evaluateRanking } from '../../../src/ml/eval/ranking.ts';
import { csrFromRows as csr } from '../../helpers/csr.ts';

// 3 users × 8 items. Scores are fixed per user so the rankings are known by hand.
const train = csr([[0, 1], [2], [0, 1, 2]], 8);
const test = csr([[3, 6], [7], []], 8);
const split: Split = { train, test, testUsers: Int32Array.of(0, 1) };
const scores = [
  [9, 8, 7, 6, 5, 4, 3, 2], // user 0: after excluding 0,1 → ranking 2,3,4,5,6,7 — test 3 at rank 2, 6 at rank 5
  [1, 2, 9, 3, 4, 5, 6, 7], // user 1: after excluding 2 → 7,6,5,4,3,1,0 — test 7 at rank 1
  [0, 0, 0, 0, 0, 0, 0, 0],
];
const scoreUser = (u: number, out: Float32Array) => out.set(scores[u]);

describe('evaluateRanking (full ranking)', () => {
  it('matches hand-computed HR, NDCG and MRR at K = 3', () => {
    const m = evaluateRanking(scoreUser, split, { k: 3 });
    // user 0: hit at rank 2 only → HR 1, DCG = 1/log2(3), IDCG (2 held-out) = 1 + 1/log2(3), RR = 1/2
    // user 1: hit at rank 1 → HR 1, NDCG 1, RR 1
    const ndcg0 = 1 / Math.log2(3) / (1 + 1 / Math.log2(3));
    expect(m.users).toBe(2);
    expect(m.hr).toBeCloseTo(1, 10);
    expect(m.ndcg).toBeCloseTo((ndcg0 + 1) / 2, 10);
    expect(m.mrr).toBeCloseTo((0.5 + 1) / 2, 10);
  });

  it('counts both hits within K = 5 and misses at K = 1', () => {
    const m5 = evaluateRanking(scoreUser, split, { k: 5 });
    const dcg0 = 1 / Math.log2(3) + 1 / Math.log2(6);
    expect(m5.ndcg).toBeCloseTo((dcg0 / (1 + 1 / Math.log2(3)) + 1) / 2, 10);
    const m1 = evaluateRanking(scoreUser, split, { k: 1 });
    expect(m1.hr).toBeCloseTo(0.5, 10); // user 0's best non-training item (2) is not held out
    expect(m1.ndcg).toBeCloseTo(0.5, 10);
    expect(m1.mrr).toBeCloseTo(0.5, 10);
  });

  it("NDCG's ideal list stops at K even when more items are held out", () => {
    // One user, 4 held-out items (0..3), K = 2, hit at rank 1 only: DCG = 1, IDCG = 1 + 1/log2(3) (two
    // slots, not four).
    const many = csr([[0, 1, 2, 3]], 6);
    const m = evaluateRanking(
      (_u, out) => out.set([9, 0, 0, 0, 8, 7]),
      {
        train: csr([[]], 6),
        test: many,
        testUsers: Int32Array.of(0),
      },
      { k: 2 },
    );
    expect(m.ndcg).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 10);
  });

  it('reports NaN (not measured) rather than 0 when there is no test user', () => {
    const m = evaluateRanking(scoreUser, { train, test, testUsers: new Int32Array(0) }, { k: 3 });
    expect(m.users).toBe(0);
    expect(m.hr).toBeNaN();
    expect(m.ndcg).toBeNaN();
  });

  it('never recommends a training positive (a top-scored training item cannot block a hit)', () => {
    const m = evaluateRanking((_u, out) => out.set([100, 100, 100, 50, 0, 0, 0, 60]), split, { k: 1 });
    // user 0: best non-training item is 2 (100) → miss; user 1: best non-training item is 0 (100) → miss
    expect(m.hr).toBe(0);
    const m2 = evaluateRanking((_u, out) => out.set([100, 100, 100, 50, 0, 0, 0, 60]), split, { k: 3 });
    // user 0: ranking 2, 7, 3 → hit at 3; user 1: ranking 0, 1, 7 → hit at 3
    expect(m2.hr).toBe(1);
    expect(m2.mrr).toBeCloseTo(1 / 3, 10);
  });

  it('most-popular scores items by training popularity', () => {
    const pop = new Float32Array(8);
    mostPopularBaseline(train)(0, pop);
    expect(Array.from(pop)).toEqual([2, 2, 2, 0, 0, 0, 0, 0]);
  });
});
