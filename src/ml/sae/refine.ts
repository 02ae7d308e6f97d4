import type { Cancellation } from '../core/progress.ts';
import { atomFromRow, meanAtomNorm } from './atoms.ts';
import { pursueSparse } from './pursuit.ts';
import { allocSparseCodes, codeCapacity, normaliseRows, type SparseCodes } from './sparse.ts';
import type { Sae } from './types.ts';

/** Rows one SAE codes during refinement: rows of `emb` [· × inputDim], coded with `sae.config.pursuit`. */
export interface RefineSide {
  sae: Sae;
  emb: Float32Array;
  rows: Int32Array;
}

export interface RefineOptions {
  /** Code-then-update rounds. */
  rounds: number;
  /** Gauss–Seidel sweeps over the atoms per round. */
  sweeps: number;
  /**
   * Atoms that the codes of `side` use on fewer than `minFires` of its rows are re-initialised at that
   * side's worst-reconstructed rows (every round but the last, so the last one fits them), as the SAE's
   * own resampling does for the encoder: an atom no row uses is a dead neuron. The new atom points along
   * the row itself (not its residual), so the encoder ranks it first for that row and pursuit can pick it
   * from the row's pool.
   */
  resample?: { side: RefineSide; minFires: number };
  signal?: Cancellation;
}

/**
 * Adapts a trained tied dictionary to pursuit coding (alternating minimisation, the K-SVD dictionary
 * step): each round codes every row by pursuit, then moves every used atom to its least-squares optimum
 * with all codes held fixed, one atom at a time (so the loss never rises within a round). Every side must
 * share the same W (one shared SAE, or one side of a per-side pair). Returns the relative squared error
 * Σ‖x̂ − Wᵀz‖² / Σ‖x̂‖² (normalised space) after each round.
 */
export function refineDictionary(sides: RefineSide[], opts: RefineOptions): number[] {
  const W = sides[0].sae.params.W;
  if (sides.some((s) => s.sae.params.W !== W)) throw new Error('refineDictionary: sides must share W');
  const { inputDim: d, latents: m } = sides[0].sae.config;
  const inputs = sides.map((s) => {
    const xh = new Float32Array(s.rows.length * d);
    normaliseRows(s.sae, s.emb, s.rows, xh);
    return xh;
  });
  let norm = 0; // Σ‖x̂‖², the same every round
  for (const xh of inputs) for (const v of xh) norm += v * v;
  const { resample } = opts;
  const resampleSide = resample ? sides.indexOf(resample.side) : -1;
  if (resample && resampleSide < 0) throw new Error('refineDictionary: resample.side must be one of sides');
  const errors: number[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    opts.signal?.throwIfAborted();
    const coded = sides.map((s, q) => {
      const n = s.rows.length;
      const codes = allocSparseCodes(n, s.sae, codeCapacity(s.sae));
      pursueSparse(s.sae, inputs[q], n, codes, pursuitOf(s.sae));
      return { codes, residual: residuals(W, d, inputs[q], codes) };
    });
    const uses = atomUses(
      coded.map((c) => c.codes),
      m,
    );
    for (let sweep = 0; sweep < opts.sweeps; sweep++) updateAtoms(W, d, m, coded, uses);
    let err = 0;
    for (const c of coded) for (const r of c.residual) err += r * r;
    errors.push(norm > 0 ? err / norm : 0);
    if (resample && round + 1 < opts.rounds) {
      const q = resampleSide;
      resampleUnused(sides[q].sae, coded[q].codes, inputs[q], coded[q].residual, resample.minFires);
    }
  }
  return errors;
}

function pursuitOf(sae: Sae) {
  const p = sae.config.pursuit;
  if (!p) throw new Error('refineDictionary: every side needs config.pursuit');
  return p;
}

/** x̂ − Wᵀz per row [n × d]. */
function residuals(W: Float32Array, d: number, xh: Float32Array, codes: SparseCodes): Float64Array {
  const r = Float64Array.from(xh);
  for (let i = 0; i < codes.n; i++) {
    const o = i * codes.cap;
    for (let a = 0; a < codes.count[i]; a++) {
      const z = codes.val[o + a];
      const wo = codes.idx[o + a] * d;
      for (let c = 0; c < d; c++) r[i * d + c] -= z * W[wo + c];
    }
  }
  return r;
}

