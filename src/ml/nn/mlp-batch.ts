/**
 * The ReLU MLP of `mlp.ts` run on a block of rows at once with the blocked gemm kernels — the fast path
 * for training batches and for scoring one user against every item. Same conventions: the caller fills
 * the first layer's pre-activations (`pre0`, [rows × layers[0].outDim]); `forward` runs the rest;
 * `backward` accumulates hidden-layer gradients and returns ∂loss/∂pre0 per row.
 */
import type { DenseLayer } from '../models/types.ts';
import { gemmAB, gemmABt, gemmAtBAdd } from './gemm.ts';
import { type LayerGrads, relu } from './mlp.ts';

export class MlpBatch {
  /** pre[l]: [capacity × outDim_l]; pre[0] is filled by the caller. */
  readonly pre: Float32Array[];
  /** act[l]: ReLU(pre[l]) for hidden layers. */
  private readonly act: Float32Array[];
  /** delta[l]: ∂loss/∂pre[l]. */
  readonly delta: Float32Array[];
  /** Logits of the last `forward`, [capacity]. */
  readonly logits: Float32Array;

  constructor(
    private readonly layers: DenseLayer[],
    readonly capacity: number,
  ) {
    this.pre = layers.map((l) => new Float32Array(capacity * l.outDim));
    this.act = layers.map((l) => new Float32Array(capacity * l.outDim));
    this.delta = layers.map((l) => new Float32Array(capacity * l.outDim));
    this.logits = this.pre[layers.length - 1];
  }

  /** Forward for rows [0, n); returns the logits array (first n entries valid). */
  forward(n: number): Float32Array {
    const { layers } = this;
    const last = layers.length - 1;
    for (let l = 0; l <= last; l++) {
      if (l > 0) {
        const { W, b, inDim, outDim } = layers[l];
        gemmABt(this.act[l - 1], W, this.pre[l], n, outDim, inDim, b);
      }
      if (l < last) {
        const z = this.pre[l];
        const a = this.act[l];
        const len = n * layers[l].outDim;
        for (let t = 0; t < len; t++) a[t] = relu(z[t]);
      }
    }
    return this.logits;
  }

  /**
   * Backward for rows [0, n) given ∂loss/∂logit per row; accumulates layers 1..'s gradients into
   * `grads` (when given) and returns ∂loss/∂pre0 [n × layers[0].outDim].
   */
  backward(n: number, dLogits: Float32Array, grads: LayerGrads[] | null): Float32Array {
    const { layers } = this;
    const last = layers.length - 1;
    this.delta[last].set(dLogits.subarray(0, n));
    for (let l = last; l >= 1; l--) {
      const { W, inDim, outDim } = layers[l];
      const d = this.delta[l];
      const x = this.act[l - 1];
      if (grads) {
        gemmAtBAdd(d, x, grads[l].W, n, outDim, inDim);
        const gb = grads[l].b;
        for (let r = 0; r < n; r++) for (let o = 0; o < outDim; o++) gb[o] += d[r * outDim + o];
      }
      const dx = this.delta[l - 1];
      gemmAB(d, W, dx, n, outDim, inDim);
      const len = n * inDim;
      // ReLU's gradient mask by a multiply, not a branch (which half of the units are off is random, and
      // mispredicting it cost 5× the loop); an off unit passes ±0.
      for (let t = 0; t < len; t++) dx[t] *= +(x[t] !== 0);
    }
    return this.delta[0];
  }
}
