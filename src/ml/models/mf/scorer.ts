import type { MfModel, PairScorer } from '../types.ts';

/**
 * MF as a PairScorer: score = u·i + b_u + b_i + g. The vectors are passed in (they may be SAE
 * reconstructions or steered copies); biases come from the model by row index.
 */
export function mfScorer(model: MfModel): PairScorer {
  const { dim } = model;
  const { userBias, itemBias, globalBias } = model.params;
  const g = globalBias[0];
  return {
    dim,
    score(user, item, uVec, iVec) {
      let s = g + userBias[user] + itemBias[item];
      for (let k = 0; k < dim; k++) s += uVec[k] * iVec[k];
      return s;
    },
    scoreWithGrad(user, item, uVec, iVec, dScore, gU, gI) {
      let s = g + userBias[user] + itemBias[item];
      for (let k = 0; k < dim; k++) {
        s += uVec[k] * iVec[k];
        gU[k] += dScore * iVec[k];
        gI[k] += dScore * uVec[k];
      }
      return s;
    },
    scoreAll(user, uVec, itemEmb, out) {
      const base = g + userBias[user];
      const n = out.length;
      for (let i = 0, o = 0; i < n; i++, o += dim) {
        let s = base + itemBias[i];
        for (let k = 0; k < dim; k++) s += uVec[k] * itemEmb[o + k];
        out[i] = s;
      }
    },
  };
}
