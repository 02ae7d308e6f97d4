import { describe, expect, it } from 'vitest';
import type { Csr } from '../../../src/ml/data/types.ts';
import { holdOutUsers, kendallTauB, measureFidelity, rbo } from '../../../src/ml/eval/fidelity.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import { unbiasedMf } from '../../helpers/models.ts';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('rbo (p = 0.9, truncated, not extrapolated)', () => {
  it('scores identical top-30 lists 1 − 0.9^30 ≈ 0.958', () => {
    const a = range(100, 130);
    expect(rbo(a, a)).toBeCloseTo(1 - 0.9 ** 30, 12);
    expect(rbo(a, a)).toBeCloseTo(0.9576, 4);
  });
  it('matches a hand-computed case', () => {
    // d=1: |{1}∩{1}|=1 → 0.1·1/1; d=2: |{1,2}∩{1,3}|=1 → 0.09·1/2; d=3: 3 → 0.081·3/3
    expect(rbo([1, 2, 3], [1, 3, 2], 0.9, 3)).toBeCloseTo(0.1 + 0.045 + 0.081, 12);
  });
  it('scores disjoint lists 0 and is symmetric', () => {
    expect(rbo([1, 2, 3], [4, 5, 6])).toBe(0);
    const a = [5, 9, 2, 7, 1];
    const b = [9, 5, 7, 3, 8];
    expect(rbo(a, b)).toBeCloseTo(rbo(b, a), 12);
    // d=1: 0; d=2: {5,9}: 2 → .09·2/2; d=3: {5,9} → .081·2/3; d=4: {5,9,7} → .0729·3/4; d=5: 3 → .06561·3/5
    expect(rbo(a, b, 0.9, 5)).toBeCloseTo(0.09 + (0.081 * 2) / 3 + (0.0729 * 3) / 4 + (0.06561 * 3) / 5, 12);
  });
});

describe('kendallTauB over the union, missing items ranked depth + 1', () => {
  it('is 1 for identical lists and 1/3 for one swapped pair of three', () => {
    expect(kendallTauB([1, 2, 3], [1, 2, 3], 3)).toBeCloseTo(1, 12);
    expect(kendallTauB([1, 2, 3], [1, 3, 2], 3)).toBeCloseTo(1 / 3, 12);
  });
  it('corrects for the ties missing items create (checked against scipy.stats.kendalltau)', () => {
    // union {1,2,3,4}: A ranks 1,2,3,3; B ranks 3,3,1,2 → scipy: −0.8
    expect(kendallTauB([1, 2], [3, 4], 2)).toBeCloseTo(-0.8, 12);
    // union 10,11,12,13,14,15,17: A ranks [1,2,3,4,5,6,6], B ranks [2,1,6,6,3,4,5] → scipy: 0.25
    expect(kendallTauB([10, 11, 12, 13, 14], [11, 10, 14, 15, 17], 5)).toBeCloseTo(0.25, 12);
  });
  it('with no pair to compare, is 1 for the same one-item (or empty) list and 0 otherwise', () => {
    expect(kendallTauB([7], [7], 1)).toBe(1);
    expect(kendallTauB([], [], 1)).toBe(1);
    expect(kendallTauB([7], [], 1)).toBe(0);
    expect(kendallTauB([7], [8], 1)).toBe(-1);
  });
});

describe('holdOutUsers', () => {
  it('is seeded, disjoint and covers every user with the requested share held out', () => {
    const a = holdOutUsers(100, 0.2, 3);
    const b = holdOutUsers(100, 0.2, 3);
    expect(Array.from(a.heldOut)).toEqual(Array.from(b.heldOut));
    expect(a.heldOut.length).toBe(20);
    expect(new Set([...a.train, ...a.heldOut]).size).toBe(100);
    expect(Array.from(holdOutUsers(100, 0.2, 4).heldOut)).not.toEqual(Array.from(a.heldOut));
  });
  it('refuses a share outside (0, 1), naming the option', () => {
    for (const f of [0, -0.2, 1, 1.5, Number.NaN])
      expect(() => holdOutUsers(100, f)).toThrow(/heldOutFraction must be between 0 and 1/);
  });
});

