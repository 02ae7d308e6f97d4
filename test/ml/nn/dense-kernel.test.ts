import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { MlError } from '../../../src/ml/core/errors.ts';
import { fillNormal, Rng } from '../../../src/ml/core/rng.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import { AUTO_MIN_WORK, type DenseKernel, jsKernel, KERNEL_ROWS } from '../../../src/ml/nn/dense-kernel.ts';
import { gemmAB, gemmAtBAdd } from '../../../src/ml/nn/gemm.ts';
import { kernelForWork, loadDenseKernel } from '../../../src/ml/nn/tfjs-kernel.ts';
import { allocSparseCodes, encodeSparse } from '../../../src/ml/sae/sparse.ts';
import { type SaeTrainData, trainSaeDetailed } from '../../../src/ml/sae/train.ts';
import type { Sae } from '../../../src/ml/sae/types.ts';
import { unbiasedMf } from '../../helpers/models.ts';

const rand = (n: number, rng: Rng) => fillNormal(new Float32Array(n), rng, 1);

/** Equal to float32 rounding: products of `terms` standard-normal pairs each (|terms| ~ 1). */
function expectRounded(got: Float32Array, want: Float32Array, terms: number): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThan(1e-5 * Math.sqrt(terms) * 4);
}

/** A kernel that computes with `inner` and notes each call's shape (rows n, latents m, input k). */
function recording(inner: DenseKernel): {
  kernel: DenseKernel;
  calls: { n: number; m: number; k: number }[];
} {
  const calls: { n: number; m: number; k: number }[] = [];
  const kernel: DenseKernel = {
    name: 'recording',
    linear(A, B, bias, n, m, k, out) {
      calls.push({ n, m, k });
      inner.linear(A, B, bias, n, m, k, out);
    },
  };
  return { kernel, calls };
}

/** Resolved from the test, independently of `cudaPackageInstalled`. */
function cudaInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}

describe('loadDenseKernel', () => {
  it('gives the loops for js, the wasm backend for wasm, and CUDA first for auto', async () => {
    expect(await loadDenseKernel('js')).toBe(jsKernel);
    expect((await loadDenseKernel('wasm')).name).toBe('wasm');
    expect((await loadDenseKernel('auto')).name).toBe(cudaInstalled() ? 'tensorflow' : 'wasm');
  });

  it("keeps the loops for 'auto' on runs too small to repay starting tfjs, and only for 'auto'", async () => {
    expect(await kernelForWork('auto', AUTO_MIN_WORK - 1)).toBe(jsKernel);
    expect((await kernelForWork('auto', AUTO_MIN_WORK)).name).toBe(cudaInstalled() ? 'tensorflow' : 'wasm');
    expect((await kernelForWork('wasm', 1)).name).toBe('wasm');
    expect(await kernelForWork('js', 1e15)).toBe(jsKernel);
  });

  it.skipIf(cudaInstalled())(
    'refuses gpu, naming the package, where tfjs-node-gpu is not installed',
    async () => {
      const err = await loadDenseKernel('gpu').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MlError);
      expect(err).toMatchObject({ code: 'BAD_CONFIG', field: 'compute' });
      expect((err as Error).message).toMatch(/@tensorflow\/tfjs-node-gpu/);
    },
  );
});

