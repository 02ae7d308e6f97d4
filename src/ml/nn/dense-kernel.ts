import { gemmABt } from './gemm.ts';

/**
 * The one dense product SAE training spends most of its time in — every batch's encoder pre-activations,
 * X [n × k] · Wᵀ (W [m × k], one row per latent) + b [m] — behind an interface, so a faster backend can
 * take it where a benchmark shows it wins (`npm run bench:compute`). Everything else stays on
 * Float32Array loops. A kernel is synchronous once made: `loadDenseKernel` (tfjs-kernel.ts) does the
 * asynchronous set-up.
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
}

/**
 * The Float32Array loops: what runs when no other kernel is given. `encodeSparse` keeps its own blocked
 * loop for it (the codes stay bit-identical to the ones before kernels existed); `linear` is gemm.ts's.
 */
export const jsKernel: DenseKernel = {
  name: 'js',
  linear: (A, B, bias, n, m, k, out) => gemmABt(A, B, out, n, m, k, bias),
};

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