/** For every atom, the (side, row, activation) entries that use it, as flat CSR arrays. */
interface AtomUses {
  start: Int32Array; // [m + 1]
  side: Int32Array;
  row: Int32Array;
  value: Float64Array;
}

function atomUses(all: SparseCodes[], m: number): AtomUses {
  const start = new Int32Array(m + 1);
  for (const codes of all)
    for (let i = 0; i < codes.n; i++)
      for (let a = 0; a < codes.count[i]; a++) start[codes.idx[i * codes.cap + a] + 1]++;
  for (let j = 0; j < m; j++) start[j + 1] += start[j];
  const total = start[m];
  const fill = start.slice(0, m);
  const side = new Int32Array(total);
  const row = new Int32Array(total);
  const value = new Float64Array(total);
  all.forEach((codes, q) => {
    for (let i = 0; i < codes.n; i++)
      for (let a = 0; a < codes.count[i]; a++) {
        const p = fill[codes.idx[i * codes.cap + a]]++;
        side[p] = q;
        row[p] = i;
        value[p] = codes.val[i * codes.cap + a];
      }
  });
  return { start, side, row, value };
}

/** One Gauss–Seidel sweep: w_j ← Σ z·(r + z·w_j) / Σ z² over the rows using atom j; residuals kept exact. */
function updateAtoms(
  W: Float32Array,
  d: number,
  m: number,
  coded: { residual: Float64Array }[],
  uses: AtomUses,
): void {
  const num = new Float64Array(d);
  let used = 0;
  let total = 0;
  for (let j = 0; j < m; j++) if (uses.start[j + 1] > uses.start[j]) used++;
  for (const z of uses.value) total += z * z;
  const minWeight = used > 0 ? (1e-3 * total) / used : 0;
  for (let j = 0; j < m; j++) {
    const s = uses.start[j];
    const e = uses.start[j + 1];
    if (s === e) continue;
    num.fill(0);
    let den = 0;
    const wo = j * d;
    for (let p = s; p < e; p++) {
      const r = coded[uses.side[p]].residual;
      const ro = uses.row[p] * d;
      const z = uses.value[p];
      for (let c = 0; c < d; c++) num[c] += z * (r[ro + c] + z * W[wo + c]);
      den += z * z;
    }
    // An atom used only with tiny coefficients would move by ~residual/z: leave such atoms alone.
    if (!(den > minWeight)) continue;
    for (let c = 0; c < d; c++) {
      const old = W[wo + c];
      W[wo + c] = num[c] / den;
      const delta = old - W[wo + c]; // of the stored (float32) value, so residuals stay exact
      for (let p = s; p < e; p++) coded[uses.side[p]].residual[uses.row[p] * d + c] += uses.value[p] * delta;
    }
  }
}

/** Atoms used by fewer than `minFires` rows → the worst-reconstructed rows' directions (scaled to the live atoms' mean norm). */
function resampleUnused(
  sae: Sae,
  codes: SparseCodes,
  xh: Float32Array,
  residual: Float64Array,
  minFires: number,
): number {
  const { inputDim: d, latents: m } = sae.config;
  const { W, bEnc } = sae.params;
  const fires = new Int32Array(m);
  for (let i = 0; i < codes.n; i++)
    for (let a = 0; a < codes.count[i]; a++) fires[codes.idx[i * codes.cap + a]]++;
  const unused: number[] = [];
  for (let j = 0; j < m; j++) if (fires[j] < minFires) unused.push(j);
  if (unused.length === 0 || unused.length === m) return 0;
  const liveNorm = meanAtomNorm(W, d, m, (j) => fires[j] >= minFires, 1);
  const err = Float64Array.from({ length: codes.n }, (_, i) => {
    let e = 0;
    for (let c = 0; c < d; c++) e += residual[i * d + c] ** 2;
    return e;
  });
  const worst = Array.from({ length: codes.n }, (_, i) => i).sort((a, b) => err[b] - err[a] || a - b);
  // One row per atom: with more unused atoms than rows, the rest stay as they are.
  const count = Math.min(unused.length, worst.length);
  for (let t = 0; t < count; t++) atomFromRow(W, bEnc, unused[t], xh, worst[t], d, liveNorm);
  return count;
}
