import { createRequire } from 'node:module';
import { MlError } from '../core/errors.ts';
import type { DenseLayer } from '../models/types.ts';
import {
  AUTO_MIN_WORK,
  type ComputeChoice,
  type DenseKernel,
  jsKernel,
  type ReluMlpTrainer,
} from './dense-kernel.ts';

/**
 * The slice of the tfjs API a kernel uses. Typed by hand so that the CUDA package, which this project
 * does not install (its install step downloads libtensorflow), needs no type declarations to compile.
 */
interface Tf {
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  tensor1d(values: Float32Array): TfTensor;
  fused: {
    matMul(args: { a: TfTensor; b: TfTensor; bias: TfTensor; activation?: 'linear' | 'relu' }): TfTensor;
  };
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  transpose(x: TfTensor): TfTensor;
  relu(x: TfTensor): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  step(x: TfTensor): TfTensor;
  mul(a: TfTensor, b: TfTensor): TfTensor;
  sum(x: TfTensor, axis: number): TfTensor;
  keep<T extends TfTensor>(x: T): T;
  dispose(x: TfTensor | TfTensor[]): void;
  tidy<T>(fn: () => T): T;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
}
interface TfTensor {
  dataSync(): Float32Array;
  dispose(): void;
}

/** The CUDA build of tfjs, looked for at run time (never a dependency: see the README's "Compute"). */
export const CUDA_PACKAGE = '@tensorflow/tfjs-node-gpu';

/** Whether the CUDA package can be found from here (resolved, not loaded: loading starts CUDA). */
export function cudaPackageInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(CUDA_PACKAGE);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `choice` cannot run here, for a check before any work ("needs … installed (npm install …)"): 'gpu'
 * without the CUDA package; null when it can be tried (loadDenseKernel still reports a failed start).
 */
export function unavailableChoice(choice: ComputeChoice): string | null {
  return choice === 'gpu' && !cudaPackageInstalled()
    ? `needs ${CUDA_PACKAGE} installed (npm install ${CUDA_PACKAGE})`
    : null;
}

/**
 * The kernel for a choice. 'js' is the loops; 'wasm' is tfjs's WebAssembly backend (a dependency);
 * 'gpu' is tfjs-node-gpu's CUDA backend, refused (naming the package) when it is not installed or does not
 * load; 'auto' takes CUDA when it loads, else wasm, else the loops, warning when an installed backend
 * fails.
 */
export async function loadDenseKernel(choice: ComputeChoice): Promise<DenseKernel> {
  if (choice === 'js') return jsKernel;
  const tries: [string, string, () => Promise<DenseKernel>][] = [];
  if (choice === 'gpu' || choice === 'auto')
    tries.push([
      CUDA_PACKAGE,
      'tensorflow',
      async () => tfjsKernel(await importOrNull(CUDA_PACKAGE), 'tensorflow'),
    ]);
  if (choice === 'wasm' || choice === 'auto')
    tries.push([
      '@tensorflow/tfjs-backend-wasm',
      'wasm',
      async () => {
        const core = await importOrNull('@tensorflow/tfjs-core');
        return tfjsKernel(core && (await importOrNull('@tensorflow/tfjs-backend-wasm')) && core, 'wasm');
      },
    ]);
  for (const [pkg, backend, load] of tries) {
    try {
      return await load();
    } catch (err) {
      const why =
        err instanceof NotInstalled
          ? `needs ${pkg}, which is not installed (npm install ${pkg})`
          : `could not start tfjs's "${backend}" backend (${pkg}): ${(err as Error).message}`;
      if (choice !== 'auto') throw new MlError('BAD_CONFIG', `compute "${choice}" ${why}`, 'compute');
      if (!(err instanceof NotInstalled)) process.emitWarning(`compute "auto" ${why}; trying the next`);
    }
  }
  return jsKernel;
}

/** The kernel for a run of `work` multiply-adds (saeEncoderWork): 'auto' keeps the loops below AUTO_MIN_WORK. */
export async function kernelForWork(choice: ComputeChoice, work: number): Promise<DenseKernel> {
  return choice === 'auto' && work < AUTO_MIN_WORK ? jsKernel : loadDenseKernel(choice);
}

class NotInstalled extends Error {}

/** The module, or null when the package itself is not there; a package that is there but fails to load throws. */
async function importOrNull(name: string): Promise<Record<string, unknown> | null> {
  let mod: Record<string, unknown> & { default?: Record<string, unknown> };
  try {
    mod = (await import(name)) as typeof mod;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && e.message.includes(name))
      return null;
    throw err;
  }
  // CommonJS packages arrive as a default export under ESM.
  return typeof mod.tidy === 'function' ? mod : (mod.default ?? mod);
}

