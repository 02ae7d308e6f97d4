import type { MfModel } from '../models/types.ts';
import { decoderDot } from '../sae/model.ts';
import type { SparseCode } from '../sae/sparse.ts';
import type { Sae } from '../sae/types.ts';
import type { Explanation, NeuronContribution } from './types.ts';

/**
 * Exact per-neuron decomposition of an MF score through a tied-decoder SAE.
 *
 * With ũ = s·Wᵀz_u + b_pre (the user's reconstruction from its code z_u) the recommender's score is
 *
 *   u·i + b_u + b_i + g = Σ_j z_u,j · s·(W_j·i)  +  (b_pre·i + b_u + b_i + g)  +  (u − ũ)·i
 *
 * against the item vector i actually scored, so each active user neuron j owns the term z_u,j·s·(W_j·i)
 * exactly; `base` is the middle bracket and `residual` the last term, the user's own reconstruction error
 * seen through i. Decomposing against i rather than its reconstruction ĩ keeps the item's reconstruction
 * error out of the residual, and makes a neuron's contribution move by exactly the score's move when a
 * policy edits that neuron of the code.
 *
 * Side: the same number can be split over the item's neurons instead (swap the roles of u and i).
 * Only one side is reported — both are complete decompositions of the same score, so listing both would
 * count every unit twice. Default 'user' ("which of your interests made this"); callers with separate
 * user/item SAEs whose labels come from the item side should pass 'item'.
 *
 * The code is passed in rather than re-encoded so that a steered vector e' = e + D(z') − D(z) is
 * explained by its edited code z': e' − D(z') = e − D(z), so the explained side's reconstruction error is
 * the unedited one (the residual still moves if the other side's vector was steered).
 */
export interface MfExplainInput {
  model: MfModel;
  user: number;
  item: number;
  uVec: Float32Array; // [dim] the user vector actually scored (possibly steered)
  iVec: Float32Array; // [dim] the item vector actually scored (possibly steered)
  /**
   * The explained side's code (the user's for side 'user', the item's for 'item'), whose reconstruction
   * stands for that side's vector: its nonzero entries with indices ascending (`sparseCode`), which is what
   * orders tied contributions — not a `SparseCodes` row, whose entries run strongest first.
   */
  code: SparseCode;
  userSae: Sae;
  itemSae: Sae;
  labels: readonly string[]; // [latents] labels of the explained side's SAE neurons ("" when unlabelled)
  side?: 'user' | 'item';
  topN?: number;
}

export function explainMf(input: MfExplainInput): Explanation {
  const { model, user, item, uVec, iVec, labels } = input;
  const side = input.side ?? 'user';
  const { dim } = model;
  const { userBias, itemBias, globalBias } = model.params;
  // Decompose over the explained side's code against the other side's scored vector.
  const scored = side === 'user' ? iVec : uVec;
  const { W, bPre, inputScale } = (side === 'user' ? input.userSae : input.itemSae).params;
  const s = inputScale[0];
  const biases = userBias[user] + itemBias[item] + globalBias[0];
  let score = biases;
  let base = biases;
  for (let c = 0; c < dim; c++) {
    score += uVec[c] * iVec[c];
    base += bPre[c] * scored[c];
  }

  // Every active neuron's contribution into reused buffers; objects only for the ones listed.
  const { idx, val } = input.code;
  const n = idx.length;
  const { value, order, listed } = scratch(n);
  let total = 0;
  for (let a = 0; a < n; a++) {
    const v = val[a] * s * decoderDot(scored, W, idx[a], dim);
    value[a] = v;
    total += v;
  }
  // The topN largest |value| by insertion (a few of a few dozen): ties keep the lower neuron first, as
  // `listedBefore` orders them, because the indices ascend.
  const topN = Math.max(0, Math.min(n, Math.floor(input.topN ?? 5)));
  let size = 0;
  for (let a = 0; a < n && topN > 0; a++) {
    const m = Math.abs(value[a]);
    if (size === topN && !(m > Math.abs(value[order[size - 1]]))) continue;
    let q = size < topN ? size++ : size - 1;
    while (q > 0 && m > Math.abs(value[order[q - 1]])) {
      order[q] = order[q - 1];
      q--;
    }
    order[q] = a;
  }
  const top: NeuronContribution[] = new Array(size);
  for (let q = 0; q < size; q++) {
    const a = order[q];
    listed[a] = 1;
    top[q] = { neuron: idx[a], label: labels[idx[a]] ?? '', side, activation: val[a], value: value[a] };
  }
  let other = 0;
  for (let a = 0; a < n; a++) {
    if (listed[a]) listed[a] = 0;
    else other += value[a];
  }
  const residual = score - total - base;
  const moved = score - base;
  return {
    method: 'mf-exact',
    score,
    top,
    other,
    base,
    residual,
    completeness: moved === 0 ? 1 : total / moved,
  };
}

/** Reused per-call buffers (explanations are computed synchronously, one at a time). */
interface Scratch {
  value: Float64Array; // contribution per active entry
  order: Int32Array; // the listed entries, strongest first
  listed: Uint8Array; // 1 for entries in the listed top, cleared after each call
}
let buffers: Scratch = alloc(64);

function alloc(n: number): Scratch {
  return { value: new Float64Array(n), order: new Int32Array(n), listed: new Uint8Array(n) };
}

function scratch(n: number): Scratch {
  if (buffers.value.length < n) buffers = alloc(Math.max(n, 2 * buffers.value.length));
  return buffers;
}