describe('the wasm kernel', () => {
  it('computes A·Bᵀ + bias as the loops do, to float32 rounding, on edge and training shapes', async () => {
    const wasm = await loadDenseKernel('wasm');
    const rng = new Rng(3);
    for (const [n, m, k] of [
      [1, 1, 1],
      [7, 13, 5],
      [323, 1024, 20],
      [64, 96, 100],
    ]) {
      const A = rand(n * k, rng);
      const B = rand(m * k, rng);
      const bias = rand(m, rng);
      const want = new Float32Array(n * m);
      const got = new Float32Array(n * m).fill(Number.NaN);
      jsKernel.linear(A, B, bias, n, m, k, want);
      wasm.linear(A, B, bias, n, m, k, got);
      expectRounded(got, want, k);
    }
  });

  it('computes A·B and adds Aᵀ·B as the loops do (the backward products)', async () => {
    const wasm = await loadDenseKernel('wasm');
    const rng = new Rng(8);
    for (const [n, m, k] of [
      [1, 1, 1],
      [7, 13, 5],
      [2500, 64, 100],
    ]) {
      const A = rand(n * m, rng);
      const B = rand(m * k, rng);
      const [want, got] = [new Float32Array(n * k), new Float32Array(n * k).fill(Number.NaN)];
      gemmAB(A, B, want, n, m, k);
      wasm.ab?.(A, B, got, n, m, k);
      expectRounded(got, want, m);
      const X = rand(n * k, rng);
      const start = rand(m * k, rng); // accumulated into, not overwritten
      const [sum, viaWasm] = [Float32Array.from(start), Float32Array.from(start)];
      gemmAtBAdd(A, X, sum, n, m, k);
      wasm.atbAdd?.(A, X, viaWasm, n, m, k);
      expectRounded(viaWasm, sum, n);
    }
  });

  it('computes on wasm even after another tfjs backend was made active', async () => {
    const wasm = await loadDenseKernel('wasm');
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    expect(await tf.setBackend('cpu')).toBe(true);
    const out = new Float32Array(2);
    wasm.linear(Float32Array.of(1, 2), Float32Array.of(3, 4, 5, 6), Float32Array.of(0.5, 0), 1, 2, 2, out);
    expect(tf.getBackend()).toBe('wasm');
    expect(Array.from(out)).toEqual([11.5, 17]);
  });

  it('encodes in calls of at most KERNEL_ROWS rows, the same codes as in one', async () => {
    const wasm = await loadDenseKernel('wasm');
    const rng = new Rng(5);
    const sae: Sae = {
      kind: 'sae',
      config: { inputDim: 4, latents: 16, activation: 'topk', k: 3 },
      params: {
        W: rand(64, rng),
        bEnc: rand(16, rng),
        bPre: new Float32Array(4),
        inputScale: Float32Array.of(1),
      },
    };
    const n = KERNEL_ROWS * 2 + 5;
    const xh = rand(n * 4, rng);
    const { kernel, calls } = recording(wasm);
    const chunked = allocSparseCodes(n, sae);
    const loops = allocSparseCodes(n, sae);
    encodeSparse(sae, xh, n, chunked, kernel);
    encodeSparse(sae, xh, n, loops);
    expect(calls.map((c) => c.n)).toEqual([KERNEL_ROWS, KERNEL_ROWS, 5]);
    expect(Array.from(chunked.idx)).toEqual(Array.from(loops.idx));
  });

  it('encodes the same active latents as the loops (TopK and ReLU)', async () => {
    const wasm = await loadDenseKernel('wasm');
    const rng = new Rng(4);
    for (const activation of ['topk', 'relu'] as const) {
      const sae: Sae = {
        kind: 'sae',
        config: { inputDim: 20, latents: 256, activation, ...(activation === 'topk' ? { k: 8 } : {}) },
        params: {
          W: rand(256 * 20, rng),
          bEnc: rand(256, rng),
          bPre: new Float32Array(20),
          inputScale: Float32Array.of(1),
        },
      };
      const n = 50;
      const xh = rand(n * 20, rng);
      const viaLoops = allocSparseCodes(n, sae);
      const viaWasm = allocSparseCodes(n, sae);
      encodeSparse(sae, xh, n, viaLoops);
      encodeSparse(sae, xh, n, viaWasm, wasm);
      expect(Array.from(viaWasm.count)).toEqual(Array.from(viaLoops.count));
      expect(Array.from(viaWasm.idx)).toEqual(Array.from(viaLoops.idx));
      for (let a = 0; a < viaLoops.val.length; a++) expect(viaWasm.val[a]).toBeCloseTo(viaLoops.val[a], 5);
    }
  });
});

describe('SAE training with a kernel', () => {
  function data(): SaeTrainData {
    const rng = new Rng(9);
    const nUsers = 40;
    const nItems = 60;
    const dim = 8;
    const model = unbiasedMf(rand(nUsers * dim, rng), rand(nItems * dim, rng), dim);
    const indptr = Int32Array.from({ length: nUsers + 1 }, (_, u) => u);
    const indices = Int32Array.from({ length: nUsers }, (_, u) => (u * 7) % nItems);
    return {
      userEmb: model.params.userEmb,
      itemEmb: model.params.itemEmb,
      nUsers,
      nItems,
      dim,
      scorer: mfScorer(model),
      train: { rows: nUsers, cols: nItems, indptr, indices },
    };
  }
  const opts = { latents: 32, k: 4, epochs: 4, batchSize: 16, seed: 2 };

  it('is deterministic on wasm, says which kernel computed, and learns as the loops do', async () => {
    const wasm = await loadDenseKernel('wasm');
    const a = trainSaeDetailed(data(), { ...opts, kernel: wasm });
    const b = trainSaeDetailed(data(), { ...opts, kernel: wasm });
    const loops = trainSaeDetailed(data(), opts);
    expect(a.compute).toBe('wasm');
    expect(loops.compute).toBe('js');
    expect(Array.from(a.pair.item.params.W)).toEqual(Array.from(b.pair.item.params.W));
    const last = (r: typeof a) => r.history[r.history.length - 1].loss.total;
    expect(last(a)).toBeCloseTo(last(loops), 3);
    expect('kernel' in a.options).toBe(false); // a runtime object, never written into a report
  });

  it("computes every batch's encoder products with the kernel it is given", () => {
    const { kernel, calls } = recording(jsKernel);
    const r = trainSaeDetailed(data(), { ...opts, kernel });
    expect(r.compute).toBe('recording');
    // Two sides per step, 60 items / 16 per batch = 4 steps per epoch, 4 epochs (dead-neuron resampling
    // may add its own calls).
    expect(calls.length).toBeGreaterThanOrEqual(2 * 4 * 4);
    expect(new Set(calls.map((c) => `${c.k}×${c.m}`))).toEqual(new Set(['8×32']));
  });

  it('resamples dead neurons through the kernel too', () => {
    const { kernel, calls } = recording(jsKernel);
    // 256 latents over 60 items: most neurons die, and each epoch's resampling encodes a sample of
    // min(1024, items) = 60 rows, a size no training batch here has (16 items, 10 users).
    const r = trainSaeDetailed(data(), { ...opts, latents: 256, kernel });
    expect(r.history.some((h) => h.resampled > 0)).toBe(true);
    expect(calls.map((c) => c.n)).toContain(60);
  });

  it('refuses a kernel option that is not a kernel, naming it', () => {
    expect(() => trainSaeDetailed(data(), { ...opts, kernel: {} as DenseKernel })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', field: 'kernel' }),
    );
  });
});
