import { describe, expect, it } from 'vitest';
import type { Split } from '../../../src/ml/data/types.ts';
import { evaluateRanking } from '../../../src/ml/eval/ranking.ts';
import { csrFromRows as csr } from '../../helpers/csr.ts';

describe('evaluateRanking MRR', () => {
  it('is the reciprocal rank of the FIRST hit when a user has several', () => {
    // user 0: ranking 2,3,4,5,6 at K = 5 with held-out 3 (rank 2) and 6 (rank 5) → RR 1/2, not 1/5
    const train = csr([[0, 1]], 8);
    const split: Split = { train, test: csr([[3, 6]], 8), testUsers: Int32Array.of(0) };
    const m = evaluateRanking((_u, out) => out.set([9, 8, 7, 6, 5, 4, 3, 2]), split, { k: 5 });
    expect(m.hr).toBe(1);
    expect(m.mrr).toBeCloseTo(0.5, 12);
  });
});
