import type { Sae } from './types.ts';

/**
 * Codes of a batch in sparse form (the active latents of each row), as training needs them: TopK keeps
 * k entries per row, so the backward pass only touches k encoder rows per input row.
 */
export interface SparseCodes {
  n: number;
  cap: number; // max active latents per row
  idx: Int32Array; // [n × cap] active latent indices, strongest first
  val: Float32Array; // [n × cap] their activations (> 0)
  count: Int32Array; // [n] active latents per row
}

export function allocSparseCodes(n: number, sae: Sae): SparseCodes {
  const { latents, activation, k } = sae.config;
  const cap = activation === 'topk' && k !== undefined ? Math.min(k, latents) : latents;
  return { n, cap, idx: new Int32Array(n * cap), val: new Float32Array(n * cap), count: new Int32Array(n) };
}

/** Gathers rows of emb [· × dim] and maps them into the SAE's input space: (x − bPre) / inputScale. */
export function normaliseRows(sae: Sae, emb: Float32Array, rows: ArrayLike<number>, out: Float32Array): void {
  const d = sae.config.inputDim;
  const { bPre, inputScale } = sae.params;
  const inv = 1 / inputScale[0];
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r] * d;
    const dst = r * d;
    for (let c = 0; c < d; c++) out[dst + c] = (emb[src + c] - bPre[c]) * inv;
  }
}

/**
 * Encodes n normalised rows xh [n × inputDim] into sparse codes; the same activations as `encode` in
 * model.ts (ReLU, then the k largest, ties to the lower index).
 */
export function encodeSparse(
  sae: Sae,
  xh: Float32Array,
  n: number,
  codes: SparseCodes,
  pre?: Float32Array,
): void {
  const { inputDim: d, latents: m } = sae.config;
  const { W, bEnc } = sae.params;
  const cap = codes.cap;
  const topk = cap < m;
  const s = pre ?? new Float32Array(m);
  for (let r = 0; r < n; r++) {
    const xo = r * d;
    for (let j = 0; j < m; j++) {
      let acc = bEnc[j];
      const wo = j * d;
      for (let c = 0; c < d; c++) acc += W[wo + c] * xh[xo + c];
      s[j] = Math.fround(acc);
    }
    const co = r * cap;
    let cnt = 0;
    if (!topk) {
      for (let j = 0; j < m; j++) {
        if (s[j] > 0) {
          codes.idx[co + cnt] = j;
          codes.val[co + cnt++] = s[j];
        }
      }
    } else {
      // Insertion into a descending list of length ≤ cap; a later index never displaces an equal value.
      for (let j = 0; j < m; j++) {
        const v = s[j];
        if (v <= 0 || (cnt === cap && v <= codes.val[co + cnt - 1])) continue;
        let p = cnt < cap ? cnt++ : cap - 1;
        while (p > 0 && codes.val[co + p - 1] < v) {
          codes.val[co + p] = codes.val[co + p - 1];
          codes.idx[co + p] = codes.idx[co + p - 1];
          p--;
        }
        codes.val[co + p] = v;
        codes.idx[co + p] = j;
      }
    }
    codes.count[r] = cnt;
  }
}

/** Decoder output in the normalised space for the active latents with index < prefix: Σ z_j W_j. */
export function decodeSparseRow(
  sae: Sae,
  codes: SparseCodes,
  r: number,
  prefix: number,
  out: Float64Array,
): void {
  const d = sae.config.inputDim;
  const W = sae.params.W;
  out.fill(0);
  const co = r * codes.cap;
  for (let a = 0; a < codes.count[r]; a++) {
    const j = codes.idx[co + a];
    if (j >= prefix) continue;
    const z = codes.val[co + a];
    const wo = j * d;
    for (let c = 0; c < d; c++) out[c] += z * W[wo + c];
  }
}
