import { fillNormal, type Rng } from '../core/rng.ts';
import type { Sae, SaeConfig } from './types.ts';

/** Rows of one or more embedding tables an SAE is fitted to (users in `rows`, all items, …). */
export interface RowSource {
  emb: Float32Array; // [· × dim]
  rows: ArrayLike<number>;
}

/**
 * Input statistics: bPre = mean row (when preBias), inputScale = √(mean ‖x − bPre‖²) (when normalise), so
 * normalised rows have mean squared norm 1 and the same hyper-parameters suit MF and NCF embeddings.
 */
export function inputStats(
  sources: RowSource[],
  dim: number,
  preBias: boolean,
  normalise: boolean,
): { bPre: Float32Array; inputScale: Float32Array } {
  const mean = new Float64Array(dim);
  let n = 0;
  for (const { emb, rows } of sources) {
    for (let r = 0; r < rows.length; r++) {
      const o = rows[r] * dim;
      for (let c = 0; c < dim; c++) mean[c] += emb[o + c];
      n++;
    }
  }
  const bPre = new Float32Array(dim);
  if (preBias && n > 0) for (let c = 0; c < dim; c++) bPre[c] = mean[c] / n;
  let sq = 0;
  for (const { emb, rows } of sources) {
    for (let r = 0; r < rows.length; r++) {
      const o = rows[r] * dim;
      for (let c = 0; c < dim; c++) sq += (emb[o + c] - bPre[c]) ** 2;
    }
  }
  const scale = normalise && n > 0 && sq > 0 ? Math.sqrt(sq / n) : 1;
  return { bPre, inputScale: Float32Array.of(scale) };
}

/**
 * A fresh SAE. 'data' init points each encoder/decoder row at a random (normalised) data row, so every
 * neuron starts inside the data cloud and fires; 'random' draws Gaussian directions. Rows get norm
 * 1/√(active latents) so that the initial reconstruction Σ z_j W_j has roughly the input's scale.
 */
export function initSae(
  config: SaeConfig,
  stats: { bPre: Float32Array; inputScale: Float32Array },
  sources: RowSource[],
  init: 'data' | 'random',
  rng: Rng,
): Sae {
  const { inputDim: d, latents: m } = config;
  const W = new Float32Array(m * d);
  const active = config.activation === 'topk' && config.k ? config.k : Math.max(1, m / 4);
  const norm = 1 / Math.sqrt(active);
  const total = sources.reduce((s, x) => s + x.rows.length, 0);
  const inv = 1 / stats.inputScale[0];
  for (let j = 0; j < m; j++) {
    const row = W.subarray(j * d, j * d + d);
    if (init === 'data' && total > 0) {
      let pick = rng.nextInt(total);
      let src = 0;
      while (pick >= sources[src].rows.length) pick -= sources[src++].rows.length;
      const o = sources[src].rows[pick] * d;
      for (let c = 0; c < d; c++)
        row[c] = (sources[src].emb[o + c] - stats.bPre[c]) * inv + 0.01 * rng.normal();
    } else {
      fillNormal(row, rng, 1);
    }
    let s = 0;
    for (let c = 0; c < d; c++) s += row[c] * row[c];
    const f = norm / Math.sqrt(s || 1);
    for (let c = 0; c < d; c++) row[c] *= f;
  }
  return {
    kind: 'sae',
    config: { ...config },
    params: { W, bEnc: new Float32Array(m), bPre: stats.bPre.slice(), inputScale: stats.inputScale.slice() },
  };
}
