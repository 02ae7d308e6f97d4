/**
 * Adam over a set of named Float32Array parameters, updated in place. Gradients are passed in the same
 * shapes. Optimisers are tested once, generically (test/ml/optim.test.ts).
 */
export interface AdamOptions {
  lr: number;
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  weightDecay?: number; // decoupled (AdamW) decay, default 0
}

export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;
  readonly lr: number;
  private readonly b1: number;
  private readonly b2: number;
  private readonly eps: number;
  private readonly wd: number;

  constructor(
    private readonly params: Float32Array[],
    opts: AdamOptions,
  ) {
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
    this.lr = opts.lr;
    this.b1 = opts.beta1 ?? 0.9;
    this.b2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.wd = opts.weightDecay ?? 0;
  }

  /** One step: params[i] -= lr · (m̂ / (√v̂ + eps) + weightDecay · params[i]), grads[i] the gradient of params[i]. */
  step(grads: Float32Array[], lr = this.lr): void {
    this.t++;
    const { b1, b2, eps, wd } = this;
    const c1 = 1 / (1 - b1 ** this.t);
    const c2 = 1 / (1 - b2 ** this.t);
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k];
      const g = grads[k];
      const m = this.m[k];
      const v = this.v[k];
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] -= lr * ((m[i] * c1) / (Math.sqrt(v[i] * c2) + eps) + wd * p[i]);
      }
    }
  }

  /**
   * Sparse step for embedding tables: only rows listed in `rows` (each `dim` wide) of params[k] are
   * updated, with their own moment estimates (lazy Adam: bias correction uses the global step); the
   * decoupled weight decay applies to those rows only, when they are stepped.
   */
  stepRows(k: number, grad: Float32Array, rows: ArrayLike<number>, dim: number, lr = this.lr): void {
    const { b1, b2, eps, wd } = this;
    const c1 = 1 / (1 - b1 ** Math.max(this.t, 1));
    const c2 = 1 / (1 - b2 ** Math.max(this.t, 1));
    const p = this.params[k];
    const m = this.m[k];
    const v = this.v[k];
    for (let r = 0; r < rows.length; r++) {
      const o = rows[r] * dim;
      for (let c = 0; c < dim; c++) {
        const i = o + c;
        const gi = grad[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] -= lr * ((m[i] * c1) / (Math.sqrt(v[i] * c2) + eps) + wd * p[i]);
      }
    }
  }

  /** Advances the step counter without touching dense params (use with stepRows-only models). */
  tick(): void {
    this.t++;
  }
}
