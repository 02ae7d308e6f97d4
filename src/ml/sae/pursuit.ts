import { nnls, nnlsWork } from './nnls.ts';
import { allocSparseCodes, encodeSparse, type SparseCodes } from './sparse.ts';
import type { PursuitConfig, Sae } from './types.ts';

/**
 * Inference-time coding over the trained tied dictionary: non-negative orthogonal matching pursuit.
 *
 * The tied TopK encoder is a one-shot coder: its code reconstructs x as Σ_{j∈S} (w_j·x̂ + b_j)·w_j, an
 * affine map of rank |S| on each active set, far from the best |S|-sparse code when atoms are coherent
 * (1024 directions in 20 dimensions). Pursuit keeps the same atoms (the same neurons, labels and decoder)
 * and finds the code greedily instead: pick the atom best aligned with the residual, refit every chosen
 * coefficient by non-negative least squares (nnls.ts), repeat up to k atoms. `pool > 0` restricts the
 * choice to the encoder's `pool` strongest latents of the row, so a code only uses neurons the encoder
 * itself finds relevant (this keeps concepts clean; see README.md for the measured trade-off).
 *
 * Codes stay non-negative (ReLU semantics) and are written strongest first, like encodeSparse; `codes`
 * must hold p.k latents per row (allocSparseCodes(n, sae, codeCapacity(sae))).
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
  if (codes.cap < Math.min(p.k, m))
    throw new RangeError(`pursuit: codes hold ${codes.cap} < k = ${p.k} latents`);
  const invNorm = atomInverseNorms(W, m, d);
  // The encoder's strongest `pool` latents per row (encodeSparse keeps `cap` of them).
  const pool = p.pool > 0 && p.pool < m ? allocSparseCodes(n, sae, p.pool) : null;
  if (pool) encodeSparse(sae, xh, n, pool);
  const k = Math.min(p.k, m);
  const support = new Int32Array(k);
  const coef = new Float64Array(k);
  const work = nnlsWork(k);
  const residual = new Float64Array(d);
  const x = new Float64Array(d);
  const tried = new Set<number>();
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < d; c++) x[c] = xh[r * d + c];
    residual.set(x);
    tried.clear();
    const candidates = pool ? pool.idx.subarray(r * pool.cap, r * pool.cap + pool.count[r]) : null;
    let size = 0;
    // Each pick either stays in the support or is refit to zero and never tried again; a pick budget
    // bounds the rare rows where refits keep zeroing atoms.
    for (let picks = 0; size < k && picks < 4 * k; picks++) {
      const j = bestAtom(W, d, m, invNorm, residual, candidates, tried);
      if (j < 0) break;
      tried.add(j);
      support[size++] = j;
      nnls(W, d, support, size, x, coef, work);
      size = dropZeros(support, coef, size);
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

/** The untried atom (among `candidates`, or all) with the largest positive normalised correlation; −1 if none. */
function bestAtom(
  W: Float32Array,
  d: number,
  m: number,
  invNorm: Float64Array,
  residual: Float64Array,
  candidates: Int32Array | null,
  tried: Set<number>,
): number {
  let best = -1;
  let bestValue = 1e-12;
  const count = candidates ? candidates.length : m;
  for (let t = 0; t < count; t++) {
    const j = candidates ? candidates[t] : t;
    let q = 0;
    const o = j * d;
    for (let c = 0; c < d; c++) q += W[o + c] * residual[c];
    q *= invNorm[j];
    if (q <= bestValue || tried.has(j)) continue;
    best = j;
    bestValue = q;
  }
  return best;
}

/** Removes the atoms whose coefficient is zero (as stored in float32), keeping the order; the new size. */
function dropZeros(support: Int32Array, coef: Float64Array, size: number): number {
  let w = 0;
  for (let a = 0; a < size; a++) {
    if (!(Math.fround(coef[a]) > 0)) continue;
    support[w] = support[a];
    coef[w++] = coef[a];
  }
  return w;
}

/** One row into `codes`, strongest first (ties: lower latent index). */
function writeCode(
  codes: SparseCodes,
  r: number,
  support: Int32Array,
  coef: Float64Array,
  size: number,
): void {
  const order = Array.from({ length: size }, (_, a) => a);
  order.sort((a, b) => coef[b] - coef[a] || support[a] - support[b]);
  const o = r * codes.cap;
  for (let t = 0; t < size; t++) {
    codes.idx[o + t] = support[order[t]];
    codes.val[o + t] = coef[order[t]];
  }
  codes.count[r] = size;
}
