import type { DenseLayer } from '../models/types.ts';
import { gemmABt } from './gemm.ts';
import type { LayerGrads } from './mlp.ts';

/**
 * The dense products most of a pipeline's CPU goes to — SAE training's encoder pre-activations, X [n × k] ·
 * Wᵀ (W [m × k], one row per latent) + b [m], and NCF's hidden layers scoring every item for a user —
 * behind an interface, so a faster backend can take them where a benchmark shows it wins
 * (`npm run bench:compute`). Everything else stays on Float32Array loops. A kernel is synchronous once
 * made: `loadDenseKernel` (tfjs-kernel.ts) does the asynchronous set-up.
 */
export interface DenseKernel {
  /** What computes: 'js' (these loops), or a tfjs backend's name ('wasm', 'tensorflow' for CUDA). */
  readonly name: string;
  /** out [n × m] = A [n × k] · Bᵀ (B [m × k]) + bias [m]. */
  linear(
    A: Float32Array,
    B: Float32Array,
    bias: Float32Array,
    n: number,
    m: number,
    k: number,
    out: Float32Array,
  ): void;
  /**
   * out [n] = ReLU layers run on rows ReLU(X + shift) (X [n × layers[0].inDim] pre-activations, `shift`
   * [layers[0].inDim] added to every row, none when absent): each layer's product plus bias, ReLU between
   * layers, none after the last (one output per row) — chained inside the backend, so the activations
   * between layers never come back to JS. Offered by backends that can chain; the loops do not (`MlpBatch`
   * is theirs). A backend's ReLU may turn NaN into 0: callers keep non-finite rows away.
   */
  reluMlp?(
    X: Float32Array,
    layers: readonly DenseLayer[],
    n: number,
    out: Float32Array,
    shift?: Float32Array,
  ): void;
  /** Training for the same layers, a batch of rows at a time (offered by the backends with `reluMlp`). */
  reluMlpTrainer?(layers: readonly DenseLayer[]): ReluMlpTrainer;
  /** C [n × k] = A [n × m] · B [m × k] (input gradients: Δ·W), as gemm.ts's `gemmAB`. */
  ab?(A: Float32Array, B: Float32Array, C: Float32Array, n: number, m: number, k: number): void;
  /** C [m × k] += Aᵀ · B, A [n × m], B [n × k] (weight gradients: Δᵀ·X), as gemm.ts's `gemmAtBAdd`. */
  atbAdd?(A: Float32Array, B: Float32Array, C: Float32Array, n: number, m: number, k: number): void;
}

/**
 * Forward and backward of ReLU layers (as `reluMlp` runs them) over a batch of at most TRAIN_ROWS rows.
 * The layers' weights are read at every `forward` (an optimiser changes them between batches).
 */
export interface ReluMlpTrainer {
  /** logits [n] of rows X [n × layers[0].inDim], the pre-activations ReLU is applied to first. */
  forward(X: Float32Array, n: number, logits: Float32Array): void;
  /**
   * From ∂loss/∂logit [n] of the last `forward`: adds each layer's weight and bias gradients into
   * grads[l], and writes ∂loss/∂X [n × layers[0].inDim] into dX.
   */
  backward(dLogits: Float32Array, n: number, grads: readonly LayerGrads[], dX: Float32Array): void;
}

/**
 * Rows of one training batch on a kernel: larger than KERNEL_ROWS, as a batch's activations are narrow
 * (NCF's widest is 64: 1 MB a matrix at this size) and a kernel call's fixed cost is paid per batch.
 */
export const TRAIN_ROWS = 4096;

/**
 * The Float32Array loops: what runs when no other kernel is given. `encodeSparse` keeps its own blocked
 * loop for it (the codes stay bit-identical to the ones before kernels existed); `linear` is gemm.ts's.
 */
export const jsKernel: DenseKernel = {
  name: 'js',
  linear: (A, B, bias, n, m, k, out) => gemmABt(A, B, out, n, m, k, bias),
};

/** Rows of one inference call at most (the job memory estimate counts buffers of this many rows); training batches take TRAIN_ROWS. */
export const KERNEL_ROWS = 1024;

/** Which kernel to use: 'auto' takes CUDA, then wasm, whichever is installed, else the loops. */
export type ComputeChoice = 'auto' | 'js' | 'wasm' | 'gpu';
export const COMPUTE_CHOICES: readonly ComputeChoice[] = ['auto', 'js', 'wasm', 'gpu'];

/** Multiply-adds of SAE training's encoder products: every epoch encodes each item and training user once. */
export function saeEncoderWork(
  sae: { epochs: number; latents: number },
  inputDim: number,
  rows: number,
): number {
  return sae.epochs * rows * inputDim * sae.latents;
}

/**
 * Below this many multiply-adds 'auto' keeps the loops: starting tfjs takes ~0.3 s here, more than the
 * ~2× faster products save on a small run (2e9 is ~1.7 s of the loops; ML-1M's default SAE is 6e9).
 */
export const AUTO_MIN_WORK = 2e9;
