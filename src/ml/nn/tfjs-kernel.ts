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
  return {
    name: backend,
    linear(A, B, bias, n, m, k, out) {
      // tfjs has one active backend per thread: take this kernel's back if another was chosen since. For a
      // backend already started, setBackend does its work before its first await, so this is synchronous.
      if (tf.getBackend() !== backend) {
        tf.setBackend(backend).catch(() => undefined); // its failure is the check below
        if (tf.getBackend() !== backend)
          throw new Error(`tfjs's "${backend}" backend is no longer available (another one is active)`);
      }
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
