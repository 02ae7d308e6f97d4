import type { ModelBundle } from '../../ml/bundle.ts';
import { blankNeuron } from '../../ml/concepts/neuron.ts';
import type { NeuronInfo } from '../../ml/concepts/types.ts';
import { topKExcluding } from '../../ml/eval/topk.ts';
import { steerContext } from '../../ml/steer/context.ts';
import { round6 } from './round.ts';

export interface NeuronSummaryT {
  index: number;
  label: string;
  kind: string;
  concept: string | null;
  purity10: number;
  purity20: number;
  purity50: number;
  itemDensity: number;
  userDensity: number;
  dead: boolean;
}

/** The neuron's info, or a placeholder for a latent the labelling left out. */
export function neuronInfo(bundle: ModelBundle, j: number): NeuronInfo {
  const hit = bundle.neurons[j]?.index === j ? bundle.neurons[j] : bundle.neurons.find((n) => n.index === j);
  return hit ?? blankNeuron(j, { evidence: 'not analysed' });
}

export function summarise(n: NeuronInfo): NeuronSummaryT {
  return {
    index: n.index,
    label: n.label,
    kind: n.kind,
    concept: n.concept,
    purity10: n.purity10,
    purity20: n.purity20,
    purity50: n.purity50,
    itemDensity: n.itemDensity,
    userDensity: n.userDensity,
    // The analysis marks a neuron dead when it fires on no item and no user; a placeholder for a latent it
    // left out has zero densities because nothing was measured, not because it never fires.
    dead: n.kind === 'dead',
  };
}

/**
 * Active neurons of one code, strongest first. The labels are the item SAE's: with one SAE per side a
 * user code's neurons are reported unlabelled.
 */
export function activeNeurons(
  bundle: ModelBundle,
  code: Float32Array,
  limit: number,
  side: 'user' | 'item',
): { total: number; neurons: { neuron: number; label: string; kind: string; activation: number }[] } {
  const ctx = steerContext(bundle);
  const labels = side === 'user' ? ctx.userLabels : ctx.labels;
  const labelled = labels === ctx.labels; // with one SAE per side, user neurons were never analysed
  const active: number[] = [];
  for (let j = 0; j < code.length; j++) if (code[j] > 0) active.push(j);
  active.sort((a, b) => code[b] - code[a] || a - b);
  return {
    total: active.length,
    neurons: active.slice(0, limit).map((j) => ({
      neuron: j,
      label: labels[j] ?? '',
      kind: labelled ? neuronInfo(bundle, j).kind : 'unlabelled',
      activation: round6(code[j]),
    })),
  };
}

/** The user's code [latents] (memoised per model: encoded once, at activation). */
export function userCode(bundle: ModelBundle, user: number): Float32Array {
  return steerContext(bundle).userCode(user);
}

export function itemCode(bundle: ModelBundle, item: number): Float32Array {
  const ctx = steerContext(bundle);
  return ctx.itemCodes().subarray(item * ctx.latents, (item + 1) * ctx.latents);
}

/** Activation of neuron j for every item [nItems]. */
function itemColumn(bundle: ModelBundle, j: number): Float32Array {
  const ctx = steerContext(bundle);
  const codes = ctx.itemCodes();
  const out = new Float32Array(ctx.nItems);
  for (let i = 0; i < ctx.nItems; i++) out[i] = codes[i * ctx.latents + j];
  return out;
}

/**
 * Per-item score change when neuron j is raised in the average user's code by its largest activation
 * over users (decoded through the SAE and scored by the frozen recommender).
 */
function scoreLift(bundle: ModelBundle, j: number): Float32Array {
  const ctx = steerContext(bundle);
  const { dim, nUsers, nItems } = ctx;
  const { userEmb, itemEmb } = bundle.recommender.params;
  const mean = new Float32Array(dim);
  for (let u = 0; u < nUsers; u++) for (let c = 0; c < dim; c++) mean[c] += userEmb[u * dim + c];
  for (let c = 0; c < dim; c++) mean[c] /= Math.max(1, nUsers);
  const sae = ctx.userSae;
  const amount = (ctx.userRef()[j] || 1) * sae.params.inputScale[0];
  const raised = mean.slice();
  for (let c = 0; c < dim; c++) raised[c] += amount * sae.params.W[j * sae.config.inputDim + c];
  const before = new Float32Array(nItems);
  const after = new Float32Array(nItems);
  ctx.scorer.scoreAll(0, mean, itemEmb, before);
  ctx.scorer.scoreAll(0, raised, itemEmb, after);
  for (let i = 0; i < nItems; i++) after[i] -= before[i];
  return after;
}

export function neuronDetail(bundle: ModelBundle, j: number, limit: number) {
  const n = neuronInfo(bundle, j);
  const { items, users, itemTitles } = bundle.dataset;
  const itemAct = itemColumn(bundle, j);
  // The analysis keeps each neuron's top 50 (all of them when it fires on fewer): past that, rank anew.
  const stored = n.topItems;
  const complete = stored.length > 0 && (limit <= stored.length || stored.length < 50);
  const topItems = (complete ? stored.slice(0, limit) : Array.from(topKExcluding(itemAct, limit)))
    .filter((i) => itemAct[i] > 0 || complete)
    .map((i) => ({ itemId: items.ids[i], title: itemTitles[i] ?? '', value: round6(itemAct[i]) }));
  const userAct = steerContext(bundle).userColumn(j);
  const topUsers = Array.from(topKExcluding(userAct, limit))
    .filter((u) => userAct[u] > 0)
    .map((u) => ({ userId: users.ids[u], value: round6(userAct[u]) }));
  const lift = scoreLift(bundle, j);
  const raisesMost = Array.from(topKExcluding(lift, limit))
    .filter((i) => lift[i] > 0)
    .map((i) => ({ itemId: items.ids[i], title: itemTitles[i] ?? '', value: round6(lift[i]) }));
  return {
    ...summarise(n),
    popPct20: n.popPct20,
    popPct50: n.popPct50,
    decade: n.decade,
    decadeShare50: n.decadeShare50,
    evidence: n.evidence,
    topItems,
    topUsers,
    raisesMost,
  };
}
