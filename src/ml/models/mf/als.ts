import type { Csr } from '../../data/types.ts';

/**
 * Implicit-feedback alternating least squares (iALS, Hu/Koren/Volinsky 2008; regularisation as in
 * Rendle et al. 2022, "Revisiting the performance of iALS on item recommendation benchmarks";
 * popularity-weighted unobserved pairs as in eALS, He et al. 2016), with per-row solves by a few
 * warm-started conjugate-gradient steps (as in benfred/implicit).
 *
 * One half-sweep fixes one side's features F [nOther × D] and solves every row x of the other side for
 *
 *   Σ_j w_j (p_j − o_j − x·f_j)² + λ_row ‖x‖²,   w_j = w1 (observed, p_j = 1) or c_j (unobserved, p_j = 0)
 *
 * where o_j is a fixed per-column offset (the other side's bias, when biases are folded in as an extra
 * constant dimension) and the unobserved weight c depends either on the column j (solving users against
 * popularity-weighted items) or on the row (solving items, each with its own weight). Normal equations
 * A x = b:
 *
 *   A = Σ_j c_j f_j f_jᵀ + Σ_obs (w1 − c_j) f_j f_jᵀ + λ_row·I
 *   b = −Σ_j c_j o_j f_j + Σ_obs (w1 − (w1 − c_j)·o_j) f_j
 *
 * The weighted Gramian Σ_j c_j f_j f_jᵀ (and Σ_j c_j o_j f_j) is computed once per half-sweep — for row
 * weights, once unweighted and scaled per row — so a CG step costs O(D² + nnz_row·D) and never touches
 * the unobserved entries.
 */
export interface UnobservedWeights {
  by: 'column' | 'row';
  weights: Float64Array; // [nOther] for 'column', [n] for 'row'
}

export interface AlsSideInput {
  rows: Csr; // [n × nOther] observed positives of the side being solved
  features: Float64Array; // [nOther × D] fixed features of the other side (float64: no conversions in the hot loops)
  offsets: Float32Array | null; // [nOther] fixed additive score term per column, or none
  unobserved: UnobservedWeights;
  w1: number; // weight of observed pairs
  reg: Float64Array; // [n] λ per row
  cgSteps: number;
}

/** Scratch buffers for one dimension D, reused across half-sweeps. */
export class AlsWorkspace {
  readonly gram: Float64Array; // [D × D]
  readonly fo: Float64Array; // [D] Σ_j c_j o_j f_j
  readonly r: Float64Array;
  readonly p: Float64Array;
  readonly ap: Float64Array;
  readonly xv: Float64Array;
  constructor(readonly D: number) {
    this.xv = new Float64Array(D);
    this.gram = new Float64Array(D * D);
    this.fo = new Float64Array(D);
    this.r = new Float64Array(D);
    this.p = new Float64Array(D);
    this.ap = new Float64Array(D);
  }
}

/**
 * gram = Σ_j c_j f_j f_jᵀ and fo = Σ_j c_j o_j f_j, with c the column weights of `unobserved` (or 1 for
 * row weights, which `solveSide` applies per row).
 */
export function computeGramian(
  features: Float64Array,
  offsets: Float32Array | null,
  nOther: number,
  unobserved: UnobservedWeights,
  ws: AlsWorkspace,
): void {
  const { D, gram, fo } = ws;
  const col = unobserved.by === 'column' ? unobserved.weights : null;
  gram.fill(0);
  fo.fill(0);
  for (let j = 0; j < nOther; j++) {
    const off = j * D;
    const c = col ? col[j] : 1;
    const co = offsets ? c * offsets[j] : 0;
    for (let a = 0; a < D; a++) {
      const fa = features[off + a];
      fo[a] += fa * co;
      axpyAt(c * fa, features, off + a, gram, a * D + a, D - a); // upper triangle of row a
    }
  }
  for (let a = 0; a < D; a++) for (let b = a + 1; b < D; b++) gram[b * D + a] = gram[a * D + b];
}

/**
 * Updates every row of `x` [n × D] in place by `cgSteps` CG steps on its normal equations (after
 * `computeGramian` on the same features, offsets and weights). Returns Σ_rows (loss_row(x_old) − const),
 * i.e. the objective before the update up to the constant Σ w (p − o)², which the caller adds (see
 * `objectiveConstant`). Rows with no observations are still solved (towards a score of 0).
 */
