/**
 * A ReLU multi-layer perceptron over `DenseLayer`s (W row-major [out × in]): every layer but the last is
 * followed by ReLU, the last produces one logit. Per-sample kernels that skip the zeros ReLU leaves
 * (about half of each hidden layer), so the work per sample is roughly halved against dense loops.
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

/** Per-sample scratch space: pre-activations, ReLU outputs, their active indices and deltas. */
export class MlpTape {
  /** pre[l]: W_l·x + b_l, [layers[l].outDim] */
  readonly pre: Float32Array[];
  /** act[l]: ReLU(pre[l]) for hidden layers, [layers[l].outDim] */
  readonly act: Float32Array[];
  /** active[l][0 .. nActive[l]): indices where act[l] > 0 */
  readonly active: Int32Array[];
  readonly nActive: Int32Array;
  /** delta[l]: ∂loss/∂pre[l] */
  readonly delta: Float32Array[];

  constructor(layers: DenseLayer[]) {
    this.pre = layers.map((l) => new Float32Array(l.outDim));
    this.act = layers.map((l) => new Float32Array(l.outDim));
    this.active = layers.map((l) => new Int32Array(l.outDim));
    this.nActive = new Int32Array(layers.length);
    this.delta = layers.map((l) => new Float32Array(l.outDim));
  }
}

/** He-initialised layers inDim → hidden… → 1 (biases zero). */
export function initMlp(inDim: number, hidden: number[], rng: Rng): DenseLayer[] {
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

/** ReLU of pre[l] into act[l], recording the active indices. */
function relu(tape: MlpTape, l: number): void {
  const pre = tape.pre[l];
  const act = tape.act[l];
  const idx = tape.active[l];
  let n = 0;
  for (let o = 0; o < pre.length; o++) {
    const v = pre[o];
    if (v > 0) {
      act[o] = v;
      idx[n++] = o;
    } else act[o] = 0;
  }
  tape.nActive[l] = n;
}

/** Runs layers 1.. from `tape.pre[0]` (already W₀x + b₀) and returns the logit. */
export function forwardFromFirst(layers: DenseLayer[], tape: MlpTape): number {
  const last = layers.length - 1;
  relu(tape, 0);
  for (let l = 1; l <= last; l++) {
    const { W, b, inDim, outDim } = layers[l];
    const x = tape.act[l - 1];
    const idx = tape.active[l - 1];
    const n = tape.nActive[l - 1];
    const y = tape.pre[l];
    for (let o = 0; o < outDim; o++) {
      const row = o * inDim;
      let s = b[o];
      for (let k = 0; k < n; k++) {
        const j = idx[k];
        s += W[row + j] * x[j];
      }
      y[o] = s;
    }
    if (l < last) relu(tape, l);
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
    const idx = tape.active[l - 1];
    const n = tape.nActive[l - 1];
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
        for (let k = 0; k < n; k++) {
          const j = idx[k];
          gW[row + j] += dov * x[j];
          dx[j] += dov * W[row + j];
        }
      }
    } else {
      for (let o = 0; o < outDim; o++) {
        const dov = d[o];
        if (dov === 0) continue;
        const row = o * inDim;
        for (let k = 0; k < n; k++) {
          const j = idx[k];
          dx[j] += dov * W[row + j];
        }
      }
    }
    // dx is already zero where the ReLU was inactive (only active j were written).
  }
  return tape.delta[0];
}

/** y = W x + b for one layer with a dense input (used for the first layer on arbitrary vectors). */
export function denseForward(layer: DenseLayer, x: ArrayLike<number>, y: Float32Array): void {
  const { W, b, inDim, outDim } = layer;
  for (let o = 0; o < outDim; o++) {
    const row = o * inDim;
    let s = b[o];
    for (let j = 0; j < inDim; j++) s += W[row + j] * x[j];
    y[o] = s;
  }
}
