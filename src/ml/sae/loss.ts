import type { PairScorer } from '../models/types.ts';
import type { DenseKernel } from '../nn/dense-kernel.ts';
import {
  allocSparseCodes,
  decodeSparseRow,
  encodeSparse,
  keepBatchTopK,
  normaliseRows,
  type SparseCodes,
} from './sparse.ts';
import type { Sae, SaePair } from './types.ts';

/**
 * The SAE's training objective on one batch, term by term, with hand-derived gradients:
 *
 *   L = α·L_emb + β·L_pred + λ1·L_1 + λ2·L_KL
 *
 * - L_emb  = Σ_side mean_rows Σ_prefix ‖x̂ − x̃'_prefix‖²  (normalised input space; one prefix = the whole
 *   dictionary without Matryoshka; each Matryoshka prefix reconstructs on its own and the losses add up).
 * - L_pred = mean_pairs (s(ũ, ĩ) − s(u, i))² · predScale, s the frozen scorer (MF: dot + biases; NCF: the
 *   MLP logit), ũ, ĩ reconstructed in the original space; back-propagated through `scoreWithGrad`.
 *   predScale = 1 / Var(s) makes β comparable across recommenders.
 * - L_1    = Σ_side mean_rows Σ_j z_j.
 * - L_KL   = Σ_j KL(ρ ‖ p_j) per SAE, with p_j = mean_rows tanh(z_j): tanh(z) is 0 when the neuron is off
 *   and → 1 when it fires strongly, so p_j is a differentiable stand-in for the activation rate (the
 *   indicator z_j > 0 has zero gradient everywhere).
 *
 * Gradients flow into W through both the encoder (pre-activation) and the tied decoder, and into bEnc;
 * bPre and inputScale are fixed statistics of the data.
 */
export interface LossWeights {
  alpha: number;
  beta: number;
  l1: number;
  kl: number;
  rho: number;
  predScale: number;
  /** Matryoshka prefix sizes, ascending, last = latents; [latents] without nesting. */
  prefixes: number[];
  /** BatchTopK: mean active latents per row of each side's batch (absent = per-row TopK/ReLU only). */
  batchK?: { user: number; item: number };
}

export interface LossParts {
  emb: number;
  pred: number;
  l1: number;
  kl: number;
  total: number;
}

export interface SaeGrads {
  W: Float32Array;
  bEnc: Float32Array;
}

/** A batch: user and item rows (indices into the embedding tables) and (user, item) pairs by position. */
export interface SaeBatch {
  users: Int32Array;
  items: Int32Array;
  pairU: Int32Array; // [P] positions into `users`
  pairI: Int32Array; // [P] positions into `items`
  /** Leading rows of `items` that are the epoch's own slice (the rest were appended for L_pred pairs). */
  baseItems?: number;
}

export interface SaeLossInput {
  userEmb: Float32Array;
  itemEmb: Float32Array;
  scorer: PairScorer;
  /** Computes the encoder's pre-activations (default: the Float32Array loops). */
  kernel?: DenseKernel;
}

/** One side of a batch after the forward pass, plus its gradient buffers. */
export interface SideState {
  sae: Sae;
  n: number;
  xh: Float32Array; // [n × d] normalised inputs
  codes: SparseCodes;
  dz: Float32Array; // [n × cap] ∂L/∂z for the active latents
  dRecon: Float32Array; // [n × d] ∂L/∂x̃' (normalised space), from L_pred
  grads: SaeGrads;
}

export function allocGrads(sae: Sae): SaeGrads {
  return { W: new Float32Array(sae.params.W.length), bEnc: new Float32Array(sae.params.bEnc.length) };
}

export function forwardSide(
  sae: Sae,
  emb: Float32Array,
  rows: Int32Array,
  grads: SaeGrads,
  batchK?: number,
  kernel?: DenseKernel,
): SideState {
  const n = rows.length;
  const d = sae.config.inputDim;
  const xh = new Float32Array(n * d);
  normaliseRows(sae, emb, rows, xh);
  const codes = allocSparseCodes(n, sae);
  encodeSparse(sae, xh, n, codes, kernel);
  if (batchK !== undefined) keepBatchTopK(codes, Math.round(batchK * n));
  return { sae, n, xh, codes, dz: new Float32Array(n * codes.cap), dRecon: new Float32Array(n * d), grads };
}

