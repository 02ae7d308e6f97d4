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

  it('never ranks a NaN score, even when fewer than k items remain', () => {
    const s = new Float32Array([Number.NaN, 0.2, Number.NaN, 0.1]);
    expect(Array.from(topKExcluding(s, 2))).toEqual([1, 3]);
    expect(Array.from(topKExcluding(s, 4))).toEqual([1, 3]);
  });

  it('refuses a k that is not a non-negative integer (a fraction returned a wrong list)', () => {
    const s = new Float32Array([1, 3, 2]);
    for (const k of [2.5, -1, Number.NaN]) expect(() => topKExcluding(s, k)).toThrow(/k must be/);
    expect(Array.from(topKExcluding(s, 0))).toEqual([]);
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
