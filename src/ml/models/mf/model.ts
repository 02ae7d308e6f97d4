import { MlError } from '../../core/errors.ts';
import type { MfModel } from '../types.ts';

/** An all-zero MF model of the given shape (trainers fill it). */
export function emptyMfModel(nUsers: number, nItems: number, dim: number): MfModel {
  if (!Number.isInteger(dim) || dim < 1)
    throw new MlError('BAD_CONFIG', `dim must be a positive integer, got ${dim}`, 'dim');
  return {
    kind: 'mf',
    nUsers,
    nItems,
    dim,
    params: {
      userEmb: new Float32Array(nUsers * dim),
      itemEmb: new Float32Array(nItems * dim),
      userBias: new Float32Array(nUsers),
      itemBias: new Float32Array(nItems),
      globalBias: new Float32Array(1),
    },
  };
}

/** score(u, i) = userEmb[u]·itemEmb[i] + userBias[u] + itemBias[i] + globalBias. */
export function mfScore(model: MfModel, user: number, item: number): number {
  const { dim, params } = model;
  const { userEmb, itemEmb } = params;
  let s = params.globalBias[0] + params.userBias[user] + params.itemBias[item];
  const uo = user * dim;
  const io = item * dim;
  for (let k = 0; k < dim; k++) s += userEmb[uo + k] * itemEmb[io + k];
  return s;
}
