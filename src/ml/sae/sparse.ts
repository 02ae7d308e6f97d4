import { type DenseKernel, jsKernel, KERNEL_ROWS } from '../nn/dense-kernel.ts';
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

/** One code's nonzero entries: ascending latent indices and their activations. */
export interface SparseCode {
  idx: Int32Array;
  val: Float32Array;
}

/** The nonzero entries of a dense code [latents]. */
export function sparseCode(code: Float32Array): SparseCode {
  let n = 0;
  for (let j = 0; j < code.length; j++) if (code[j] !== 0) n++;
  const out = { idx: new Int32Array(n), val: new Float32Array(n) };
  for (let j = 0, w = 0; j < code.length; j++)
    if (code[j] !== 0) {
      out.idx[w] = j;
      out.val[w++] = code[j];
    }
  return out;
}

/**
 * Codes for n rows holding up to `cap` latents each. `encodeSparse` keeps the `cap` strongest (its TopK),
 * so the default is the encoder's own k; inference with pursuit passes `codeCapacity(sae)`.
 */
export function allocSparseCodes(n: number, sae: Sae, cap = encoderCapacity(sae)): SparseCodes {
  return { n, cap, idx: new Int32Array(n * cap), val: new Float32Array(n * cap), count: new Int32Array(n) };
}

/** Latents the encoder keeps per row: k for TopK, all for ReLU. */
export function encoderCapacity(sae: Sae): number {
  const { latents, activation, k } = sae.config;
  return activation === 'topk' && k !== undefined ? Math.min(k, latents) : latents;
}

/** Latents a served code may hold: pursuit's k when the config codes by pursuit, else the encoder's. */
export function codeCapacity(sae: Sae): number {
  const p = sae.config.pursuit;
  return p ? Math.min(p.k, sae.config.latents) : encoderCapacity(sae);
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
 * model.ts (ReLU, then the k largest, ties to the lower index). A `kernel` other than the loops computes
 * the pre-activations in one product (training batches; its float32 sums may round differently).
 */
export function encodeSparse(
  sae: Sae,
  xh: Float32Array,
  n: number,
  codes: SparseCodes,
  kernel: DenseKernel = jsKernel,
): void {
  const { inputDim: d, latents: m } = sae.config;
  const { W, bEnc } = sae.params;
  const thr = sae.config.threshold ?? 0;
  if (kernel !== jsKernel) {
    // At most KERNEL_ROWS rows a call: bounds this buffer and the kernel's own (a user-heavy catalogue's
    // batches have thousands of rows), so the job memory estimate holds.
    const rows = Math.min(n, KERNEL_ROWS);
    if (kernelPre.length < rows * m) kernelPre = new Float32Array(rows * m);
    for (let r0 = 0; r0 < n; r0 += KERNEL_ROWS) {
      const len = Math.min(KERNEL_ROWS, n - r0);
      kernel.linear(xh.subarray(r0 * d, (r0 + len) * d), W, bEnc, len, m, d, kernelPre);
      for (let q = 0; q < len; q++) selectActive(kernelPre, q * m, m, codes, r0 + q, thr);
    }
    return;
  }
  const pre = new Float32Array(4 * m);
  // Four rows at a time: each encoder row is loaded once per block (the hot loop of SAE training).
  for (let r0 = 0; r0 < n; r0 += 4) {
    const rows = Math.min(4, n - r0);
    const o0 = r0 * d;
    const o1 = rows > 1 ? o0 + d : o0;
    const o2 = rows > 2 ? o0 + 2 * d : o0;
    const o3 = rows > 3 ? o0 + 3 * d : o0;
    for (let j = 0; j < m; j++) {
      const b = bEnc[j];
      let a0 = b;
      let a1 = b;
      let a2 = b;
      let a3 = b;
      const wo = j * d;
      for (let c = 0; c < d; c++) {
        const w = W[wo + c];
        a0 += w * xh[o0 + c];
        a1 += w * xh[o1 + c];
        a2 += w * xh[o2 + c];
        a3 += w * xh[o3 + c];
      }
      pre[j] = a0;
      pre[m + j] = a1;
      pre[2 * m + j] = a2;
      pre[3 * m + j] = a3;
    }
    for (let q = 0; q < rows; q++) selectActive(pre, q * m, m, codes, r0 + q, thr);
  }
}

/** Pre-activations [≤ KERNEL_ROWS × latents] of a kernel call, reused (encoding is synchronous). */
let kernelPre = new Float32Array(0);

/** ReLU, then (TopK) the `cap` largest, strongest first; a later index never displaces an equal value. */
function selectActive(
  pre: Float32Array,
  off: number,
  m: number,
  codes: SparseCodes,
  r: number,
  thr: number,
): void {
  const cap = codes.cap;
  const co = r * cap;
  const { idx, val } = codes;
  let cnt = 0;
  if (cap >= m) {
    for (let j = 0; j < m; j++) {
      const v = pre[off + j];
      if (v > thr) {
        idx[co + cnt] = j;
        val[co + cnt++] = v;
      }
    }
  } else {
    // One comparison per latent against a running cut — the ReLU threshold, then, once the list is full,
    // its weakest entry too: almost every latent fails it, a branch the CPU predicts (two tests, one of
    // them true half the time, cost three times as much).
    let cut = thr;
    for (let j = 0; j < m; j++) {
      const v = pre[off + j];
      // !(v > cut), not v <= cut: a NaN pre-activation is inactive here as on the path above.
      if (!(v > cut)) continue;
      let p = cnt < cap ? cnt++ : cap - 1;
      while (p > 0 && val[co + p - 1] < v) {
        val[co + p] = val[co + p - 1];
        idx[co + p] = idx[co + p - 1];
        p--;
      }
      val[co + p] = v;
      idx[co + p] = j;
      if (cnt === cap) cut = Math.max(thr, val[co + cap - 1]);
    }
  }
  codes.count[r] = cnt;
}

/**
 * BatchTopK: keeps the `budget` largest activations over all rows of a batch (each row's list is sorted,
 * so this is a threshold on the merged lists), truncating every row's list in place.
 */
export function keepBatchTopK(codes: SparseCodes, budget: number): void {
  let total = 0;
  for (let r = 0; r < codes.n; r++) total += codes.count[r];
  if (total <= budget) return;
  const all = new Float32Array(total);
  let t = 0;
  for (let r = 0; r < codes.n; r++)
    for (let a = 0; a < codes.count[r]; a++) all[t++] = codes.val[r * codes.cap + a];
  all.sort();
  const thr = all[total - budget]; // the budget-th largest; keep values ≥ it (ties may keep a few more)
  for (let r = 0; r < codes.n; r++) {
    let c = 0;
    while (c < codes.count[r] && codes.val[r * codes.cap + c] >= thr) c++;
    codes.count[r] = c;
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
