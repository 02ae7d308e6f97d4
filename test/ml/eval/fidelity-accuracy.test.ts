// Fidelity's HR/NDCG of the reconstruction must score it with both reconstructed tables.
import { describe, expect, it } from 'vitest';
import type { Split } from '../../../src/ml/data/types.ts';
import { measureFidelity } from '../../../src/ml/eval/fidelity.ts';
import { evaluateRanking } from '../../../src/ml/eval/ranking.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import { csrFromRows as csr } from '../../helpers/csr.ts';
import { unbiasedMf } from '../../helpers/models.ts';

describe('measureFidelity HR/NDCG', () => {
  it('scores the reconstruction with BOTH reconstructed tables (users and items)', () => {
    const dim = 2;
    const nItems = 12;
    // Every user prefers items 0..2 in the original; the reconstructed item table reverses every item,
    // so with reconstructed items the same users prefer the other end of the catalogue.
    const userEmb = Float32Array.of(1, 0.2, 0.9, 0.1, 1.1, 0.3);
    const itemEmb = Float32Array.from({ length: nItems * dim }, (_, x) =>
      x % 2 === 0 ? 1 - Math.floor(x / 2) / nItems : 0.05 * Math.floor(x / 2),
    );
    const itemRecon = itemEmb.map((v) => -v);
    const model = unbiasedMf(userEmb, itemEmb, dim);
    const train = csr([[], [], []], nItems);
    const split: Split = { train, test: csr([[0], [1], [2]], nItems), testUsers: Int32Array.of(0, 1, 2) };
    const r = measureFidelity({
      scorer: mfScorer(model),
      userEmb,
      itemEmb,
      userRecon: userEmb,
      itemRecon,
      train,
      users: Int32Array.of(0, 1, 2),
      split,
      k: 3,
    });
    const direct = (items: Float32Array) =>
      evaluateRanking(
        (u, out) => mfScorer(model).scoreAll(u, userEmb.subarray(u * dim, u * dim + dim), items, out),
        split,
        { k: 3 },
      );
    expect(r.hrOriginal).toBe(1); // held-out items 0..2 are the original top 3
    expect(r.hr).toBe(direct(itemRecon).hr);
    expect(r.ndcg).toBeCloseTo(direct(itemRecon).ndcg, 12);
    expect(r.hr).toBe(0); // the reversed catalogue puts them last
  });
});
