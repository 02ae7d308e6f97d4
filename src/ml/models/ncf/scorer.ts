/**
 * NCF as a `PairScorer`: score = the pre-sigmoid logit of MLP(concat(u, i)).
 *
 * The first layer splits as W₁·[u; i] = W₁ᵤ·u + W₁ᵢ·i, so `scoreAll` computes the item half for every
 * item once (cached, keyed on the itemEmb array and a fingerprint of its contents, so in-place edits
 * are noticed) and each (user, item) pair then costs only the hidden layers. Those products go through
 * `kernel` (the loops unless given): scoring every item for every user is most of an NCF pipeline's CPU.
 */
import { type DenseKernel, jsKernel, KERNEL_ROWS } from '../../nn/dense-kernel.ts';
import { backwardToFirst, forwardFromFirst, MlpTape } from '../../nn/mlp.ts';
import { MlpBatch } from '../../nn/mlp-batch.ts';
import type { DenseLayer, NcfModel, PairScorer } from '../types.ts';

/** NCF's hidden layer widths unless told otherwise (the paper's 64→32→16). */
export const NCF_HIDDEN: readonly number[] = [64, 32, 16];

/** Items scored per blocked forward of the loops in `scoreAll` (a block's activations stay in cache). */
const LOOP_BLOCK = 128;

/** Item half of layer 1 for every item: out[i·H + o] = Σⱼ W₁[o, dim + j]·itemEmb[i·dim + j]. */
export function itemHalfOfFirstLayer(
  model: NcfModel,
  itemEmb: Float32Array,
  out?: Float32Array,
): Float32Array {
  const { dim } = model;
  const { W, outDim: H, inDim } = model.params.layers[0];
  const n = itemEmb.length / dim;
  const q = out ?? new Float32Array(n * H);
  for (let i = 0; i < n; i++) {
    const x = i * dim;
    const y = i * H;
    for (let o = 0; o < H; o++) {
      const row = o * inDim + dim;
      let s = 0;
      for (let j = 0; j < dim; j++) s += W[row + j] * itemEmb[x + j];
      q[y + o] = s;
    }
  }
  return q;
}

/**
 * Cheap content fingerprint (position-weighted sum) so a cached item half notices ordinary in-place edits.
 * It is a guard, not a hash: an edit with zero sum and zero first moment (+δ, −2δ, +δ) slips through, so
 * code that changes a table passes a new array (as steering does) rather than relying on this.
 */
function fingerprint(a: Float32Array): number {
  let s = 0;
  let t = 0;
  for (let i = 0; i < a.length; i++) {
    s += a[i];
    t += s;
  }
  return s * 1.000001 + t;
}

