import type { NeuronInfo } from './types.ts';

/** Headline neurons for the report: the strongest popularity neuron and the purest neuron per decade. */
export interface PopularityNeuron {
  neuron: number;
  label: string;
  popPct20: number;
  popPct50: number;
}

export interface EraNeuron {
  decade: number;
  neuron: number;
  label: string;
  decadeShare50: number;
}

/**
 * The live neuron whose top-50 items are the most popular on average (lowest popPct50; ties: popPct20,
 * lower index), among neurons active on at least `minListed` items (default 50, so "top-50" means 50
 * items); null when none qualifies.
 */
export function popularityNeuron(neurons: NeuronInfo[], minListed = 50): PopularityNeuron | null {
  let best: NeuronInfo | null = null;
  for (const n of neurons) {
    if (n.kind === 'dead' || n.topItems.length < minListed) continue;
    if (!best || n.popPct50 < best.popPct50 || (n.popPct50 === best.popPct50 && n.popPct20 < best.popPct20))
      best = n;
  }
  return best && { neuron: best.index, label: best.label, popPct20: best.popPct20, popPct50: best.popPct50 };
}

/**
 * Per decade (ascending), among the live neurons whose top-50 is dominated by that decade, the one with the
 * highest share (ties: lower index). A neuron counts for its dominant decade only.
 */
export function eraNeurons(neurons: NeuronInfo[]): EraNeuron[] {
  const best = new Map<number, NeuronInfo>();
  for (const n of neurons) {
    if (n.kind === 'dead' || n.decade === null) continue;
    const cur = best.get(n.decade);
    if (!cur || n.decadeShare50 > cur.decadeShare50) best.set(n.decade, n);
  }
  return [...best.values()]
    .map((n) => ({ decade: n.decade!, neuron: n.index, label: n.label, decadeShare50: n.decadeShare50 }))
    .sort((a, b) => a.decade - b.decade);
}
