import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/ml/core/rng.ts';
import { buildCsr } from '../../../src/ml/data/csr.ts';
import { NegativeSampler } from '../../../src/ml/data/negatives.ts';
import { hasInteraction } from '../../../src/ml/data/stats.ts';
import { generateSynthetic } from '../../../src/ml/data/synthetic.ts';
import { expectMlError } from './helpers.ts';

function rowsCsr(rows: number[][], cols: number) {
  const r: number[] = [];
  const c: number[] = [];
  rows.forEach((items, u) => {
    for (const i of items) {
      r.push(u);
      c.push(i);
    }
  });
  return buildCsr(Int32Array.from(r), Int32Array.from(c), rows.length, cols);
}

describe('NegativeSampler', () => {
  it('never returns a positive (sparse and dense rows)', () => {
    const train = generateSynthetic({
      users: 60,
      items: 50,
      genres: 3,
      interactionsPerUser: 20,
      minInteractions: 5,
    }).interactions;
    const dense = rowsCsr(
      [Array.from({ length: 50 }, (_, i) => i).filter((i) => ![5, 17, 33].includes(i))],
      50,
    );
    const rng = new Rng(5);
    for (const csr of [train, dense]) {
      const s = new NegativeSampler(csr);
      let bad = 0;
      for (let u = 0; u < csr.rows; u++)
        for (let k = 0; k < 200; k++) {
          const i = s.sample(u, rng);
          if (!(i >= 0 && i < csr.cols) || hasInteraction(csr, u, i)) bad++;
        }
      expect(bad).toBe(0);
    }
  });

  it('is uniform over the non-positives, on both the rejection and the dense path', () => {
    // Row 0: sparse (2 of 10 positive). Row 1: dense (7 of 10 positive; negatives 0, 4, 9).
    const csr = rowsCsr(
      [
        [3, 7],
        [1, 2, 3, 5, 6, 7, 8],
      ],
      10,
    );
    const s = new NegativeSampler(csr);
    const rng = new Rng(11);
    for (const [u, negatives] of [
      [0, [0, 1, 2, 4, 5, 6, 8, 9]],
      [1, [0, 4, 9]],
    ] as const) {
      const n = 8000;
      const counts = new Map<number, number>();
      for (let k = 0; k < n; k++) {
        const i = s.sample(u, rng);
        counts.set(i, (counts.get(i) ?? 0) + 1);
      }
      expect([...counts.keys()].sort((a, b) => a - b)).toEqual(negatives);
      const expected = n / negatives.length;
      for (const c of counts.values()) expect(Math.abs(c - expected) / expected).toBeLessThan(0.12);
    }
  });

  it('fills arrays deterministically per seed and refuses a user with no negatives', () => {
    const csr = rowsCsr(
      [
        [0, 2],
        [0, 1, 2, 3],
      ],
      4,
    );
    const s = new NegativeSampler(csr);
    const a = s.fill(0, new Rng(1), new Int32Array(20));
    const b = s.fill(0, new Rng(1), new Int32Array(20));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(new Set(a)).toEqual(new Set([1, 3]));
    expectMlError(() => s.sample(1, new Rng(0)), 'BAD_CONFIG');
  });
});
