import { pursueSparse } from './pursuit.ts';
import { allocSparseCodes, codeCapacity, encodeSparse, normaliseRows, type SparseCodes } from './sparse.ts';
import type { Sae } from './types.ts';

/**
 * Codes of n normalised rows xh [n × inputDim]: the encoder's, or pursuit's when the config asks for it
 * (every inference path goes through here; training always uses the encoder).
 */
export function inferSparse(sae: Sae, xh: Float32Array, n: number, codes: SparseCodes): void {
  if (sae.config.pursuit) pursueSparse(sae, xh, n, codes, sae.config.pursuit);
  else encodeSparse(sae, xh, n, codes);
}

/**
 * Encodes n rows of x [n × inputDim] into codes [n × latents]. Pure; allocates the output unless
 * `out` is given. The encoder's codes (TopK keeps the k largest pre-activations after ReLU), or pursuit's
 * when the config codes by pursuit (pursuit.ts).
 */
export function encode(sae: Sae, x: Float32Array, n: number, out?: Float32Array): Float32Array {
  const { inputDim: d, latents: m } = sae.config;
  const z = out ?? new Float32Array(n * m);
  const block = 256;
  const rows = new Int32Array(block);
  const xh = new Float32Array(block * d);
  const codes = allocSparseCodes(block, sae, codeCapacity(sae));
  for (let r0 = 0; r0 < n; r0 += block) {
    const len = Math.min(block, n - r0);
    for (let q = 0; q < len; q++) rows[q] = r0 + q;
    normaliseRows(sae, x, rows.subarray(0, len), xh);
    inferSparse(sae, xh, len, codes);
    z.fill(0, r0 * m, (r0 + len) * m);
    for (let q = 0; q < len; q++) {
      const zo = (r0 + q) * m;
      const co = q * codes.cap;
      for (let a = 0; a < codes.count[q]; a++) z[zo + codes.idx[co + a]] = codes.val[co + a];
    }
  }
  return z;
}

/** Decodes codes z [n × latents] into x̃ [n × inputDim] with the tied decoder. */
export function decode(sae: Sae, z: Float32Array, n: number, out?: Float32Array): Float32Array {
  const { inputDim: d, latents: m } = sae.config;
  const { W, bPre, inputScale } = sae.params;
  const scale = inputScale[0];
  const x = out ?? new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const xo = r * d;
    for (let c = 0; c < d; c++) x[xo + c] = 0;
    const zo = r * m;
    for (let j = 0; j < m; j++) {
      const a = z[zo + j];
      if (a === 0) continue;
      const wo = j * d;
      for (let c = 0; c < d; c++) x[xo + c] += a * W[wo + c];
    }
    for (let c = 0; c < d; c++) x[xo + c] = x[xo + c] * scale + bPre[c];
  }
  return x;
}

/** Zeroes all but the k largest entries of z[off .. off+m). Ties keep the lower index. */
export function keepTopK(z: Float32Array, off: number, m: number, k: number): void {
  if (k <= 0) {
    z.fill(0, off, off + m);
    return;
  }
  // Threshold = k-th largest value, found by partial selection on a copy.
  const vals = z
    .slice(off, off + m)
    .sort()
    .reverse();
  const thr = vals[k - 1];
  if (thr <= 0) return; // fewer than k positive entries: ReLU already sparse enough
  let kept = 0;
  for (let j = 0; j < m; j++) {
    const v = z[off + j];
    if (v > thr) kept++;
  }
  let tiesAllowed = k - kept;
  for (let j = 0; j < m; j++) {
    const v = z[off + j];
    if (v > thr) continue;
    if (v === thr && tiesAllowed > 0) {
      tiesAllowed--;
      continue;
    }
    z[off + j] = 0;
  }
}

/** vec · W_j, decoder row j against a [dim] vector, summed in double precision in dimension order. */
export function decoderDot(vec: Float32Array, W: Float32Array, j: number, dim: number): number {
  let dot = 0;
  const wo = j * dim;
  for (let c = 0; c < dim; c++) dot += vec[c] * W[wo + c];
  return dot;
}
