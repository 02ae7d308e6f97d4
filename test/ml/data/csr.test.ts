import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/ml/core/rng.ts';
import { buildCsr, filterCsr } from '../../../src/ml/data/csr.ts';
import { hasInteraction, itemPopularity, transposeCsr } from '../../../src/ml/data/stats.ts';
import { pairs } from './helpers.ts';

function randomTriples(rng: Rng, n: number, rows: number, cols: number) {
  const r = Int32Array.from({ length: n }, () => rng.nextInt(rows));
  const c = Int32Array.from({ length: n }, () => rng.nextInt(cols));
  const v = Float32Array.from({ length: n }, () => rng.nextInt(100));
  return { r, c, v };
}

describe('buildCsr', () => {
  it('sorts rows, collapses duplicates keeping the largest value (against a reference)', () => {
    const rng = new Rng(2);
    const { r, c, v } = randomTriples(rng, 600, 13, 17);
    const csr = buildCsr(r, c, 13, 17, v);
    const ref = new Map<string, number>();
    for (let k = 0; k < r.length; k++) {
      const key = `${r[k]}:${c[k]}`;
      ref.set(key, Math.max(ref.get(key) ?? -1, v[k]));
    }
    const keys = [...ref.keys()].sort((a, b) => {
      const [ra, ca] = a.split(':').map(Number);
      const [rb, cb] = b.split(':').map(Number);
      return ra - rb || ca - cb;
    });
    expect(pairs(csr)).toEqual(keys);
    expect(Array.from(csr.values!)).toEqual(keys.map((k) => ref.get(k)));
    expect(csr.indptr[13]).toBe(keys.length);
  });

  it('filters rows and columns, renumbering densely', () => {
    const csr = buildCsr(Int32Array.from([0, 0, 1, 2, 2]), Int32Array.from([0, 2, 1, 1, 2]), 3, 3);
    const f = filterCsr(csr, Uint8Array.from([1, 0, 1]), Uint8Array.from([0, 1, 1]));
    expect([f.rows, f.cols]).toEqual([2, 2]);
    expect(pairs(f)).toEqual(['0:1', '1:0', '1:1']);
  });
});

describe('stats', () => {
  const rng = new Rng(9);
  const { r, c, v } = randomTriples(rng, 400, 20, 15);
  const csr = buildCsr(r, c, 20, 15, v);

  it('transposes (twice is the identity; values follow)', () => {
    const t = transposeCsr(csr);
    expect([t.rows, t.cols]).toEqual([15, 20]);
    expect(pairs(t).sort()).toEqual(
      pairs(csr)
        .map((p) => p.split(':').reverse().join(':'))
        .sort(),
    );
    const tt = transposeCsr(t);
    expect(Array.from(tt.indptr)).toEqual(Array.from(csr.indptr));
    expect(Array.from(tt.indices)).toEqual(Array.from(csr.indices));
    expect(Array.from(tt.values!)).toEqual(Array.from(csr.values!));
  });

  it('counts users per item and finds stored pairs', () => {
    const pop = itemPopularity(csr);
    const set = new Set(pairs(csr));
    for (let i = 0; i < 15; i++) {
      let n = 0;
      for (let u = 0; u < 20; u++) {
        expect(hasInteraction(csr, u, i)).toBe(set.has(`${u}:${i}`));
        if (set.has(`${u}:${i}`)) n++;
      }
      expect(pop[i]).toBe(n);
    }
  });
});
