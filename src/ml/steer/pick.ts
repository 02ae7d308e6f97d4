import type { ModelBundle } from '../bundle.ts';

/**
 * The automatic choices of the intervention measurements (documented in measure.ts): which concepts,
 * neurons and items. Pure functions over the bundle and its codes.
 */

export const TOP_K_PURITY = 20;
/** A tag is a candidate concept when at least this share of items carries it. */
export const MIN_CONCEPT_ITEM_SHARE = 0.01;

/** Items carrying `concept` (case-insensitive), as a mask [nItems]. */
export function conceptMask(bundle: ModelBundle, concept: string): Uint8Array {
  const key = concept.toLowerCase();
  const tags = bundle.dataset.itemTags;
  const mask = new Uint8Array(tags.length);
  for (let i = 0; i < tags.length; i++) if (tags[i].some((t) => t.toLowerCase() === key)) mask[i] = 1;
  return mask;
}

/** The `k` items with the largest activation of neuron j (ties: lower index), only active ones. */
export function topItemsOf(itemCodes: Float32Array, latents: number, j: number, k: number): number[] {
  const n = itemCodes.length / latents;
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (itemCodes[i * latents + j] > 0) order.push(i);
  order.sort((a, b) => itemCodes[b * latents + j] - itemCodes[a * latents + j] || a - b);
  return order.slice(0, k);
}

export interface ConceptNeuron {
  concept: string;
  neuron: number;
  /** Share of the neuron's top-20 items that carry the concept. */
  purity20: number;
  items: number;
}

/**
 * The neuron for a concept: the one whose top-20 activating items carry it most often (ties: lower
 * index), measured on these codes — so it works with or without concept labels.
 */
export function bestNeuronFor(bundle: ModelBundle, itemCodes: Float32Array, concept: string): ConceptNeuron {
  const latents = bundle.sae.item.config.latents;
  const mask = conceptMask(bundle, concept);
  let items = 0;
  for (const v of mask) items += v;
  let best = { neuron: 0, purity20: -1 };
  for (let j = 0; j < latents; j++) {
    const top = topItemsOf(itemCodes, latents, j, TOP_K_PURITY);
    let hits = 0;
    for (const i of top) hits += mask[i];
    const purity = hits / TOP_K_PURITY;
    if (purity > best.purity20) best = { neuron: j, purity20: purity };
  }
  return { concept, ...best, items };
}

/**
 * The neuron to promote through: among the neurons whose top-20 purity for the concept is within 0.2 of
 * the best (and ≥ 0.5), the one active on the most users — the audience is "users with the concept
 * strongly active", so a neuron almost no user carries would leave no audience. Ties: purity, index.
 */
export function promotionNeuronFor(
  bundle: ModelBundle,
  itemCodes: Float32Array,
  userCodes: Float32Array,
  concept: string,
): ConceptNeuron & { activeUsers: number } {
  const latents = bundle.sae.item.config.latents;
  const mask = conceptMask(bundle, concept);
  let items = 0;
  for (const v of mask) items += v;
  const purity = new Float64Array(latents);
  for (let j = 0; j < latents; j++) {
    let hits = 0;
    for (const i of topItemsOf(itemCodes, latents, j, TOP_K_PURITY)) hits += mask[i];
    purity[j] = hits / TOP_K_PURITY;
  }
  const best = Math.max(...purity);
  const floor = Math.max(0.5, best - 0.2);
  const nUsers = userCodes.length / latents;
  let pick = { neuron: purity.indexOf(best), purity20: best, activeUsers: -1 };
  for (let j = 0; j < latents; j++) {
    if (purity[j] < floor) continue;
    let active = 0;
    for (let u = 0; u < nUsers; u++) if (userCodes[u * latents + j] > 0) active++;
    if (active > pick.activeUsers || (active === pick.activeUsers && purity[j] > pick.purity20))
      pick = { neuron: j, purity20: purity[j], activeUsers: active };
  }
  return { concept, items, ...pick };
}

/** Concepts carried by ≥ 1 % of items, by their best neuron's purity@20 (ties: more items, name). */
export function rankConcepts(bundle: ModelBundle, itemCodes: Float32Array): ConceptNeuron[] {
  const counts = new Map<string, number>();
  for (const tags of bundle.dataset.itemTags)
    for (const t of new Set(tags)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const nItems = bundle.dataset.itemTags.length;
  const candidates = [...counts].filter(([, c]) => c >= MIN_CONCEPT_ITEM_SHARE * nItems).map(([t]) => t);
  return candidates
    .map((c) => bestNeuronFor(bundle, itemCodes, c))
    .sort((a, b) => b.purity20 - a.purity20 || b.items - a.items || a.concept.localeCompare(b.concept));
}

/**
 * Neurons that carry popularity: those labelled as a pure popularity neuron ("popular"/"niche", kind
 * 'popularity'); when the labels have none, the neuron whose item activations correlate best (Pearson)
 * with log(1 + popularity).
 */
export function popularityNeurons(bundle: ModelBundle, itemCodes: Float32Array): number[] {
  const labelled = bundle.neurons.filter((n) => n.kind === 'popularity').map((n) => n.index);
  if (labelled.length > 0) return labelled.sort((a, b) => a - b);
  const latents = bundle.sae.item.config.latents;
  const n = bundle.popularity.length;
  const logPop = Float64Array.from(bundle.popularity, (p) => Math.log1p(p));
  let mp = 0;
  for (const v of logPop) mp += v / n;
  let best = 0;
  let bestR = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < latents; j++) {
    let ma = 0;
    for (let i = 0; i < n; i++) ma += itemCodes[i * latents + j] / n;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = 0; i < n; i++) {
      const a = itemCodes[i * latents + j] - ma;
      const b = logPop[i] - mp;
      sab += a * b;
      saa += a * a;
      sbb += b * b;
    }
    const r = saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NEGATIVE_INFINITY;
    if (r > bestR) {
      bestR = r;
      best = j;
    }
  }
  return [best];
}

/** Items outside the `share` most popular (by users in training; ties: lower index counts as more popular). */
export function longTailMask(popularity: Int32Array, share = 0.2): Uint8Array {
  const n = popularity.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => popularity[b] - popularity[a] || a - b);
  const mask = new Uint8Array(n).fill(1);
  const head = Math.ceil(share * n);
  for (let r = 0; r < head; r++) mask[order[r]] = 0;
  return mask;
}

/** Users in the top `share` by activation of neuron j (active only; ties: lower index). */
export function topUsersBy(userCodes: Float32Array, latents: number, j: number, share: number): number[] {
  const n = userCodes.length / latents;
  const active: number[] = [];
  for (let u = 0; u < n; u++) if (userCodes[u * latents + j] > 0) active.push(u);
  active.sort((a, b) => userCodes[b * latents + j] - userCodes[a * latents + j] || a - b);
  return active.slice(0, Math.max(1, Math.round(share * n)));
}
