import { topKExcluding } from './topk.ts';

/**
 * Concept metrics of one SAE neuron, each a named function returning a number (SAELens style).
 *
 * Conventions (documented once, used everywhere):
 * - A neuron's "top-K activating items" are ranked by **raw activation** (as the paper's code does), ties
 *   broken by lower item index; only items on which the neuron is active (activation > 0) are listed, so a
 *   neuron active on fewer than K items has a shorter list.
 * - Metrics "@K" always divide by K, not by the list length: the missing slots of a short list count
 *   against the neuron, so a neuron active on 3 Horror movies does not score purity@20 = 1.
 */

/** Column `neuron` of codes [n × latents] into out [n]. */
export function neuronActivations(
  codes: Float32Array, // [n × latents]
  latents: number,
  neuron: number,
  out?: Float32Array,
): Float32Array {
  const n = Math.floor(codes.length / latents);
  const col = out ?? new Float32Array(n);
  for (let r = 0, o = neuron; r < n; r++, o += latents) col[r] = codes[o];
  return col;
}

/** Indices of the (at most) k items with the highest positive activation, strongest first; ties → lower index. */
export function topActivatingItems(activations: Float32Array, k: number): Int32Array {
  const top = topKExcluding(activations, k);
  let len = 0;
  while (len < top.length && activations[top[len]] > 0) len++;
  return top.subarray(0, len);
}

/** Share of the top-K slots filled by items for which `carries(item)` holds (denominator K). */
export function purityAtK(
  topItems: ArrayLike<number>,
  k: number,
  carries: (item: number) => boolean,
): number {
  if (k <= 0) return 0;
  let hits = 0;
  const len = Math.min(k, topItems.length);
  for (let r = 0; r < len; r++) if (carries(topItems[r])) hits++;
  return hits / k;
}

/**
 * Popularity rank per item: 0 = the item with the most users. Tied items share the **average** of the
 * ranks they span (so a tie of the 2nd and 3rd most popular items gives both 1.5), which keeps the mean
 * rank of any set of items independent of how ties are ordered.
 */
export function popularityRanks(popularity: Int32Array): Float64Array {
  const n = popularity.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => popularity[b] - popularity[a] || a - b);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && popularity[order[end]] === popularity[order[start]]) end++;
    const avg = (start + end - 1) / 2;
    for (let r = start; r < end; r++) ranks[order[r]] = avg;
    start = end;
  }
  return ranks;
}

/**
 * Mean popularity percentile of the top-K items: mean popularity rank / nItems × 100 (0 = most popular).
 * Averaged over the items actually listed (at most K); 100 when the list is empty. The floor at K = 50 is
 * 24.5 / nItems × 100 (the 50 most popular items: 0.66 % on ML-1M).
 */
export function popularityPercentileAtK(topItems: ArrayLike<number>, k: number, ranks: Float64Array): number {
  const len = Math.min(k, topItems.length);
  if (len === 0) return 100;
  let sum = 0;
  for (let r = 0; r < len; r++) sum += ranks[topItems[r]];
  return (sum / len / ranks.length) * 100;
}

/** Decade of a release year (1994 → 1990); null when the year is unknown (0). */
export function decadeOf(year: number): number | null {
  return year > 0 ? Math.floor(year / 10) * 10 : null;
}

export interface DecadeShare {
  /** The most frequent decade among the top-K (ties → earlier decade), null when no year is known. */
  decade: number | null;
  /** Its count / K: items with unknown year and missing slots count against it. */
  share: number;
}

/** Dominant decade of the top-K items and its share. */
export function decadeShareAtK(topItems: ArrayLike<number>, k: number, itemYears: Int32Array): DecadeShare {
  const counts = new Map<number, number>();
  const len = Math.min(k, topItems.length);
  for (let r = 0; r < len; r++) {
    const d = decadeOf(itemYears[topItems[r]]);
    if (d !== null) counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  let decade: number | null = null;
  let best = 0;
  for (const [d, c] of counts) {
    if (c > best || (c === best && decade !== null && d < decade)) {
      decade = d;
      best = c;
    }
  }
  return { decade, share: k > 0 ? best / k : 0 };
}

/** Share of items on which the neuron is active (> 0). */
export function activationDensity(activations: Float32Array): number {
  if (activations.length === 0) return 0;
  let active = 0;
  for (let i = 0; i < activations.length; i++) if (activations[i] > 0) active++;
  return active / activations.length;
}
