import type { NeuronInfo } from '../concepts/types.ts';
import type { NeuronContribution } from './types.ts';

/** Label per neuron index (neurons may arrive in any order or be missing: "" then). */
export function neuronLabels(neurons: readonly NeuronInfo[], latents: number): string[] {
  const labels = new Array<string>(latents).fill('');
  for (const n of neurons) if (n.index >= 0 && n.index < latents) labels[n.index] = n.label;
  return labels;
}

/**
 * The order contributions are listed in: larger |value| first; ties to the lower neuron index, the user
 * side before the item side.
 */
export function listedBefore(
  value: number,
  neuron: number,
  side: 'user' | 'item',
  otherValue: number,
  otherNeuron: number,
  otherSide: 'user' | 'item',
): boolean {
  const d = Math.abs(value) - Math.abs(otherValue);
  if (d !== 0) return d > 0;
  return side === otherSide ? neuron < otherNeuron : side === 'user';
}

/**
 * Positions of the `topN` best of `count` candidates, best first, under the strict order `before`:
 * insertion into a short list (picking 5 of a few dozen sorts nothing and allocates only the result).
 */
export function topPositions(
  count: number,
  topN: number,
  before: (a: number, b: number) => boolean,
): Int32Array {
  const kk = Math.max(0, Math.min(Math.floor(topN), count));
  const order = new Int32Array(kk);
  if (kk === 0) return order;
  let size = 0;
  for (let p = 0; p < count; p++) {
    if (size === kk && !before(p, order[kk - 1])) continue;
    let q = size < kk ? size++ : kk - 1;
    while (q > 0 && before(p, order[q - 1])) {
      order[q] = order[q - 1];
      q--;
    }
    order[q] = p;
  }
  return order;
}

/**
 * Keeps the `topN` contributions listed first (see `listedBefore`) and folds the rest into one number, so
 * a response stays small whatever the number of latents.
 */
export function compactContributions(
  all: NeuronContribution[],
  topN: number,
): { top: NeuronContribution[]; other: number; total: number } {
  const order = topPositions(all.length, topN, (a, b) =>
    listedBefore(all[a].value, all[a].neuron, all[a].side, all[b].value, all[b].neuron, all[b].side),
  );
  const top = Array.from(order, (p) => all[p]);
  const kept = new Set(top);
  let total = 0;
  let other = 0;
  for (const c of all) {
    total += c.value;
    if (!kept.has(c)) other += c.value;
  }
  return { top, other, total };
}
