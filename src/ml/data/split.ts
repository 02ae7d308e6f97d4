import { MlError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import type { Csr, Split } from './types.ts';

export interface SplitOptions {
  /** Held-out positives per test user (default 5). */
  perUser?: number;
  /** Training positives a user must keep to be tested (default 5); users with fewer than
   *  perUser + minTrain positives stay in training only. */
  minTrain?: number;
  seed?: number; // default 0
}

/** The hold-out's defaults: 5 positives held out per test user, who must keep 5 to train on. */
export const HOLDOUT_DEFAULTS = { perUser: 5, minTrain: 5 } as const;

/**
 * Seeded per-user hold-out: for every user with at least perUser + minTrain positives, `perUser`
 * positives drawn uniformly at random become test positives; everything else is training data.
 */
export function splitHoldout(interactions: Csr, opts: SplitOptions = {}): Split {
  const perUser = opts.perUser ?? HOLDOUT_DEFAULTS.perUser;
  const minTrain = opts.minTrain ?? HOLDOUT_DEFAULTS.minTrain;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(perUser) || perUser < 1)
    throw new MlError('BAD_CONFIG', `split perUser = ${perUser}: must be an integer ≥ 1`, 'perUser');
  if (!Number.isInteger(minTrain) || minTrain < 0)
    throw new MlError('BAD_CONFIG', `split minTrain = ${minTrain}: must be an integer ≥ 0`, 'minTrain');
  const rng = new Rng(seed);
  const { rows, indptr, indices, values } = interactions;
  const nnz = indices.length;
  const isTest = new Uint8Array(nnz);
  const testUsers: number[] = [];
  let scratch = new Int32Array(64);
  for (let u = 0; u < rows; u++) {
    const start = indptr[u];
    const n = indptr[u + 1] - start;
    if (n < perUser + minTrain) continue;
    if (scratch.length < n) scratch = new Int32Array(n * 2);
    for (let k = 0; k < n; k++) scratch[k] = k;
    for (let k = 0; k < perUser; k++) {
      const j = k + rng.nextInt(n - k);
      const t = scratch[k];
      scratch[k] = scratch[j];
      scratch[j] = t;
      isTest[start + scratch[k]] = 1;
    }
    testUsers.push(u);
  }
  const nTest = testUsers.length * perUser;
  return {
    train: pick(interactions, isTest, 0, nnz - nTest),
    test: pick(interactions, isTest, 1, nTest),
    testUsers: Int32Array.from(testUsers),
  };

  function pick(csr: Csr, flag: Uint8Array, want: number, size: number): Csr {
    const outPtr = new Int32Array(rows + 1);
    const outIdx = new Int32Array(size);
    const outVal = values ? new Float32Array(size) : undefined;
    let k = 0;
    for (let u = 0; u < rows; u++) {
      for (let p = indptr[u]; p < indptr[u + 1]; p++) {
        if (flag[p] !== want) continue;
        outIdx[k] = indices[p];
        if (outVal && values) outVal[k] = values[p];
        k++;
      }
      outPtr[u + 1] = k;
    }
    return { rows, cols: csr.cols, indptr: outPtr, indices: outIdx, values: outVal };
  }
}
