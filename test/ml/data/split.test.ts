import { describe, expect, it } from 'vitest';
import { buildCsr } from '../../../src/ml/data/csr.ts';
import { splitHoldout } from '../../../src/ml/data/split.ts';
import { generateSynthetic } from '../../../src/ml/data/synthetic.ts';
import { expectMlError, pairs } from './helpers.ts';

const data = generateSynthetic({
  users: 120,
  items: 80,
  genres: 4,
  interactionsPerUser: 14,
  minInteractions: 4,
  seed: 7,
});
const x = data.interactions;

describe('splitHoldout', () => {
  it('partitions the positives: train ∪ test = all, disjoint, rows sorted', () => {
    const s = splitHoldout(x, { seed: 1 });
    const all = new Set(pairs(x));
    const train = pairs(s.train);
    const test = pairs(s.test);
    expect(train.length + test.length).toBe(all.size);
    expect(new Set([...train, ...test])).toEqual(all);
    expect(train.filter((p) => test.includes(p))).toEqual([]);
    for (const c of [s.train, s.test])
      for (let u = 0; u < c.rows; u++)
        for (let p = c.indptr[u] + 1; p < c.indptr[u + 1]; p++)
          expect(c.indices[p]).toBeGreaterThan(c.indices[p - 1]);
  });

  it('holds out exactly perUser for eligible users, none for the others', () => {
    const s = splitHoldout(x, { perUser: 5, minTrain: 5, seed: 0 });
    const eligible: number[] = [];
    for (let u = 0; u < x.rows; u++) {
      const n = x.indptr[u + 1] - x.indptr[u];
      const held = s.test.indptr[u + 1] - s.test.indptr[u];
      if (n >= 10) eligible.push(u);
      expect(held).toBe(n >= 10 ? 5 : 0);
    }
    expect(eligible.length).toBeGreaterThan(0);
    expect(eligible.length).toBeLessThan(x.rows); // the fixture has users kept for training only
    expect(Array.from(s.testUsers)).toEqual(eligible);
  });

  it('is deterministic per seed and varies across seeds', () => {
    const a = splitHoldout(x, { seed: 3 });
    const b = splitHoldout(x, { seed: 3 });
    const c = splitHoldout(x, { seed: 4 });
    expect(pairs(a.test)).toEqual(pairs(b.test));
    expect(pairs(a.test)).not.toEqual(pairs(c.test));
  });

  it('holds out every position with roughly equal probability', () => {
    // One user with 10 positives, perUser 5, minTrain 0: each item is held out half the time.
    const csr = buildCsr(
      new Int32Array(10),
      Int32Array.from({ length: 10 }, (_, i) => i),
      1,
      10,
    );
    const counts = new Array(10).fill(0);
    for (let seed = 0; seed < 400; seed++) {
      const s = splitHoldout(csr, { perUser: 5, minTrain: 0, seed });
      for (const i of s.test.indices) counts[i]++;
    }
    for (const c of counts) expect(Math.abs(c - 200)).toBeLessThan(45);
  });

  it('carries values into both halves and rejects bad options', () => {
    const v = buildCsr(
      new Int32Array(12),
      Int32Array.from({ length: 12 }, (_, i) => i),
      1,
      12,
      Float32Array.from({ length: 12 }, (_, i) => i * 10),
    );
    const s = splitHoldout(v);
    for (const c of [s.train, s.test])
      for (let p = 0; p < c.indices.length; p++) expect(c.values![p]).toBe(c.indices[p] * 10);
    expectMlError(() => splitHoldout(x, { perUser: 0 }), 'BAD_CONFIG');
    expectMlError(() => splitHoldout(x, { minTrain: -1 }), 'BAD_CONFIG');
  });
});
