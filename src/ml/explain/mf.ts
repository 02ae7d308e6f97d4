import type { MfModel } from '../models/types.ts';
import type { Sae } from '../sae/types.ts';
import { listedBefore, topPositions } from './compact.ts';
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
 * The codes are passed in rather than re-encoded so that a steered vector e' = e + D(z') − D(z) is
 * explained by its edited code z': e' − D(z') = e − D(z), so the explained side's reconstruction error is
 * the unedited one (the residual still moves if the other side's vector was steered).
 */
export interface MfExplainInput {
  model: MfModel;
  user: number;
  item: number;
  uVec: Float32Array; // [dim] the user vector actually scored (possibly steered)
  iVec: Float32Array; // [dim] the item vector actually scored (possibly steered)
  uCode: Float32Array; // [latents] code whose reconstruction stands for uVec
  iCode: Float32Array; // [latents] code whose reconstruction stands for iVec
  userSae: Sae;
  itemSae: Sae;
  labels: readonly string[]; // [latents] labels of the explained side's SAE neurons ("" when unlabelled)
  side?: 'user' | 'item';
  topN?: number;
  /** The own side's active neurons (ascending indices where its code is nonzero), when known. */
  ownActive?: Int32Array;
}

export function explainMf(input: MfExplainInput): Explanation {
  const { model, user, item, uVec, iVec, uCode, iCode, userSae, itemSae, labels } = input;
  const side = input.side ?? 'user';
  const { dim } = model;
  const { userBias, itemBias, globalBias } = model.params;
  const biases = userBias[user] + itemBias[item] + globalBias[0];
  let score = biases;
  for (let c = 0; c < dim; c++) score += uVec[c] * iVec[c];

  // Decompose over `own` side's code against the other side's scored vector.
  const own = side === 'user' ? { sae: userSae, code: uCode } : { sae: itemSae, code: iCode };
  const scored = side === 'user' ? iVec : uVec;
  const { W, bPre, inputScale } = own.sae.params;
  const s = inputScale[0];
  const m = own.sae.config.latents;

  let base = biases;
  for (let c = 0; c < dim; c++) base += bPre[c] * scored[c];

  // Every active neuron's contribution into reused buffers; objects only for the ones listed.
  const active = input.ownActive;
  const count = active ? active.length : m;
  const buf = scratch(count);
  let n = 0;
  let total = 0;
  for (let r = 0; r < count; r++) {
    const j = active ? active[r] : r;
    const a = own.code[j];
    if (a === 0) continue;
    let dot = 0;
    const wo = j * dim;
    for (let c = 0; c < dim; c++) dot += W[wo + c] * scored[c];
    const v = a * s * dot;
    buf.neuron[n] = j;
    buf.activation[n] = a;
    buf.value[n++] = v;
    total += v;
  }
  const { neuron, activation, value, listed } = buf;
  const order = topPositions(n, input.topN ?? 5, (x, y) =>
    listedBefore(value[x], neuron[x], side, value[y], neuron[y], side),
  );
  const top: NeuronContribution[] = [];
  for (const p of order) {
    listed[p] = 1;
    top.push({
      neuron: neuron[p],
      label: labels[neuron[p]] ?? '',
      side,
      activation: activation[p],
      value: value[p],
    });
  }
  let other = 0;
  for (let p = 0; p < n; p++) {
    if (listed[p]) listed[p] = 0;
    else other += value[p];
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
  neuron: Int32Array;
  activation: Float64Array;
  value: Float64Array;
  listed: Uint8Array; // 1 for positions in the listed top, cleared after each call
}
let buffers: Scratch = alloc(64);

function alloc(n: number): Scratch {
  return {
    neuron: new Int32Array(n),
    activation: new Float64Array(n),
    value: new Float64Array(n),
    listed: new Uint8Array(n),
  };
}

function scratch(n: number): Scratch {
  if (buffers.neuron.length < n) buffers = alloc(Math.max(n, 2 * buffers.neuron.length));
  return buffers;
}
