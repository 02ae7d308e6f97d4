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
