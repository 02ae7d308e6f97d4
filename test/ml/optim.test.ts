import { describe, expect, it } from 'vitest';
import { gradCheck } from '../../src/ml/core/gradcheck.ts';
import { Rng } from '../../src/ml/core/rng.ts';
import { Adam } from '../../src/ml/optim/adam.ts';

describe('Adam', () => {
  it('minimises a convex quadratic', () => {
    const target = new Float32Array([3, -1, 0.5]);
    const p = new Float32Array(3);
    const g = new Float32Array(3);
    const opt = new Adam([p], { lr: 0.05 });
    for (let t = 0; t < 2000; t++) {
      for (let i = 0; i < 3; i++) g[i] = 2 * (p[i] - target[i]);
      opt.step([g]);
    }
    for (let i = 0; i < 3; i++) expect(p[i]).toBeCloseTo(target[i], 2);
  });

  it('matches the textbook update (bias-corrected, eps outside the root, decoupled decay), dense and by rows', () => {
    const rng = new Rng(3);
    for (const opts of [{ lr: 0.01 }, { lr: 0.02, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1 }]) {
      const { beta1: b1 = 0.9, beta2: b2 = 0.999, eps = 1e-8, weightDecay: wd = 0 } = opts;
      const start = Array.from({ length: 6 }, () => rng.normal());
      const dense = Float32Array.from(start);
      const sparse = Float32Array.from(start);
      const dOpt = new Adam([dense], opts);
      const sOpt = new Adam([sparse], opts);
      const ref = [...start];
      const m = [0, 0, 0, 0, 0, 0];
      const v = [0, 0, 0, 0, 0, 0];
      for (let t = 1; t <= 5; t++) {
        const lr = opts.lr / t; // a schedule passed per step
        const g = Array.from({ length: 6 }, () => rng.normal());
        for (let i = 0; i < 6; i++) {
          m[i] = b1 * m[i] + (1 - b1) * g[i];
          v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2;
          const mHat = m[i] / (1 - b1 ** t);
          const vHat = v[i] / (1 - b2 ** t);
          ref[i] -= lr * (mHat / (Math.sqrt(vHat) + eps) + wd * ref[i]);
        }
        dOpt.step([Float32Array.from(g)], lr);
        sOpt.tick();
        sOpt.stepRows(0, Float32Array.from(g), [0, 1, 2], 2, lr);
      }
      for (let i = 0; i < 6; i++) {
        expect(dense[i]).toBeCloseTo(ref[i], 5);
        expect(sparse[i]).toBeCloseTo(ref[i], 5);
      }
    }
  });

  it('sparse row steps touch only the listed rows', () => {
    const p = new Float32Array(6).fill(1);
    const opt = new Adam([p], { lr: 0.1 });
    opt.tick();
    opt.stepRows(0, new Float32Array(6).fill(1), [1], 2);
    expect(Array.from(p.slice(0, 2))).toEqual([1, 1]);
    expect(p[2]).toBeLessThan(1);
    expect(Array.from(p.slice(4))).toEqual([1, 1]);
  });
});

describe('gradCheck', () => {
  it('accepts a right gradient and flags a wrong one', () => {
    const rng = new Rng(1);
    const x = new Float32Array(5).map(() => rng.normal());
    const loss = () => x.reduce((s, v) => s + v * v * v, 0);
    const right = Array.from(x, (v) => 3 * v * v);
    expect(gradCheck(x, right, loss).maxRelError).toBeLessThan(1e-3);
    const wrong = Array.from(x, (v) => 2 * v * v);
    expect(gradCheck(x, wrong, loss).maxRelError).toBeGreaterThan(0.05);
  });

  it('with kinkEps, sets aside an element at a kink but still checks it lies between the one-sided slopes', () => {
    // f = |x0 − 0.0005| + x1²: x0 = 0 is within a step of the kink, x1 = 0.7 is smooth.
    const x = Float32Array.of(0, 0.7);
    const loss = () => Math.abs(x[0] - 0.0005) + x[1] * x[1];
    const right = gradCheck(x, [-1, 1.4], loss, { kinkEps: 2e-3 });
    expect([right.skipped, right.kinkViolations, right.checked]).toEqual([1, 0, 1]);
    expect(right.maxAbsError).toBeLessThan(1e-4);
    // Wrong at the kink (outside [−1, 0]) or at the smooth element: both reported.
    expect(gradCheck(x, [1, 1.4], loss, { kinkEps: 2e-3 }).kinkViolations).toBe(1);
    expect(gradCheck(x, [-1, 2], loss, { kinkEps: 2e-3 }).maxAbsError).toBeGreaterThan(0.5);
  });
});

describe('Rng', () => {
  it('is deterministic per seed and roughly uniform', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 1000 }, () => a.nextFloat());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.nextFloat()));
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(new Rng(43).nextFloat()).not.toEqual(new Rng(42).nextFloat());
  });
});
