/**
 * Non-negative least squares on a few atoms, exactly (Lawson–Hanson active set):
 *
 *   min ‖x − Σ_a c_a w_{S_a}‖²  subject to c ≥ 0
 *
 * over the normal equations G c = b (G = Gram matrix of the atoms [size × size], b = their dot products
 * with x). The passive set's system is solved by Cholesky each step; size ≤ a few dozen.
 */
/** States of an atom in the active-set loop. */
const OUT = 0;
const IN = 1;
const DEPENDENT = 2;

export interface NnlsWork {
  gram: Float64Array; // [cap × cap]
  rhs: Float64Array; // [cap]
  passive: Uint8Array; // [cap]
  trial: Float64Array; // [cap]
  chol: Float64Array; // [cap × cap]
  idx: Int32Array; // [cap]
  y: Float64Array; // [cap]
}

export function nnlsWork(cap: number): NnlsWork {
  return {
    gram: new Float64Array(cap * cap),
    rhs: new Float64Array(cap),
    passive: new Uint8Array(cap),
    trial: new Float64Array(cap),
    chol: new Float64Array(cap * cap),
    idx: new Int32Array(cap),
    y: new Float64Array(cap),
  };
}

/**
 * Coefficients for the first `size` atoms of `support` (rows of W [· × d]) into `coef` [≥ size]; the
 * optimum satisfies KKT: c_a > 0 ⇒ gradient 0, c_a = 0 ⇒ (b − G c)_a ≤ tol.
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
  const { gram: G, rhs: b, passive, trial } = work;
  let scale = 0;
  for (let a = 0; a < size; a++) {
    const oa = support[a] * d;
    for (let e = a; e < size; e++) {
      const oe = support[e] * d;
      let q = 0;
      for (let c = 0; c < d; c++) q += W[oa + c] * W[oe + c];
      G[a * size + e] = q;
      G[e * size + a] = q;
    }
    let q = 0;
    for (let c = 0; c < d; c++) q += W[oa + c] * x[c];
    b[a] = q;
    scale = Math.max(scale, G[a * size + a]);
  }
  const tol = 1e-12 * Math.max(scale, 1e-300);
  coef.fill(0, 0, size);
  passive.fill(0, 0, size);
  for (let outer = 0; outer < 3 * size + 3; outer++) {
    // The zero coefficient whose gradient most wants to rise enters the passive set.
    let enter = -1;
    let best = tol;
    for (let a = 0; a < size; a++) {
      if (passive[a] !== OUT) continue;
      let g = b[a];
      for (let e = 0; e < size; e++) g -= G[a * size + e] * coef[e];
      if (g > best) {
        best = g;
        enter = a;
      }
    }
    if (enter < 0) return;
    passive[enter] = IN;
    for (let inner = 0; inner <= size; inner++) {
      if (!solvePassive(G, b, size, passive, trial, work)) {
        passive[enter] = DEPENDENT; // numerically a combination of the passive atoms: never again
        break;
      }
      let feasible = true;
      for (let a = 0; a < size; a++) if (passive[a] === IN && trial[a] <= 0) feasible = false;
      if (feasible) {
        for (let a = 0; a < size; a++) coef[a] = passive[a] === IN ? trial[a] : 0;
        break;
      }
      // Step towards the trial point until the first passive coefficient hits zero; drop those at zero.
      let alpha = 1;
      for (let a = 0; a < size; a++)
        if (passive[a] === IN && trial[a] <= 0) alpha = Math.min(alpha, coef[a] / (coef[a] - trial[a]));
      for (let a = 0; a < size; a++) {
        if (passive[a] !== IN) continue;
        coef[a] += alpha * (trial[a] - coef[a]);
        if (coef[a] <= 1e-15) {
          coef[a] = 0;
          passive[a] = OUT;
        }
      }
    }
  }
}

/** trial_P = G_PP⁻¹ b_P by Cholesky (false when G_PP is not positive definite); trial elsewhere 0. */
function solvePassive(
  G: Float64Array,
  b: Float64Array,
  size: number,
  passive: Uint8Array,
  trial: Float64Array,
  work: NnlsWork,
): boolean {
  const { chol: L, idx, y } = work;
  let p = 0;
  for (let a = 0; a < size; a++) if (passive[a] === IN) idx[p++] = a;
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = G[idx[i] * size + idx[j]];
      for (let k = 0; k < j; k++) s -= L[i * p + k] * L[j * p + k];
      if (i === j) {
        if (!(s > 1e-12 * G[idx[i] * size + idx[i]])) return false;
        L[i * p + i] = Math.sqrt(s);
      } else L[i * p + j] = s / L[j * p + j];
    }
  }
  trial.fill(0, 0, size);
  for (let i = 0; i < p; i++) {
    let s = b[idx[i]];
    for (let k = 0; k < i; k++) s -= L[i * p + k] * y[k];
    y[i] = s / L[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < p; k++) s -= L[k * p + i] * trial[idx[k]];
    trial[idx[i]] = s / L[i * p + i];
  }
  return true;
}
