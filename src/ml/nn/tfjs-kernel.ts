import { createRequire } from 'node:module';
import { MlError } from '../core/errors.ts';
import { AUTO_MIN_WORK, type ComputeChoice, type DenseKernel, jsKernel } from './dense-kernel.ts';

/**
 * The slice of the tfjs API a kernel uses. Typed by hand so that the CUDA package, which this project
 * does not install (its install step downloads libtensorflow), needs no type declarations to compile.
 */
interface Tf {
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  tensor1d(values: Float32Array): TfTensor;
  fused: { matMul(args: { a: TfTensor; b: TfTensor; bias: TfTensor }): TfTensor };
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
 * The kernel for a choice. 'js' is the loops; 'wasm' is tfjs's WebAssembly backend (a dependency, so
 * always there); 'gpu' is tfjs-node-gpu's CUDA backend and fails, naming the package, when it is not
 * installed; 'auto' takes CUDA when installed, else wasm, else the loops.
 */
export async function loadDenseKernel(choice: ComputeChoice): Promise<DenseKernel> {
  if (choice === 'js') return jsKernel;
  if (choice === 'gpu' || choice === 'auto') {
    const cuda = await tryImport(CUDA_PACKAGE);
    if (cuda) return tfjsKernel(cuda, 'tensorflow');
    if (choice === 'gpu')
      throw new MlError(
        'BAD_CONFIG',
        `compute "gpu" needs ${CUDA_PACKAGE} (npm install ${CUDA_PACKAGE}); it is not installed`,
        'compute',
      );
  }
  const core = await tryImport('@tensorflow/tfjs-core');
  const wasm = core && (await tryImport('@tensorflow/tfjs-backend-wasm'));
  if (core && wasm) return tfjsKernel(core, 'wasm');
  if (choice === 'wasm')
    throw new MlError(
      'BAD_CONFIG',
      'compute "wasm" needs @tensorflow/tfjs-core and @tensorflow/tfjs-backend-wasm (npm install)',
      'compute',
    );
  return jsKernel;
}

/** The kernel for a run of `work` multiply-adds (saeEncoderWork): 'auto' keeps the loops below AUTO_MIN_WORK. */
export async function kernelForWork(choice: ComputeChoice, work: number): Promise<DenseKernel> {
  return choice === 'auto' && work < AUTO_MIN_WORK ? jsKernel : loadDenseKernel(choice);
}

async function tryImport(name: string): Promise<Record<string, unknown> | null> {
  try {
    const mod = (await import(name)) as Record<string, unknown> & { default?: Record<string, unknown> };
    // CommonJS packages arrive as a default export under ESM.
    return typeof mod.tidy === 'function' ? mod : (mod.default ?? mod);
  } catch {
    return null;
  }
}

async function tfjsKernel(mod: Record<string, unknown>, backend: string): Promise<DenseKernel> {
  const tf = mod as unknown as Tf;
  if (!(await tf.setBackend(backend)))
    throw new MlError('BAD_CONFIG', `the tfjs backend "${backend}" could not start`, 'compute');
  await tf.ready();
  let bt = new Float32Array(0);
  return {
    name: backend,
    linear(A, B, bias, n, m, k, out) {
      // tfjs has one active backend per thread: take this kernel's back if another was chosen since. For a
      // backend already started, setBackend does its work before its first await, so this is synchronous.
      if (tf.getBackend() !== backend) void tf.setBackend(backend);
      // Bᵀ laid out [k × m]: wasm's matMul with transposeB is several times slower than without.
      if (bt.length < k * m) bt = new Float32Array(k * m);
      for (let j = 0; j < m; j++) for (let t = 0; t < k; t++) bt[t * m + j] = B[j * k + t];
      const result = tf.tidy(() =>
        tf.fused.matMul({
          a: tf.tensor2d(A.subarray(0, n * k), [n, k]),
          b: tf.tensor2d(bt.subarray(0, k * m), [k, m]),
          bias: tf.tensor1d(bias.subarray(0, m)),
        }),
      );
      out.set(result.dataSync().subarray(0, n * m));
      result.dispose();
    },
  };
}
