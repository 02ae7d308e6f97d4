import { emptyMfModel } from '../../src/ml/models/mf/model.ts';
import type { MfModel } from '../../src/ml/models/types.ts';

/** An MF model over the given embeddings (the very arrays) with every bias 0: scores are dot products. */
export function unbiasedMf(userEmb: Float32Array, itemEmb: Float32Array, dim: number): MfModel {
  const empty = emptyMfModel(userEmb.length / dim, itemEmb.length / dim, dim);
  return { ...empty, params: { ...empty.params, userEmb, itemEmb } };
}