async function tfjsKernel(mod: Record<string, unknown> | null, backend: string): Promise<DenseKernel> {
  if (!mod) throw new NotInstalled();
  const tf = mod as unknown as Tf;
  if (!(await tf.setBackend(backend))) throw new Error('setBackend answered false');
  await tf.ready();
  let bt = new Float32Array(0);
  // tfjs has one active backend per thread: take this kernel's back if another was chosen since. For a
  // backend already started, setBackend does its work before its first await, so this is synchronous.
  const takeBackend = (): void => {
    if (tf.getBackend() === backend) return;
    tf.setBackend(backend).catch(() => undefined); // its failure is the check below
    if (tf.getBackend() !== backend)
      throw new Error(`tfjs's "${backend}" backend is no longer available (another one is active)`);
  };
  // Bᵀ [k × m] of B [m × k] as a tensor: wasm's matMul with transposeB (or transposeA) is several times slower
  // than without. One buffer serves every call: wasm copies it into its memory as the tensor is made, and
  // every such tensor is consumed by the op it is made for before the next one overwrites the buffer.
  const transposed = (B: Float32Array, m: number, k: number): TfTensor => {
    if (bt.length < k * m) bt = new Float32Array(k * m);
    for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) bt[t * m + j] = B[j * k + t];
    return tf.tensor2d(bt.subarray(0, k * m), [k, m]);
  };
  return {
    name: backend,
    linear(A, B, bias, n, m, k, out) {
      takeBackend();
      const result = tf.tidy(() =>
        tf.fused.matMul({
          a: tf.tensor2d(A.subarray(0, n * k), [n, k]),
          b: transposed(B, m, k),
          bias: tf.tensor1d(bias.subarray(0, m)),
        }),
      );
      readInto(result, out, n * m);
    },
    reluMlp(X, layers, n, out, shift) {
      takeBackend();
      const result = tf.tidy(() => {
        const pre = tf.tensor2d(X.subarray(0, n * layers[0].inDim), [n, layers[0].inDim]);
        return chainLayers(tf, tf.relu(shift ? tf.add(pre, tf.tensor1d(shift)) : pre), layers, transposed);
      });
      readInto(result, out, n);
    },
    reluMlpTrainer(layers) {
      return tfjsTrainer(tf, layers, takeBackend, transposed);
    },
    ab(A, B, C, n, m, k) {
      takeBackend();
      const result = tf.tidy(() =>
        tf.matMul(tf.tensor2d(A.subarray(0, n * m), [n, m]), tf.tensor2d(B.subarray(0, m * k), [m, k])),
      );
      readInto(result, C, n * k);
    },
    atbAdd(A, B, C, n, m, k) {
      takeBackend();
      const result = tf.tidy(() =>
        tf.matMul(
          tf.transpose(tf.tensor2d(A.subarray(0, n * m), [n, m])),
          tf.tensor2d(B.subarray(0, n * k), [n, k]),
        ),
      );
      addInto(C, result.dataSync());
      result.dispose();
    },
  };
}

/**
 * `ReluMlpTrainer` on tfjs: the forward keeps each layer's input activations in the backend (ReLU applied)
 * until the backward, which turns them into gradients: ∂W_l = δ_lᵀ·a_l, ∂b_l = Σ_rows δ_l, δ_{l−1} =
 * (δ_l·W_l) ⊙ [a_l > 0]. The backend's ReLU maps NaN to 0, so a NaN input row gives a finite loss here
 * where the loops give NaN; its gradients still turn NaN, and training's finiteness check refuses the model.
 */
function tfjsTrainer(
  tf: Tf,
  layers: readonly DenseLayer[],
  takeBackend: () => void,
  transposed: (B: Float32Array, m: number, k: number) => TfTensor,
): ReluMlpTrainer {
  const last = layers.length - 1;
  let inputs: TfTensor[] = []; // [l]: layer l's input activations of the last forward
  const release = (): void => {
    tf.dispose(inputs);
    inputs = [];
  };
  return {
    forward(X, n, logits) {
      takeBackend();
      release();
      const result = tf.tidy(() => {
        const x = tf.relu(tf.tensor2d(X.subarray(0, n * layers[0].inDim), [n, layers[0].inDim]));
        return chainLayers(tf, x, layers, transposed, (input) => inputs.push(tf.keep(input)));
      });
      readInto(result, logits, n);
    },
    backward(dLogits, n, grads, dX) {
      takeBackend();
      if (inputs.length !== layers.length) throw new Error('backward without a forward');
      const results = tf.tidy(() => {
        let delta = tf.tensor2d(dLogits.subarray(0, n), [n, 1]);
        const out: TfTensor[] = [];
        for (let l = last; l >= 0; l--) {
          const { W, inDim, outDim } = layers[l];
          const a = inputs[l];
          out.push(tf.matMul(tf.transpose(delta), a), tf.sum(delta, 0));
          delta = tf.mul(tf.matMul(delta, tf.tensor2d(W, [outDim, inDim])), tf.step(a));
        }
        return [delta, ...out];
      });
      dX.set(results[0].dataSync().subarray(0, n * layers[0].inDim));
      for (let l = last, r = 1; l >= 0; l--, r += 2) {
        addInto(grads[l].W, results[r].dataSync());
        addInto(grads[l].b, results[r + 1].dataSync());
      }
      tf.dispose(results);
      release();
    },
  };
}

/**
 * `layers` on activations x [rows × layers[0].inDim] inside the backend: each layer's product plus bias,
 * ReLU fused in but after the last; `onInput` sees each layer's input (the trainer keeps them).
 */
function chainLayers(
  tf: Tf,
  x: TfTensor,
  layers: readonly DenseLayer[],
  transposed: (B: Float32Array, m: number, k: number) => TfTensor,
  onInput?: (input: TfTensor) => void,
): TfTensor {
  const last = layers.length - 1;
  for (let l = 0; l <= last; l++) {
    onInput?.(x);
    const { W, b, inDim, outDim } = layers[l];
    const activation = l < last ? 'relu' : 'linear';
    x = tf.fused.matMul({ a: x, b: transposed(W, outDim, inDim), bias: tf.tensor1d(b), activation });
  }
  return x;
}

/** A result's first `len` values into `out`, then the result freed. */
function readInto(result: TfTensor, out: Float32Array, len: number): void {
  out.set(result.dataSync().subarray(0, len));
  result.dispose();
}

function addInto(acc: Float32Array, add: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] += add[i];
}
