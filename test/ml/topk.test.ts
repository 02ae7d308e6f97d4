import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topKExcluding } from '../../src/ml/eval/topk.ts';

/** Slow reference: sort everything. */
function reference(scores: Float32Array, k: number, exclude: number[]): number[] {
  const ex = new Set(exclude);
  return Array.from(scores.keys())
    .filter((i) => !ex.has(i))
    .sort((a, b) => scores[b] - scores[a] || a - b)
    .slice(0, k);
}

describe('topKExcluding', () => {
  it('returns the k best in order, skipping excluded items, ties by lower index', () => {
    const s = new Float32Array([0.1, 0.9, 0.5, 0.9, 0.3]);
    expect(Array.from(topKExcluding(s, 3))).toEqual([1, 3, 2]);
    expect(Array.from(topKExcluding(s, 3, new Int32Array([1, 2])))).toEqual([3, 4, 0]);
    expect(Array.from(topKExcluding(s, 10))).toEqual([1, 3, 2, 4, 0]);
  });

  it('matches a full sort on random inputs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.nat(59), { maxLength: 15 }),
        (vals, k, ex) => {
          const scores = new Float32Array(vals);
          const exclude = [...new Set(ex)].filter((i) => i < vals.length).sort((a, b) => a - b);
          const got = Array.from(topKExcluding(scores, k, new Int32Array(exclude)));
          expect(got).toEqual(reference(scores, k, exclude));
        },
      ),
    );
  });
});
