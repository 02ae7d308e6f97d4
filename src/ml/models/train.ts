import { assertFinite } from '../core/finite.ts';
import type { ProgressCallback } from '../core/progress.ts';
import type { Csr } from '../data/types.ts';
import type { DenseKernel } from '../nn/dense-kernel.ts';
import { type MfTrainOptions, trainMf } from './mf/train.ts';
import { type NcfTrainOptions, trainNcf } from './ncf/train.ts';
import type { Recommender } from './types.ts';

/** Options common to both kinds, plus each kind's own (passed through; unknown ones are ignored). */
export interface RecommenderTrainOptions {
  dim: number;
  epochs?: number;
  lr?: number;
  l2?: number;
  seed?: number;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** What runs NCF's hidden layers (MF's training stays on the loops). */
  kernel?: DenseKernel;
  mf?: Partial<MfTrainOptions>;
  ncf?: Partial<NcfTrainOptions>;
}

export function trainRecommender(kind: 'mf' | 'ncf', train: Csr, opts: RecommenderTrainOptions): Recommender {
  const { mf, ncf, ...rest } = opts;
  // Common options left undefined must not mask a kind-specific value.
  const common = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as typeof rest;
  const model = kind === 'mf' ? trainMf(train, { ...mf, ...common }) : trainNcf(train, { ...ncf, ...common });
  const { dim } = model;
  const p = model.params;
  assertFinite(
    `${kind.toUpperCase()} training diverged`,
    {
      userEmb: { values: p.userEmb, rowLength: dim },
      itemEmb: { values: p.itemEmb, rowLength: dim },
      ...(model.kind === 'mf'
        ? { userBias: { values: model.params.userBias }, itemBias: { values: model.params.itemBias } }
        : Object.fromEntries(
            model.params.layers.flatMap((l, n) => [
              [`layers[${n}].W`, { values: l.W, rowLength: l.inDim }],
              [`layers[${n}].b`, { values: l.b }],
            ]),
          )),
    },
    'try a lower learning rate (lr) or more regularisation (l2)',
  );
  return model;
}

/** The paper's embedding sizes: 20 for MovieLens-1M, 100 for Last.FM, 20 otherwise. */
export function defaultDim(datasetName: string): number {
  return datasetName.startsWith('lastfm') ? 100 : 20;
}
