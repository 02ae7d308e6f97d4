import type { DenseKernel } from '../nn/dense-kernel.ts';
import { mfScorer } from './mf/scorer.ts';
import { ncfScorer } from './ncf/scorer.ts';
import type { PairScorer, Recommender } from './types.ts';

/** The PairScorer of any recommender kind; `kernel` computes NCF's hidden layers (MF's dot products stay loops). */
export function scorerFor(model: Recommender, kernel?: DenseKernel): PairScorer {
  return model.kind === 'mf' ? mfScorer(model) : ncfScorer(model, kernel);
}

/** Full score vector of a training user, from the model's own embeddings: (user, out [nItems]) → void. */
export function userScorer(
  model: Recommender,
  kernel?: DenseKernel,
): (user: number, out: Float32Array) => void {
  const scorer = scorerFor(model, kernel);
  const { dim } = model;
  const { userEmb, itemEmb } = model.params;
  return (user, out) => scorer.scoreAll(user, userEmb.subarray(user * dim, (user + 1) * dim), itemEmb, out);
}
