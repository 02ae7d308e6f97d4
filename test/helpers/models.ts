import { fillNormal, type Rng } from '../../src/ml/core/rng.ts';
import { emptyMfModel } from '../../src/ml/models/mf/model.ts';
import type { MfModel } from '../../src/ml/models/types.ts';

/** An MF model over the given embeddings (the very arrays) with every bias 0: scores are dot products. */
export function unbiasedMf(userEmb: Float32Array, itemEmb: Float32Array, dim: number): MfModel {
  const empty = emptyMfModel(userEmb.length / dim, itemEmb.length / dim, dim);
  return { ...empty, params: { ...empty.params, userEmb, itemEmb } };
}

/** An MF model with random biases (std 0.3, global 0.2) over the given embeddings (the very arrays). */
export function biasedMf(userEmb: Float32Array, itemEmb: Float32Array, dim: number, rng: Rng): MfModel {
  const m = unbiasedMf(userEmb, itemEmb, dim);
  const userBias = fillNormal(new Float32Array(m.nUsers), rng, 0.3);
  const itemBias = fillNormal(new Float32Array(m.nItems), rng, 0.3);
  return { ...m, params: { ...m.params, userBias, itemBias, globalBias: Float32Array.of(0.2) } };
}
