import { MlError } from '../../core/errors.ts';
import type { ProgressCallback } from '../../core/progress.ts';
import type { Csr } from '../../data/types.ts';
import type { MfModel } from '../types.ts';
import { IALS_DEFAULTS, trainIals } from './ials.ts';
import { LOGISTIC_DEFAULTS, trainLogistic } from './logistic.ts';

/**
 * MF training. Two objectives behind one call:
 * - 'ials' (default): implicit ALS with CG row solves (ials.ts, als.ts) — fast and the most accurate;
 * - 'logistic': the paper's logistic MF with sampled negatives, Adam or SGD (logistic.ts).
 * Options not relevant to the chosen objective are ignored. Same seed → identical weights.
 */
export interface MfTrainOptions {
  dim: number;
  objective?: 'ials' | 'logistic';
  epochs?: number;
  seed?: number;
  /** L2 coefficient (iALS: λ before frequency scaling; logistic: per-sample weight decay). */
  l2?: number;
  // iALS
  unobservedWeight?: number;
  popularityExponent?: number;
  regExponent?: number;
  cgSteps?: number;
  biases?: boolean;
  // logistic
  lr?: number;
  optimizer?: 'adam' | 'sgd';
  negatives?: number;
  batchSize?: number;
  initStd?: number;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export function trainMf(train: Csr, opts: MfTrainOptions): MfModel {
  const objective = opts.objective ?? 'ials';
  const epochs = opts.epochs;
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 0))
    throw new MlError('BAD_CONFIG', `epochs must be an integer ≥ 0, got ${epochs}`, 'epochs');
  const defined = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  if (objective === 'ials') return trainIals(train, { ...IALS_DEFAULTS, ...defined, dim: opts.dim });
  if (objective === 'logistic') {
    const lr = opts.lr ?? (opts.optimizer === 'sgd' ? 0.05 : 3e-3);
    return trainLogistic(train, { ...LOGISTIC_DEFAULTS, ...defined, lr, dim: opts.dim });
  }
  throw new MlError('BAD_CONFIG', `unknown MF objective "${objective}"`, 'objective');
}
