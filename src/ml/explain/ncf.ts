import type { PairScorer } from '../models/types.ts';
import type { Sae } from '../sae/types.ts';
import { compactContributions } from './compact.ts';
import type { Explanation, NeuronContribution } from './types.ts';

/**
 * Integrated-gradients attribution of a (non-linear) score to the SAE neurons of both codes.
 *
 * The path scales both codes together from zero to their value, keeping each side's reconstruction
 * error r = e − D(z) fixed so that the end point is exactly the scored pair:
 *
 *   u(α) = uVec − (1 − α)·s_u·W_uᵀz_u,   i(α) = iVec − (1 − α)·s_i·W_iᵀz_i,   α ∈ [0, 1]
 *
 * Neuron j of the user code gets z_u,j · s_u·W_u,j · ∫ ∂f/∂u dα (likewise for item neurons); the
 * attributions sum to f(1) − f(0) up to the midpoint-rule error, which `residual` reports and
 * `completeness` summarises. `base` = f(0): the score with every neuron silenced. For an MLP that is
 * linear along the path the rule is exact at any step count.
 */
export interface NcfExplainInput {
  scorer: PairScorer;
  user: number;
  item: number;
  uVec: Float32Array; // [dim] the vectors actually scored (possibly steered)
  iVec: Float32Array;
  uCode: Float32Array; // [latents] codes standing for them
  iCode: Float32Array;
  userSae: Sae;
  itemSae: Sae;
  labels: readonly string[];
  /** Labels of the user SAE's neurons when it is not the item one (default `labels`). */
  userLabels?: readonly string[];
  /** Midpoint-rule steps (default 16). */
  steps?: number;
  topN?: number;
}

/** s·Wᵀz, the linear part of the decoder (no pre-bias). */
function decodeLinear(sae: Sae, z: Float32Array, out: Float32Array): Float32Array {
  const { W, inputScale } = sae.params;
  const d = sae.config.inputDim;
  const s = inputScale[0];
  out.fill(0);
  for (let j = 0; j < sae.config.latents; j++) {
    const a = z[j];
    if (a === 0) continue;
    const wo = j * d;
    for (let c = 0; c < d; c++) out[c] += a * s * W[wo + c];
  }
  return out;
}

export function explainNcf(input: NcfExplainInput): Explanation {
  const { scorer, user, item, uVec, iVec, uCode, iCode, userSae, itemSae, labels } = input;
  const steps = Math.max(1, Math.floor(input.steps ?? 16));
  const dim = scorer.dim;
  const lu = decodeLinear(userSae, uCode, new Float32Array(dim));
  const li = decodeLinear(itemSae, iCode, new Float32Array(dim));
  const ua = new Float32Array(dim);
  const ia = new Float32Array(dim);
  const at = (alpha: number): void => {
    for (let c = 0; c < dim; c++) {
      ua[c] = uVec[c] - (1 - alpha) * lu[c];
      ia[c] = iVec[c] - (1 - alpha) * li[c];
    }
  };
  const score = scorer.score(user, item, uVec, iVec);
  at(0);
  const base = scorer.score(user, item, ua, ia);

  const gU = new Float32Array(dim);
  const gI = new Float32Array(dim);
  for (let t = 0; t < steps; t++) {
    at((t + 0.5) / steps);
    scorer.scoreWithGrad(user, item, ua, ia, 1 / steps, gU, gI);
  }

  const all: NeuronContribution[] = [];
  const attribute = (sae: Sae, code: Float32Array, grad: Float32Array, side: 'user' | 'item'): void => {
    const names = side === 'user' ? (input.userLabels ?? labels) : labels;
    const { W, inputScale } = sae.params;
    const s = inputScale[0];
    for (let j = 0; j < sae.config.latents; j++) {
      const a = code[j];
      if (a === 0) continue;
      let dot = 0;
      const wo = j * dim;
      for (let c = 0; c < dim; c++) dot += W[wo + c] * grad[c];
      all.push({ neuron: j, label: names[j] ?? '', side, activation: a, value: a * s * dot });
    }
  };
  attribute(userSae, uCode, gU, 'user');
  attribute(itemSae, iCode, gI, 'item');

  const { top, other, total } = compactContributions(all, input.topN ?? 5);
  const moved = score - base;
  return {
    method: 'ncf-integrated-gradients',
    score,
    top,
    other,
    base,
    residual: score - base - total,
    completeness: moved === 0 ? 1 : total / moved,
  };
}
