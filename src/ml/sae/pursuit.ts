import { allocSparseCodes, encodeSparse, type SparseCodes } from './sparse.ts';
import type { PursuitConfig, Sae } from './types.ts';

/**
 * Inference-time coding over the trained tied dictionary: non-negative orthogonal matching pursuit.
 *
 * The tied TopK encoder is a one-shot coder: its code reconstructs x as Σ_{j∈S} (w_j·x̂ + b_j)·w_j, an
 * affine map of rank |S| on each active set, far from the best |S|-sparse code when atoms are coherent
 * (1024 directions in 20 dimensions). Pursuit keeps the same atoms (the same neurons, labels and decoder)
 * and finds the code greedily instead: pick the atom best aligned with the residual, refit every chosen
 * coefficient by non-negative least squares, repeat up to k atoms. `pool > 0` restricts the choice to the
 * encoder's `pool` strongest latents of the row, so a code only uses neurons the encoder itself finds
 * relevant (this keeps concepts clean; see README.md for the measured trade-off).
 *
 * Codes stay non-negative (ReLU semantics) and are written strongest first, like encodeSparse.
 */
export function pursueSparse(
  sae: Sae,
  xh: Float32Array,
  n: number,
  codes: SparseCodes,
  p: PursuitConfig,
): void {
  const { inputDim: d, latents: m } = sae.config;
  const W = sae.params.W;
  const invNorm = atomInverseNorms(W, m, d);
  const pool = p.pool > 0 && p.pool < m ? poolCodes(sae, p.pool, n) : null;
  if (pool) encodeSparse(pool.sae, xh, n, pool.codes);
  const k = Math.min(p.k, codes.cap);
  const support = new Int32Array(k);
  const coef = new Float64Array(k);
  const work = nnlsWork(k);
  const residual = new Float64Array(d);
  const x = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d; c++) x[c] = xh[r * d + c];
    residual.set(x);
    const candidates = pool
      ? pool.codes.idx.subarray(r * pool.codes.cap, r * pool.codes.cap + pool.codes.count[r])
      : null;
    let size = 0;
    while (size < k) {
      const j = bestAtom(W, d, m, invNorm, residual, candidates, support, size);
      if (j < 0) break;
      support[size++] = j;
      nnls(W, d, support, size, x, coef, work);
      for (let c = 0; c < d; c++) {
        let v = x[c];
        for (let a = 0; a < size; a++) v -= coef[a] * W[support[a] * d + c];
        residual[c] = v;
      }
    }
    writeCode(codes, r, support, coef, size);
  }
}

/** 1/‖w_j‖ per atom (0 for a zero atom, which then never wins). */
function atomInverseNorms(W: Float32Array, m: number, d: number): Float64Array {
  const out = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    let q = 0;
    for (let c = 0; c < d; c++) q += W[j * d + c] * W[j * d + c];
    out[j] = q > 0 ? 1 / Math.sqrt(q) : 0;
  }
  return out;
}

/** The encoder's top-`pool` latents per row (a TopK copy of the config, same weights). */
function poolCodes(sae: Sae, pool: number, n: number): { sae: Sae; codes: SparseCodes } {
  const { pursuit: _p, threshold: _t, ...config } = sae.config;
  const poolSae: Sae = { ...sae, config: { ...config, activation: 'topk', k: pool } };
  return { sae: poolSae, codes: allocSparseCodes(n, poolSae) };
}

/** The atom (among `candidates`, or all) with the largest positive normalised correlation; −1 if none. */
function bestAtom(
  W: Float32Array,
  d: number,
  m: number,
  invNorm: Float64Array,
  residual: Float64Array,
  candidates: Int32Array | null,
  chosen: Int32Array,
  size: number,
): number {
  let best = -1;
  let bestValue = 1e-12;
  const count = candidates ? candidates.length : m;
  outer: for (let t = 0; t < count; t++) {
    const j = candidates ? candidates[t] : t;
    let q = 0;
    const o = j * d;
    for (let c = 0; c < d; c++) q += W[o + c] * residual[c];
    q *= invNorm[j];
    if (q <= bestValue) continue;
    for (let a = 0; a < size; a++) if (chosen[a] === j) continue outer;
    best = j;
    bestValue = q;
  }
  return best;
}

interface NnlsWork {
  gram: Float64Array; // [k × k]
  rhs: Float64Array; // [k]
}

function nnlsWork(k: number): NnlsWork {
  return { gram: new Float64Array(k * k), rhs: new Float64Array(k) };
}

/**
 * min ‖x − Σ_a c_a w_{S_a}‖² subject to c ≥ 0, over the first `size` atoms of `support`, by projected
 * Gauss–Seidel on the normal equations (a few atoms: converges in tens of sweeps). Warm-starts from `coef`
 * (the previous support's solution; the new atom starts at 0).
 */
export function nnls(
  W: Float32Array,
  d: number,
  support: Int32Array,
  size: number,
  x: Float64Array,
  coef: Float64Array,
  work: NnlsWork = nnlsWork(size),
): void {
  const { gram, rhs } = work;
  for (let a = 0; a < size; a++) {
    const oa = support[a] * d;
    for (let b = a; b < size; b++) {
      const ob = support[b] * d;
      let q = 0;
      for (let c = 0; c < d; c++) q += W[oa + c] * W[ob + c];
      gram[a * size + b] = q;
      gram[b * size + a] = q;
    }
    let q = 0;
    for (let c = 0; c < d; c++) q += W[oa + c] * x[c];
    rhs[a] = q;
  }
  coef[size - 1] = 0;
  for (let sweep = 0; sweep < 200; sweep++) {
    let change = 0;
    for (let a = 0; a < size; a++) {
      const diag = gram[a * size + a];
      if (!(diag > 0)) {
        coef[a] = 0;
        continue;
      }
      let g = rhs[a];
      for (let b = 0; b < size; b++) if (b !== a) g -= gram[a * size + b] * coef[b];
      const v = Math.max(0, g / diag);
      change = Math.max(change, Math.abs(v - coef[a]));
      coef[a] = v;
    }
    if (change < 1e-9) break;
  }
}

/** Nonzero coefficients of one row into `codes`, strongest first (ties: lower latent index). */
function writeCode(
  codes: SparseCodes,
  r: number,
  support: Int32Array,
  coef: Float64Array,
  size: number,
): void {
  const order: number[] = [];
  for (let a = 0; a < size; a++) if (coef[a] > 0) order.push(a);
  order.sort((a, b) => coef[b] - coef[a] || support[a] - support[b]);
  const o = r * codes.cap;
  for (let t = 0; t < order.length; t++) {
    codes.idx[o + t] = support[order[t]];
    codes.val[o + t] = coef[order[t]];
  }
  codes.count[r] = order.length;
}
