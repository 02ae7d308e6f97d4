import type { Dataset } from '../data/types.ts';
import {
  activationDensity,
  decadeOf,
  decadeShareAtK,
  neuronActivations,
  popularityPercentileAtK,
  popularityRanks,
  topActivatingItems,
} from '../eval/concept-metrics.ts';
import { type ConceptEvidence, conceptPasses, labelNeuron } from './label.ts';
import { blankNeuron } from './neuron.ts';
import { type EraNeuron, eraNeurons, type PopularityNeuron, popularityNeuron } from './summary.ts';
import { buildTagIndex, type TagIndex } from './tags.ts';
import type { ConceptBest, NeuronInfo } from './types.ts';

/** How many top items each neuron keeps (purity is measured at 10, 20 and 50). */
export const TOP_ITEMS = 50;
/** A tag gets a row in the concept table when at least this share of items carries it. */
export const CONCEPT_MIN_ITEM_SHARE = 0.01;

export interface AnalyseInput {
  dataset: Dataset;
  itemCodes: Float32Array; // [nItems × latents]
  userCodes: Float32Array; // [nUsers × latents]
  latents: number;
  /** Users per item in the training data. [nItems] */
  popularity: Int32Array;
}

export interface ConceptAnalysis {
  neurons: NeuronInfo[]; // [latents], neurons[j].index === j
  /** One row per tag carried by ≥ 1 % of items, most common tag first; neuron −1 when no live neuron has any item with it. */
  concepts: ConceptBest[];
  /** The neuron with the most popular top-50 (see summary.ts), null when no neuron lists 50 items. */
  popularity: PopularityNeuron | null;
  /** The purest neuron per decade of the top-50. */
  eras: EraNeuron[];
}

/**
 * Concept discovery: every neuron's top-50 items (by raw activation, see concept-metrics.ts), its purity
 * for every tag, popularity percentile, dominant decade, and an automatic label (rule in label.ts). A neuron
 * active on no item and no user is 'dead'. Per common tag, the neuron with the best purity@20 (ties:
 * @50, @10, lower index).
 */
export function analyseNeurons(input: AnalyseInput): ConceptAnalysis {
  const { dataset, itemCodes, userCodes, latents, popularity } = input;
  const nItems = dataset.items.ids.length;
  const tags = buildTagIndex(dataset.itemTags);
  const ranks = popularityRanks(popularity);
  const decadeRates = decadeBaseRates(dataset.itemYears);
  const best = new Map<number, ConceptBest>(); // tag id → best so far
  const act = new Float32Array(nItems);
  const neurons: NeuronInfo[] = [];

  for (let j = 0; j < latents; j++) {
    neuronActivations(itemCodes, latents, j, act);
    const itemDensity = activationDensity(act);
    const userDensity = columnDensity(userCodes, latents, j);
    if (itemDensity === 0 && userDensity === 0) {
      neurons.push(deadNeuron(j));
      continue;
    }
    const top = topActivatingItems(act, TOP_ITEMS);
    const candidates = tagPurities(top, tags);
    for (const c of candidates) updateBest(best, c.id, j, c.ev);
    const chosen = candidates.find((c) => conceptPasses(c.ev)) ?? candidates[0] ?? null;
    const decade = decadeShareAtK(top, 50, dataset.itemYears);
    const popPct50 = popularityPercentileAtK(top, 50, ranks);
    const label = labelNeuron({
      concept: chosen?.ev ?? null,
      decade: decade.decade,
      decadeShare50: decade.share,
      decadeBaseRate: decade.decade === null ? 0 : (decadeRates.get(decade.decade) ?? 0),
      popPct50,
      listed: top.length,
    });
    neurons.push({
      index: j,
      ...label,
      bestTag: chosen?.ev.tag ?? null,
      purity10: chosen?.ev.purity10 ?? 0,
      purity20: chosen?.ev.purity20 ?? 0,
      purity50: chosen?.ev.purity50 ?? 0,
      popPct20: popularityPercentileAtK(top, 20, ranks),
      popPct50,
      decade: decade.decade,
      decadeShare50: decade.share,
      itemDensity,
      userDensity,
      topItems: Array.from(top),
    });
  }

  const concepts: ConceptBest[] = [];
  const common = tags.names
    .map((_, t) => t)
    .filter((t) => tags.baseRates[t] >= CONCEPT_MIN_ITEM_SHARE)
    .sort((a, b) => tags.counts[b] - tags.counts[a] || (tags.names[a] < tags.names[b] ? -1 : 1));
  for (const t of common) {
    concepts.push(
      best.get(t) ?? { concept: tags.names[t], neuron: -1, purity10: 0, purity20: 0, purity50: 0 },
    );
  }
  return { neurons, concepts, popularity: popularityNeuron(neurons), eras: eraNeurons(neurons) };
}

