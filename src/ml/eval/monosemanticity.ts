import { neuronActivations } from './concept-metrics.ts';
import { topKExcluding } from './topk.ts';

/**
 * Monosemanticity score (MS), as the paper's code computes it:
 *
 *   for every neuron j: ã = min-max normalised activations of j over all items,
 *     T = the MS_TOP_ITEMS items with the largest ã (ties → lower index),
 *     MS_j = Σ_{n<m ∈ T} ã_n ã_m sim(n, m) / Σ_{n<m ∈ T} ã_n ã_m
 *   MS = mean over all neurons, where a dead neuron (constant activation over items) scores 0, and so does
 *   a neuron whose weight sum is 0 (active on a single item: no pair to judge).
 *
 * sim = cosine similarity of the recommender's item embeddings (`monosemanticityEmbedding`) or Jaccard
 * similarity of the items' concept-tag sets (`monosemanticityMetadata`; two untagged items score 0).
 */
export const MS_TOP_ITEMS = 30;

/** Per-neuron MS with an arbitrary item similarity. */
export function monosemanticityPerNeuron(
  itemCodes: Float32Array, // [nItems × latents]
  latents: number,
  similarity: (a: number, b: number) => number,
  topItems = MS_TOP_ITEMS,
): Float64Array {
  const nItems = Math.floor(itemCodes.length / latents);
  const scores = new Float64Array(latents);
  const act = new Float32Array(nItems);
  for (let j = 0; j < latents; j++) {
    neuronActivations(itemCodes, latents, j, act);
    scores[j] = neuronScore(act, similarity, topItems);
  }
  return scores;
}

function neuronScore(act: Float32Array, similarity: (a: number, b: number) => number, k: number): number {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const a of act) {
    if (a < min) min = a;
    if (a > max) max = a;
  }
  if (!(max > min)) return 0;
  const top = topKExcluding(act, k); // min-max normalisation is monotone: same order as raw activation
  const w = Float64Array.from(top, (i) => (act[i] - min) / (max - min));
  let num = 0;
  let den = 0;
  for (let n = 0; n < top.length; n++) {
    if (w[n] === 0) continue;
    for (let m = n + 1; m < top.length; m++) {
      const ww = w[n] * w[m];
      if (ww === 0) continue;
      num += ww * similarity(top[n], top[m]);
      den += ww;
    }
  }
  return den > 0 ? num / den : 0;
}

const mean = (xs: Float64Array): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/** Cosine similarity between rows a and b of emb [n × dim]; 0 when either row is zero. */
export function cosineSimilarity(emb: Float32Array, dim: number): (a: number, b: number) => number {
  const n = Math.floor(emb.length / dim);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0, o = i * dim; c < dim; c++, o++) s += emb[o] * emb[o];
    norms[i] = Math.sqrt(s);
  }
  return (a, b) => {
    if (norms[a] === 0 || norms[b] === 0) return 0;
    let dot = 0;
    for (let c = 0, oa = a * dim, ob = b * dim; c < dim; c++) dot += emb[oa + c] * emb[ob + c];
    return dot / (norms[a] * norms[b]);
  };
}

/** Jaccard similarity |A∩B| / |A∪B| of item tag sets; 0 when both are empty. */
export function tagJaccard(itemTags: string[][]): (a: number, b: number) => number {
  const sets = itemTags.map((t) => new Set(t));
  return (a, b) => {
    const A = sets[a];
    const B = sets[b];
    let inter = 0;
    for (const t of A) if (B.has(t)) inter++;
    const union = A.size + B.size - inter;
    return union > 0 ? inter / union : 0;
  };
}

export function monosemanticityEmbedding(
  itemCodes: Float32Array, // [nItems × latents]
  latents: number,
  itemEmb: Float32Array, // [nItems × dim]
  dim: number,
): number {
  return mean(monosemanticityPerNeuron(itemCodes, latents, cosineSimilarity(itemEmb, dim)));
}

export function monosemanticityMetadata(
  itemCodes: Float32Array, // [nItems × latents]
  latents: number,
  itemTags: string[][], // [nItems][]
): number {
  return mean(monosemanticityPerNeuron(itemCodes, latents, tagJaccard(itemTags)));
}

/** Mean neighbourhood coherence of an embedding set (see `neighbourhoodCoherence`). */
export interface NeighbourhoodCoherence {
  /** Mean over every item taken as a centre. */
  mean: number;
  /** Mean over the `best` most coherent centres (the most any `best` neurons could each reach). */
  best: number;
  bestCount: number;
}

/**
 * An SAE-free reference for the embedding MS: take each item as a centre, its `topItems` nearest items by
 * cosine (itself included), and their unweighted mean pairwise cosine. A neuron whose top items were
 * exactly such a neighbourhood would score about this much, so the mean over centres (and over the most
 * coherent `best` centres) says how much MS the recommender's geometry allows, before any SAE.
 */
export function neighbourhoodCoherence(
  itemEmb: Float32Array, // [nItems × dim]
  dim: number,
  topItems = MS_TOP_ITEMS,
  best = 1024,
): NeighbourhoodCoherence {
  const n = Math.floor(itemEmb.length / dim);
  const cos = cosineSimilarity(itemEmb, dim);
  const perCentre = new Float64Array(n);
  const sims = new Float32Array(n);
  for (let centre = 0; centre < n; centre++) {
    for (let j = 0; j < n; j++) sims[j] = cos(centre, j);
    const top = topKExcluding(sims, topItems);
    let sum = 0;
    let pairs = 0;
    for (let a = 0; a < top.length; a++)
      for (let b = a + 1; b < top.length; b++) {
        sum += cos(top[a], top[b]);
        pairs++;
      }
    perCentre[centre] = pairs > 0 ? sum / pairs : 0;
  }
  const bestCount = Math.min(best, n);
  const sorted = Float64Array.from(perCentre).sort().reverse();
  return { mean: mean(perCentre), best: mean(sorted.subarray(0, bestCount)), bestCount };
}
