import { mfScorer } from './mf/scorer.ts';
import { ncfScorer } from './ncf/scorer.ts';
import type { PairScorer, Recommender } from './types.ts';

/** The PairScorer of any recommender kind. */
export function scorerFor(model: Recommender): PairScorer {
  return model.kind === 'mf' ? mfScorer(model) : ncfScorer(model);
}

/** Full score vector of a training user, from the model's own embeddings: (user, out [nItems]) → void. */
export function userScorer(model: Recommender): (user: number, out: Float32Array) => void {
  const scorer = scorerFor(model);
  const { dim } = model;
  const { userEmb, itemEmb } = model.params;
  return (user, out) => scorer.scoreAll(user, userEmb.subarray(user * dim, (user + 1) * dim), itemEmb, out);
}