export function ncfScorer(model: NcfModel, kernel: DenseKernel = jsKernel): PairScorer {
  const { dim } = model;
  const layers = model.params.layers;
  const first = layers[0];
  const H = first.outDim;
  const W0 = first.W;
  const b0 = first.b;
  const in0 = first.inDim;
  const tape = new MlpTape(layers);
  const block = new MlpBatch(layers, LOOP_BLOCK);
  const chained = kernel.reluMlp ? chainedHiddenLayers(kernel, layers) : null;
  const userHalf = new Float32Array(H);
  let cachedItems: Float32Array | null = null;
  let cachedPrint = 0;
  let cachedHalf = new Float32Array(0);
  let halfVersion = 0; // bumped whenever cachedHalf is recomputed

  const firstLayer = (uVec: Float32Array, iVec: Float32Array): void => {
    const pre = tape.pre[0];
    for (let o = 0; o < H; o++) {
      const row = o * in0;
      let s = b0[o];
      for (let j = 0; j < dim; j++) s += W0[row + j] * uVec[j] + W0[row + dim + j] * iVec[j];
      pre[o] = s;
    }
  };

  const loopRow = (pre0: Float32Array): number => {
    tape.pre[0].set(pre0);
    return forwardFromFirst(layers, tape);
  };

  const itemHalf = (itemEmb: Float32Array): Float32Array => {
    const print = fingerprint(itemEmb);
    if (cachedItems !== itemEmb || cachedPrint !== print) {
      const n = itemEmb.length / dim;
      if (cachedHalf.length !== n * H) cachedHalf = new Float32Array(n * H);
      itemHalfOfFirstLayer(model, itemEmb, cachedHalf);
      cachedItems = itemEmb;
      cachedPrint = print;
      halfVersion++;
    }
    return cachedHalf;
  };

  return {
    dim,
    score(_user, _item, uVec, iVec) {
      firstLayer(uVec, iVec);
      return forwardFromFirst(layers, tape);
    },
    scoreWithGrad(_user, _item, uVec, iVec, dScore, gU, gI) {
      firstLayer(uVec, iVec);
      const z = forwardFromFirst(layers, tape);
      const d0 = backwardToFirst(layers, tape, dScore, null);
      for (let o = 0; o < H; o++) {
        const d = d0[o];
        if (d === 0) continue;
        const row = o * in0;
        for (let j = 0; j < dim; j++) {
          gU[j] += d * W0[row + j];
          gI[j] += d * W0[row + dim + j];
        }
      }
      return z;
    },
    scoreAll(_user, uVec, itemEmb, out) {
      const q = itemHalf(itemEmb);
      for (let o = 0; o < H; o++) {
        const row = o * in0;
        let s = b0[o];
        for (let j = 0; j < dim; j++) s += W0[row + j] * uVec[j];
        userHalf[o] = s;
      }
      const n = itemEmb.length / dim;
      if (chained?.(userHalf, q, halfVersion, n, out, loopRow)) return;
      const pre = block.pre[0];
      for (let i0 = 0; i0 < n; i0 += LOOP_BLOCK) {
        const rows = Math.min(LOOP_BLOCK, n - i0);
        for (let r = 0; r < rows; r++) {
          const y = (i0 + r) * H;
          const po = r * H;
          for (let o = 0; o < H; o++) pre[po + o] = userHalf[o] + q[y + o];
        }
        const z = block.forward(rows);
        for (let r = 0; r < rows; r++) out[i0 + r] = z[r];
      }
    },
  };
}

/**
 * `scoreAll`'s hidden layers on a kernel that chains them (`DenseKernel.reluMlp`), KERNEL_ROWS items a
 * call: each call takes a block of the item halves as they are, with the user's half added (and ReLU
 * applied) inside the backend, and reads back the logits. Backends' ReLU may map NaN to 0, so items whose
 * half is not finite (found once per item table, `halfVersion` telling a recomputed table) are scored
 * again on the loops (`loopRow`, given the row's pre-activations), where NaN stays NaN; a non-finite user
 * half or weight leaves the whole call to the loops (returns false). Not covered: finite values whose sums
 * or products overflow float32, which a backend may score finite where the loops give NaN (a model that
 * far gone fails training's own finiteness check).
 */
function chainedHiddenLayers(kernel: DenseKernel, layers: DenseLayer[]) {
  const hidden = layers.slice(1);
  const H = layers[0].outDim;
  const rowPre = new Float32Array(H);
  let badVersion = -1;
  let badItems: Int32Array = new Int32Array(0); // items whose half has a non-finite entry, ascending
  return (
    userHalf: Float32Array, // [H] the user's half of layer 1, bias included
    itemHalf: Float32Array, // [n × H]
    halfVersion: number,
    n: number,
    out: Float32Array, // [n]
    loopRow: (pre0: Float32Array) => number,
  ): boolean => {
    if (!allFinite(userHalf) || !hidden.every((l) => allFinite(l.W) && allFinite(l.b))) return false;
    if (halfVersion !== badVersion) {
      badItems = nonFiniteRows(itemHalf, n, H);
      badVersion = halfVersion;
    }
    for (let i0 = 0; i0 < n; i0 += KERNEL_ROWS) {
      const rows = Math.min(KERNEL_ROWS, n - i0);
      const block = itemHalf.subarray(i0 * H, (i0 + rows) * H);
      kernel.reluMlp?.(block, hidden, rows, out.subarray(i0, i0 + rows), userHalf);
    }
    for (const i of badItems) {
      for (let o = 0; o < H; o++) rowPre[o] = userHalf[o] + itemHalf[i * H + o];
      out[i] = loopRow(rowPre);
    }
    return true;
  };
}

/** The rows of `a` [n × width] with a NaN or ±Infinity. */
function nonFiniteRows(a: Float32Array, n: number, width: number): Int32Array {
  const rows: number[] = [];
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let c = r * width; c < (r + 1) * width; c++) sum += a[c] - a[c]; // 0, or NaN for NaN and ±Infinity
    if (sum !== 0) rows.push(r);
  }
  return Int32Array.from(rows);
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