interface TagCandidate {
  id: number;
  ev: ConceptEvidence;
}

/** Purity@10/20/50 of every tag present among the top items, best first (purity@20, @50, @10, rarer, name). */
function tagPurities(top: Int32Array, tags: TagIndex): TagCandidate[] {
  const counts = new Map<number, [number, number, number]>();
  for (let r = 0; r < top.length; r++) {
    for (const t of tags.itemTagIds[top[r]]) {
      let c = counts.get(t);
      if (!c) counts.set(t, (c = [0, 0, 0]));
      if (r < 10) c[0]++;
      if (r < 20) c[1]++;
      c[2]++;
    }
  }
  const out: TagCandidate[] = [];
  for (const [id, c] of counts) {
    out.push({
      id,
      ev: {
        tag: tags.names[id],
        purity10: c[0] / 10,
        purity20: c[1] / 20,
        purity50: c[2] / 50,
        baseRate: tags.baseRates[id],
      },
    });
  }
  return out.sort(
    (a, b) =>
      b.ev.purity20 - a.ev.purity20 ||
      b.ev.purity50 - a.ev.purity50 ||
      b.ev.purity10 - a.ev.purity10 ||
      a.ev.baseRate - b.ev.baseRate ||
      (a.ev.tag < b.ev.tag ? -1 : 1),
  );
}

function updateBest(best: Map<number, ConceptBest>, tag: number, neuron: number, ev: ConceptEvidence): void {
  const cur = best.get(tag);
  const better =
    !cur ||
    ev.purity20 > cur.purity20 ||
    (ev.purity20 === cur.purity20 &&
      (ev.purity50 > cur.purity50 || (ev.purity50 === cur.purity50 && ev.purity10 > cur.purity10)));
  if (better) {
    best.set(tag, {
      concept: ev.tag,
      neuron,
      purity10: ev.purity10,
      purity20: ev.purity20,
      purity50: ev.purity50,
    });
  }
}

/** Share of all items released in each decade (items with unknown year count in the denominator). */
function decadeBaseRates(itemYears: Int32Array): Map<number, number> {
  const rates = new Map<number, number>();
  for (const y of itemYears) {
    const d = decadeOf(y);
    if (d !== null) rates.set(d, (rates.get(d) ?? 0) + 1);
  }
  for (const [d, c] of rates) rates.set(d, c / Math.max(1, itemYears.length));
  return rates;
}

function columnDensity(codes: Float32Array, latents: number, j: number): number {
  const n = Math.floor(codes.length / latents);
  if (n === 0) return 0;
  let active = 0;
  for (let o = j; o < codes.length; o += latents) if (codes[o] > 0) active++;
  return active / n;
}

function deadNeuron(index: number): NeuronInfo {
  return blankNeuron(index, {
    kind: 'dead',
    bestTag: null,
    popPct20: 100,
    popPct50: 100,
    evidence: 'Dead: active on no item and no user.',
  });
}