/** α · mean_rows Σ_prefix ‖x̂ − x̃'_prefix‖²; adds its gradient to dz and to W's decoder part. */
export function embLoss(side: SideState, prefixes: number[], alpha: number): number {
  if (side.n === 0 || alpha === 0) return 0;
  const { sae, codes, xh, dz, grads } = side;
  const d = sae.config.inputDim;
  const W = sae.params.W;
  const rec = new Float64Array(d);
  const g = new Float64Array(d);
  const w = alpha / side.n;
  let loss = 0;
  for (let r = 0; r < side.n; r++) {
    const co = r * codes.cap;
    for (const prefix of prefixes) {
      decodeSparseRow(sae, codes, r, prefix, rec);
      for (let c = 0; c < d; c++) {
        const e = rec[c] - xh[r * d + c];
        loss += w * e * e;
        g[c] = 2 * w * e;
      }
      for (let a = 0; a < codes.count[r]; a++) {
        const j = codes.idx[co + a];
        if (j >= prefix) continue;
        const z = codes.val[co + a];
        const wo = j * d;
        let dot = 0;
        for (let c = 0; c < d; c++) {
          dot += W[wo + c] * g[c];
          grads.W[wo + c] += z * g[c];
        }
        dz[co + a] += dot;
      }
    }
  }
  return loss;
}

/**
 * β · predScale · mean_pairs (s(ũ, ĩ) − s(u, i))²; adds its gradient (through the frozen scorer) to the
 * sides' dRecon.
 */
export function predLoss(
  scorer: PairScorer,
  userEmb: Float32Array,
  itemEmb: Float32Array,
  us: SideState,
  is: SideState,
  users: Int32Array,
  items: Int32Array,
  pairU: Int32Array,
  pairI: Int32Array,
  beta: number,
  predScale: number,
): number {
  const P = pairU.length;
  if (P === 0 || beta === 0) return 0;
  const d = us.sae.config.inputDim;
  const uRec = reconstructRows(us);
  const iRec = reconstructRows(is);
  const uOrig = new Float32Array(d);
  const iOrig = new Float32Array(d);
  const uVec = new Float32Array(d);
  const iVec = new Float32Array(d);
  const gU = new Float32Array(d);
  const gI = new Float32Array(d);
  const w = (beta * predScale) / P;
  const su = us.sae.params.inputScale[0];
  const si = is.sae.params.inputScale[0];
  let loss = 0;
  for (let q = 0; q < P; q++) {
    const pu = pairU[q];
    const pi = pairI[q];
    const u = users[pu];
    const i = items[pi];
    uOrig.set(userEmb.subarray(u * d, u * d + d));
    iOrig.set(itemEmb.subarray(i * d, i * d + d));
    uVec.set(uRec.subarray(pu * d, pu * d + d));
    iVec.set(iRec.subarray(pi * d, pi * d + d));
    const s0 = scorer.score(u, i, uOrig, iOrig);
    gU.fill(0);
    gI.fill(0);
    const s1 = scorer.scoreWithGrad(u, i, uVec, iVec, 1, gU, gI);
    const diff = s1 - s0;
    loss += w * diff * diff;
    const ds = 2 * w * diff;
    for (let c = 0; c < d; c++) {
      us.dRecon[pu * d + c] += ds * gU[c] * su;
      is.dRecon[pi * d + c] += ds * gI[c] * si;
    }
  }
  return loss;
}

/** Reconstructions of a side's rows in the original embedding space: inputScale · Σ z W + bPre. */
export function reconstructRows(side: SideState): Float32Array {
  const { sae, codes, n } = side;
  const d = sae.config.inputDim;
  const { bPre, inputScale } = sae.params;
  const out = new Float32Array(n * d);
  const rec = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    decodeSparseRow(sae, codes, r, sae.config.latents, rec);
    for (let c = 0; c < d; c++) out[r * d + c] = rec[c] * inputScale[0] + bPre[c];
  }
  return out;
}

/** λ1 · mean_rows Σ_j z_j; adds λ1/n to dz of every active latent. */
export function l1Loss(side: SideState, l1: number): number {
  if (side.n === 0 || l1 === 0) return 0;
  const { codes, dz } = side;
  const w = l1 / side.n;
  let loss = 0;
  for (let r = 0; r < side.n; r++) {
    const co = r * codes.cap;
    for (let a = 0; a < codes.count[r]; a++) {
      loss += w * codes.val[co + a];
      dz[co + a] += w;
    }
  }
  return loss;
}

