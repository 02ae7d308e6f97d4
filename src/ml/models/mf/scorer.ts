import type { MfModel, PairScorer } from '../types.ts';

/**
 * u · itemEmb[o .. o+dim), unrolled by 4 (`tail` = dim & ~3). The one dot-product kernel of full-catalogue
 * scoring: `scoreAll` and `mfScoreRows` both use it, so a row scored alone gets the very same float as
 * in a full pass.
 */
function dotRow(uVec: Float32Array, itemEmb: Float32Array, o: number, dim: number, tail: number): number {
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
  return s0 + s1 + (s2 + s3);
}

/**
 * Scores of the items `rows[0 .. count)` into `out[r]`, identical (bit for bit, after the Float32 store)
 * to what `scoreAll` writes at those items.
 */
export function mfScoreRows(
  model: MfModel,
  user: number,
  uVec: Float32Array,
  itemEmb: Float32Array,
  rows: ArrayLike<number>,
  count: number,
  out: Float32Array,
): void {
  const { dim } = model;
  const { userBias, itemBias, globalBias } = model.params;
  const base = globalBias[0] + userBias[user];
  const tail = dim & ~3;
  for (let r = 0; r < count; r++) {
    const i = rows[r];
    out[r] = base + itemBias[i] + dotRow(uVec, itemEmb, i * dim, dim, tail);
  }
}

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
      // this loop is the whole cost of evaluation and of uncached serving without candidate lists
      const base = g + userBias[user];
      const n = out.length;
      const tail = dim & ~3;
      for (let i = 0, o = 0; i < n; i++, o += dim)
        out[i] = base + itemBias[i] + dotRow(uVec, itemEmb, o, dim, tail);
    },
  };
}
