import { describe, expect, it } from 'vitest';
import { gradCheck } from '../../../src/ml/core/gradcheck.ts';
import { Rng } from '../../../src/ml/core/rng.ts';
import type { DenseLayer } from '../../../src/ml/models/types.ts';
import {
  backwardToFirst,
  forwardFromFirst,
  initMlp,
  MlpTape,
  relu,
  zeroGrads,
} from '../../../src/ml/nn/mlp.ts';

/** Slow float64 reference: logit of the MLP given the first layer's pre-activation. */
function refLogit(layers: DenseLayer[], pre0: ArrayLike<number>): number {
  let x = Array.from(pre0, (v) => Math.max(0, v));
  for (let l = 1; l < layers.length; l++) {
    const { W, b, inDim, outDim } = layers[l];
    const y: number[] = [];
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let j = 0; j < inDim; j++) s += W[o * inDim + j] * x[j];
      y.push(l < layers.length - 1 ? Math.max(0, s) : s);
    }
    x = y;
  }
  return x[0];
}

function setup(seed: number, hidden = [9, 6, 5]) {
  const rng = new Rng(seed);
  const layers = initMlp(7, hidden, rng);
  for (const l of layers) for (let k = 0; k < l.b.length; k++) l.b[k] = rng.normal() * 0.3;
  const pre0 = new Float32Array(hidden[0]);
  for (let k = 0; k < pre0.length; k++) pre0[k] = rng.normal();
  return { layers, pre0, tape: new MlpTape(layers) };
}

describe('relu', () => {
  it('is max(v, 0) exactly, +0 for every v ≤ 0, and NaN for NaN and −Infinity (a diverged input)', () => {
    const vs = [2.5, 1e-45, 3.4e38, 1 / 3, Math.fround(0.1), Number.POSITIVE_INFINITY];
    for (const v of vs) expect(relu(v)).toBe(v);
    for (const v of [-2.5, -1e-45, -0, 0]) expect(Object.is(relu(v), 0)).toBe(true);
    expect(relu(Number.NaN)).toBeNaN();
    expect(relu(Number.NEGATIVE_INFINITY)).toBeNaN();
  });
});

describe('ReLU MLP kernels', () => {
  it('forward matches a slow reference, for several widths (including non-multiples of 4)', () => {
    for (const hidden of [
      [9, 6, 5],
      [64, 32, 16],
      [3, 1],
    ]) {
      const { layers, pre0, tape } = setup(1, hidden);
      tape.pre[0].set(pre0);
      expect(forwardFromFirst(layers, tape)).toBeCloseTo(refLogit(layers, pre0), 5);
    }
  });

  it('initMlp builds inDim → hidden → 1 with He-scaled weights', () => {
    const layers = initMlp(40, [64, 32, 16], new Rng(0));
    expect(layers.map((l) => [l.inDim, l.outDim])).toEqual([
      [40, 64],
      [64, 32],
      [32, 16],
      [16, 1],
    ]);
    const W = layers[0].W;
    const varW = W.reduce((s, v) => s + v * v, 0) / W.length;
    expect(varW).toBeGreaterThan(0.7 * (2 / 40));
    expect(varW).toBeLessThan(1.3 * (2 / 40));
  });

  it('backward gradients of every hidden layer W, b and of pre[0] match finite differences', () => {
    const { layers, pre0, tape } = setup(2);
    const dLogit = 0.7;
    const grads = zeroGrads(layers);
    tape.pre[0].set(pre0);
    forwardFromFirst(layers, tape);
    const dPre0 = Float32Array.from(backwardToFirst(layers, tape, dLogit, grads));
    const loss = () => dLogit * refLogit(layers, pre0);
    for (let l = 1; l < layers.length; l++) {
      const w = gradCheck(layers[l].W, grads[l].W, loss);
      expect(w.maxAbsError, `W of layer ${l}`).toBeLessThan(2e-3);
      const b = gradCheck(layers[l].b, grads[l].b, loss);
      expect(b.maxAbsError, `b of layer ${l}`).toBeLessThan(2e-3);
    }
    const p = gradCheck(pre0, dPre0, loss);
    expect(p.maxAbsError).toBeLessThan(2e-3);
    expect(dPre0.some((v) => v !== 0)).toBe(true);
  });

  it('backward without grads returns the same input delta and accumulates nothing', () => {
    const { layers, pre0, tape } = setup(3);
    tape.pre[0].set(pre0);
    forwardFromFirst(layers, tape);
    const grads = zeroGrads(layers);
    const a = Float32Array.from(backwardToFirst(layers, tape, 1.3, grads));
    const b = Float32Array.from(backwardToFirst(layers, tape, 1.3, null));
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});