const P_MIN = 1e-6;

/** λ2 · Σ_j KL(ρ ‖ p_j) over all rows through one SAE (both sides when shared); adds to dz. */
export function klLoss(sides: SideState[], latents: number, rho: number, kl: number): number {
  const N = sides.reduce((s, x) => s + x.n, 0);
  if (N === 0 || kl === 0) return 0;
  const p = new Float64Array(latents);
  for (const side of sides) {
    const { codes } = side;
    for (let r = 0; r < side.n; r++) {
      const co = r * codes.cap;
      for (let a = 0; a < codes.count[r]; a++) p[codes.idx[co + a]] += Math.tanh(codes.val[co + a]) / N;
    }
  }
  let loss = 0;
  const dp = new Float64Array(latents);
  for (let j = 0; j < latents; j++) {
    const clamped = p[j] < P_MIN || p[j] > 1 - P_MIN;
    const pj = Math.min(1 - P_MIN, Math.max(P_MIN, p[j]));
    loss += kl * (rho * Math.log(rho / pj) + (1 - rho) * Math.log((1 - rho) / (1 - pj)));
    dp[j] = clamped ? 0 : kl * (-rho / pj + (1 - rho) / (1 - pj));
  }
  for (const side of sides) {
    const { codes, dz } = side;
    for (let r = 0; r < side.n; r++) {
      const co = r * codes.cap;
      for (let a = 0; a < codes.count[r]; a++) {
        const t = Math.tanh(codes.val[co + a]);
        dz[co + a] += (dp[codes.idx[co + a]] * (1 - t * t)) / N;
      }
    }
  }
  return loss;
}

/** Back-propagates dRecon (decoder) and dz (encoder) of one side into its SAE's gradients. */
export function backwardSide(side: SideState): void {
  const { sae, codes, xh, dz, dRecon, grads } = side;
  const d = sae.config.inputDim;
  const W = sae.params.W;
  for (let r = 0; r < side.n; r++) {
    const co = r * codes.cap;
    const ro = r * d;
    for (let a = 0; a < codes.count[r]; a++) {
      const j = codes.idx[co + a];
      const z = codes.val[co + a];
      const wo = j * d;
      let dot = 0;
      for (let c = 0; c < d; c++) {
        const g = dRecon[ro + c];
        dot += W[wo + c] * g;
        grads.W[wo + c] += z * g;
      }
      const dzj = dz[co + a] + dot;
      for (let c = 0; c < d; c++) grads.W[wo + c] += dzj * xh[ro + c];
      grads.bEnc[j] += dzj;
    }
  }
}

/**
 * The full objective on one batch. Zeroes and fills `grads` (one entry per distinct SAE of the pair);
 * returns the loss terms and the forward states (for activation statistics).
 */
export function saeLoss(
  pair: SaePair,
  input: SaeLossInput,
  batch: SaeBatch,
  w: LossWeights,
  grads: Map<Sae, SaeGrads>,
): { parts: LossParts; user: SideState; item: SideState } {
  for (const g of grads.values()) {
    g.W.fill(0);
    g.bEnc.fill(0);
  }
  const forward = (sae: Sae, emb: Float32Array, rows: Int32Array, batchK?: number) =>
    forwardSide(sae, emb, rows, grads.get(sae)!, batchK, input.kernel);
  const user = forward(pair.user, input.userEmb, batch.users, w.batchK?.user);
  const item = forward(pair.item, input.itemEmb, batch.items, w.batchK?.item);
  const emb = embLoss(user, w.prefixes, w.alpha) + embLoss(item, w.prefixes, w.alpha);
  const pred = predLoss(
    input.scorer,
    input.userEmb,
    input.itemEmb,
    user,
    item,
    batch.users,
    batch.items,
    batch.pairU,
    batch.pairI,
    w.beta,
    w.predScale,
  );
  const l1 = l1Loss(user, w.l1) + l1Loss(item, w.l1);
  const latents = pair.user.config.latents;
  const kl = pair.shared
    ? klLoss([user, item], latents, w.rho, w.kl)
    : klLoss([user], latents, w.rho, w.kl) + klLoss([item], pair.item.config.latents, w.rho, w.kl);
  backwardSide(user);
  backwardSide(item);
  return { parts: { emb, pred, l1, kl, total: emb + pred + l1 + kl }, user, item };
}
