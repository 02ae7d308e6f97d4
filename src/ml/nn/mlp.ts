/**
 * A ReLU multi-layer perceptron over `DenseLayer`s (W row-major [out × in]): every layer but the last is
 * followed by ReLU, the last produces one logit. These are the per-sample kernels (one (user, item) pair:
 * the SAE's `scoreWithGrad`); `mlp-batch.ts` runs the same network on blocks of rows.
 *
 * The first layer is split off: callers fill `tape.pre[0]` (W₁x + b₁) themselves because NCF computes it
 * as W₁ᵤ·u + W₁ᵢ·i + b₁ from cached halves; `forwardFromFirst` runs the rest, and `backwardToFirst`
 * returns ∂logit/∂pre[0] scaled by dLogit (the caller back-propagates through W₁).
 */
import type { Rng } from '../core/rng.ts';
import type { DenseLayer } from '../models/types.ts';

/** Gradients in the shapes of the layers. */
export interface LayerGrads {
  W: Float32Array;
  b: Float32Array;
}

/** Per-sample scratch space: pre-activations, ReLU outputs and deltas. */
export class MlpTape {
  /** pre[l]: W_l·x + b_l, [layers[l].outDim] */
  readonly pre: Float32Array[];
  /** act[l]: ReLU(pre[l]) for hidden layers, [layers[l].outDim] */
  readonly act: Float32Array[];
  /** delta[l]: ∂loss/∂pre[l] */
  readonly delta: Float32Array[];

  constructor(layers: DenseLayer[]) {
    this.pre = layers.map((l) => new Float32Array(l.outDim));
    this.act = layers.map((l) => new Float32Array(l.outDim));
    this.delta = layers.map((l) => new Float32Array(l.outDim));
  }
}

/** He-initialised layers inDim → hidden… → 1 (biases zero). */
export function initMlp(inDim: number, hidden: readonly number[], rng: Rng): DenseLayer[] {
  const sizes = [inDim, ...hidden, 1];
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const i = sizes[l];
    const o = sizes[l + 1];
    const W = new Float32Array(o * i);
    const std = Math.sqrt(2 / i);
    for (let k = 0; k < W.length; k++) W[k] = rng.normal() * std;
    layers.push({ inDim: i, outDim: o, W, b: new Float32Array(o) });
  }
  return layers;
}

/** Zeroed gradients shaped like `layers`. */
export function zeroGrads(layers: DenseLayer[]): LayerGrads[] {
  return layers.map((l) => ({ W: new Float32Array(l.W.length), b: new Float32Array(l.b.length) }));
}

/**
 * ReLU without a branch: (v + |v|) / 2 is v for v > 0 and +0 for v ≤ 0, exactly (doubling and halving
 * are exact). Pre-activations change sign from one unit to the next at random, and a branch mispredicted
 * half the time made the ReLU passes cost ~6× more than this. NaN stays NaN (a diverged input never
 * scores as a finite number), and so does −Infinity becoming NaN (−∞ + ∞), for the same reason.
 */
export const relu = (v: number): number => (v + Math.abs(v)) * 0.5;

/** ReLU of pre[l] into act[l]. */
function reluLayer(tape: MlpTape, l: number): void {
  const pre = tape.pre[l];
  const act = tape.act[l];
  for (let o = 0; o < pre.length; o++) act[o] = relu(pre[o]);
}

/**
 * y = W x + b (dense; four output rows at a time so each x[j] load feeds four accumulators — about 2×
 * faster in V8 than one row at a time).
 */
function affine(
  W: Float32Array,
  b: Float32Array,
  inDim: number,
  outDim: number,
  x: Float32Array,
  y: Float32Array,
): void {
  let o = 0;
  for (; o + 4 <= outDim; o += 4) {
    const r0 = o * inDim;
    const r1 = r0 + inDim;
    const r2 = r1 + inDim;
    const r3 = r2 + inDim;
    let s0 = b[o];
    let s1 = b[o + 1];
    let s2 = b[o + 2];
    let s3 = b[o + 3];
    for (let j = 0; j < inDim; j++) {
      const xj = x[j];
      s0 += W[r0 + j] * xj;
      s1 += W[r1 + j] * xj;
      s2 += W[r2 + j] * xj;
      s3 += W[r3 + j] * xj;
    }
    y[o] = s0;
    y[o + 1] = s1;
    y[o + 2] = s2;
    y[o + 3] = s3;
  }
  for (; o < outDim; o++) {
    const row = o * inDim;
    let s = b[o];
    for (let j = 0; j < inDim; j++) s += W[row + j] * x[j];
    y[o] = s;
  }
}

/** Runs layers 1.. from `tape.pre[0]` (already W₀x + b₀) and returns the logit. */
export function forwardFromFirst(layers: DenseLayer[], tape: MlpTape): number {
  const last = layers.length - 1;
  reluLayer(tape, 0);
  for (let l = 1; l <= last; l++) {
    const { W, b, inDim, outDim } = layers[l];
    affine(W, b, inDim, outDim, tape.act[l - 1], tape.pre[l]);
    if (l < last) reluLayer(tape, l);
  }
  return tape.pre[last][0];
}

/**
 * Back-propagates dLogit through layers last..1, accumulating their parameter gradients into `grads`
 * (skipped when null), and leaves ∂loss/∂pre[0] in `tape.delta[0]` (returned). Layer 0's own W/b
 * gradients are the caller's job (they need the input x).
 */
export function backwardToFirst(
  layers: DenseLayer[],
  tape: MlpTape,
  dLogit: number,
  grads: LayerGrads[] | null,
): Float32Array {
  const last = layers.length - 1;
  tape.delta[last][0] = dLogit;
  for (let l = last; l >= 1; l--) {
    const { W, inDim, outDim } = layers[l];
    const d = tape.delta[l];
    const x = tape.act[l - 1];
    const dx = tape.delta[l - 1];
    dx.fill(0);
    if (grads) {
      const gW = grads[l].W;
      const gb = grads[l].b;
      for (let o = 0; o < outDim; o++) {
        const dov = d[o];
        if (dov === 0) continue;
        gb[o] += dov;
        const row = o * inDim;
        for (let j = 0; j < inDim; j++) {
          gW[row + j] += dov * x[j];
          dx[j] += dov * W[row + j];
        }
      }
    } else {
      for (let o = 0; o < outDim; o++) {
        const dov = d[o];
        if (dov === 0) continue;
        const row = o * inDim;
        for (let j = 0; j < inDim; j++) dx[j] += dov * W[row + j];
      }
    }
    // ReLU derivative of the layer below: zero the delta where it was inactive.
    for (let j = 0; j < inDim; j++) if (x[j] === 0) dx[j] = 0;
  }
  return tape.delta[0];
}
