import type { NeuronInfo } from '../concepts/types.ts';
import type { NeuronContribution } from './types.ts';

/** Label per neuron index (neurons may arrive in any order or be missing: "" then). */
export function neuronLabels(neurons: readonly NeuronInfo[], latents: number): string[] {
  const labels = new Array<string>(latents).fill('');
  for (const n of neurons) if (n.index >= 0 && n.index < latents) labels[n.index] = n.label;
  return labels;
}

/**
 * Keeps the `topN` contributions with the largest |value| (ties: lower neuron index, user side first)
 * and folds the rest into one number, so a response stays small whatever the number of latents.
 */
export function compactContributions(
  all: NeuronContribution[],
  topN: number,
): { top: NeuronContribution[]; other: number; total: number } {
  let total = 0;
  for (const c of all) total += c.value;
  const sorted = all
    .slice()
    .sort(
      (a, b) =>
        Math.abs(b.value) - Math.abs(a.value) ||
        (a.side === b.side ? a.neuron - b.neuron : a.side === 'user' ? -1 : 1),
    );
  const top = sorted.slice(0, Math.max(0, topN));
  let other = 0;
  for (let r = top.length; r < sorted.length; r++) other += sorted[r].value;
  return { top, other, total };
}