describe('measureFidelity', () => {
  const nUsers = 3;
  const nItems = 40;
  const dim = 2;
  const userEmb = Float32Array.from({ length: nUsers * dim }, (_, i) => Math.sin(i + 1));
  const itemEmb = Float32Array.from({ length: nItems * dim }, (_, i) => Math.cos(3 * i));
  const model = unbiasedMf(userEmb, itemEmb, dim);
  // user 0 has items 0..4 as training positives
  const train: Csr = {
    rows: nUsers,
    cols: nItems,
    indptr: Int32Array.of(0, 5, 5, 5),
    indices: Int32Array.of(0, 1, 2, 3, 4),
  };
  /** Fidelity of a perfect reconstruction (the original embeddings themselves). */
  const perfect = (users: Int32Array, samples?: number, positives: Csr = train) =>
    measureFidelity({
      scorer: mfScorer(model),
      userEmb,
      itemEmb,
      userRecon: userEmb,
      itemRecon: itemEmb,
      train: positives,
      users,
      samples,
    });
  it('gives the identical-list scores for a perfect reconstruction and excludes training positives', () => {
    const r = perfect(Int32Array.of(0, 2));
    expect(r.users).toBe(2);
    expect(r.rbo).toBeCloseTo(1 - 0.9 ** 30, 6);
    expect(r.kendall).toBeCloseTo(1, 6);
    expect(r.samples[0].original.length).toBe(30);
    for (const i of r.samples[0].original) expect(i).toBeGreaterThanOrEqual(5);
  });
  it('drops when the reconstruction reverses the user vectors', () => {
    const r = measureFidelity({
      scorer: mfScorer(model),
      userEmb,
      itemEmb,
      userRecon: userEmb.map((x) => -x),
      itemRecon: itemEmb,
      train,
      users: Int32Array.of(0, 1, 2),
    });
    expect(r.kendall).toBeLessThan(0);
    expect(r.rbo).toBeLessThan(0.5);
  });
  it('leaves out users with no unseen item instead of scoring them RBO 0 and τ 1', () => {
    const seenAll: Csr = {
      rows: nUsers,
      cols: nItems,
      indptr: Int32Array.of(0, 5, 5 + nItems, 5 + nItems),
      indices: Int32Array.from([0, 1, 2, 3, 4, ...Array.from({ length: nItems }, (_, i) => i)]),
    };
    const run = (users: Int32Array) => perfect(users, undefined, seenAll);
    const r = run(Int32Array.of(0, 1, 2));
    expect(r.users).toBe(2);
    expect(r.skippedUsers).toBe(1);
    expect(r.rbo).toBeCloseTo(1 - 0.9 ** 30, 6);
    expect(r.samples.map((x) => x.user)).toEqual([0, 2]);
    const none = run(Int32Array.of(1));
    expect(none.users).toBe(0);
    expect(none.rbo).toBeNaN(); // not measured, rather than a score of 0
    expect(none.kendall).toBeNaN();
  });
  it('takes its samples spread evenly over the users, not the first ones', () => {
    // Users in runs of four (0,0,0,0,1,1,1,1,2,2,2,2): the first three would all be user 0.
    const users = Int32Array.from({ length: 12 }, (_, t) => Math.floor(t / 4) % nUsers);
    const sampled = (samples: number) => perfect(users, samples);
    // 12 users, 3 samples: every 4th (positions 3, 7, 11).
    expect(sampled(3).samples.map((x) => x.user)).toEqual([0, 1, 2]);
    expect(sampled(200).samples).toHaveLength(12);
    expect(sampled(0).samples).toHaveLength(0);
  });
});
