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
      const tail = dim & ~3;
      for (let i = 0, o = 0; i < n; i++, o += dim) {
        // unrolled by 4: this loop is the whole cost of evaluation and serving
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let k = 0;
        for (; k < tail; k += 4) {
          s0 += uVec[k] * itemEmb[o + k];
          s1 += uVec[k + 1] * itemEmb[o + k + 1];
          s2 += uVec[k + 2] * itemEmb[o + k + 2];
          s3 += uVec[k + 3] * itemEmb[o + k + 3];
        }
        for (; k < dim; k++) s0 += uVec[k] * itemEmb[o + k];
        out[i] = base + itemBias[i] + (s0 + s1 + (s2 + s3));
      }
    },
  };
}