export function solveSide(input: AlsSideInput, x: Float32Array, ws: AlsWorkspace): number {
  const { rows, features: f, offsets, w1, reg, cgSteps } = input;
  const byRow = input.unobserved.by === 'row';
  const c = input.unobserved.weights;
  const { D, gram, fo, r, p, ap, xv } = ws;
  const { indptr, indices } = rows;
  let lossBefore = 0;
  for (let u = 0; u < rows.rows; u++) {
    const xo = u * D;
    const lam = reg[u];
    const gs = byRow ? c[u] : 1; // scale of the Gramian for this row
    const dwRow = w1 - gs;
    const start = indptr[u];
    const end = indptr[u + 1];
    // r = b − A x = −gs·fo − (gs·G + λ) x + Σ_obs (w1 − dw_j·(o_j + f_j·x)) f_j,  dw_j = w1 − c_j
    let bx = 0; // b·x, for the objective
    for (let a = 0; a < D; a++) xv[a] = x[xo + a];
    for (let a = 0; a < D; a++) {
      r[a] = -(gs * (fo[a] + dotAt(gram, a * D, xv, D)) + lam * xv[a]);
      bx -= gs * fo[a] * xv[a];
    }
    for (let n = start; n < end; n++) {
      const j = indices[n];
      const fj = j * D;
      const dw = byRow ? dwRow : w1 - c[j];
      const dot = dotAt(f, fj, xv, D);
      const coef = offsets ? w1 - dw * offsets[j] : w1;
      bx += coef * dot;
      axpyAt(coef - dw * dot, f, fj, r, 0, D);
    }
    // loss(x) − const = xᵀAx − 2 bᵀx = xᵀ(b − r) − 2 bᵀx = −x·r − b·x
    let xr = 0;
    let rs = 0;
    for (let a = 0; a < D; a++) {
      xr += xv[a] * r[a];
      p[a] = r[a];
      rs += r[a] * r[a];
    }
    lossBefore += -xr - bx;
    for (let it = 0; it < cgSteps && rs > 1e-20; it++) {
      // ap = A p
      for (let a = 0; a < D; a++) ap[a] = gs * dotAt(gram, a * D, p, D) + lam * p[a];
      for (let n = start; n < end; n++) {
        const j = indices[n];
        const fj = j * D;
        const dw = byRow ? dwRow : w1 - c[j];
        axpyAt(dw * dotAt(f, fj, p, D), f, fj, ap, 0, D);
      }
      let pap = 0;
      for (let a = 0; a < D; a++) pap += p[a] * ap[a];
      if (pap <= 0) break;
      const alpha = rs / pap;
      let rsNew = 0;
      for (let a = 0; a < D; a++) {
        x[xo + a] += alpha * p[a];
        const ra = r[a] - alpha * ap[a];
        r[a] = ra;
        rsNew += ra * ra;
      }
      const beta = rsNew / rs;
      for (let a = 0; a < D; a++) p[a] = r[a] + beta * p[a];
      rs = rsNew;
    }
  }
  return lossBefore;
}

/** Σ_rows Σ_j w (p − o)² for the offsets of the solved side's columns: the part `solveSide` omits. */
export function objectiveConstant(
  rows: Csr,
  offsets: Float32Array | null,
  unobserved: UnobservedWeights,
  w1: number,
): number {
  const nnz = rows.indptr[rows.rows];
  if (!offsets) return nnz * w1;
  const byRow = unobserved.by === 'row';
  const c = unobserved.weights;
  let sumO2 = 0; // Σ_j o_j², or Σ_j c_j o_j² for column weights
  for (let j = 0; j < rows.cols; j++) sumO2 += (byRow ? 1 : c[j]) * offsets[j] * offsets[j];
  let total = 0;
  for (let u = 0; u < rows.rows; u++) {
    total += (byRow ? c[u] : 1) * sumO2;
    for (let n = rows.indptr[u]; n < rows.indptr[u + 1]; n++) {
      const j = rows.indices[n];
      const o = offsets[j];
      total += w1 * (1 - o) * (1 - o) - (byRow ? c[u] : c[j]) * o * o;
    }
  }
  return total;
}

// The two hot kernels, unrolled by 4 (V8 does not vectorise; this halves the loop overhead).

/** f[at .. at+D) · v */
function dotAt(f: Float64Array, at: number, v: Float64Array, D: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let a = 0;
  for (; a + 3 < D; a += 4) {
    s0 += f[at + a] * v[a];
    s1 += f[at + a + 1] * v[a + 1];
    s2 += f[at + a + 2] * v[a + 2];
    s3 += f[at + a + 3] * v[a + 3];
  }
  for (; a < D; a++) s0 += f[at + a] * v[a];
  return s0 + s1 + (s2 + s3);
}

/** out[outAt .. outAt+n) += c · f[at .. at+n) */
function axpyAt(c: number, f: Float64Array, at: number, out: Float64Array, outAt: number, n: number): void {
  let a = 0;
  for (; a + 3 < n; a += 4) {
    out[outAt + a] += c * f[at + a];
    out[outAt + a + 1] += c * f[at + a + 1];
    out[outAt + a + 2] += c * f[at + a + 2];
    out[outAt + a + 3] += c * f[at + a + 3];
  }
  for (; a < n; a++) out[outAt + a] += c * f[at + a];
}
