import type { NeuronInfo } from './types.ts';

/**
 * Matryoshka hierarchy: which coarse neuron (first prefix, indices < `coarse`) each live finer neuron
 * refines. The parent of a fine neuron f is the coarse neuron c with the highest conditional co-activation
 * over items, P(c active | f active) = |{i : z_if > 0 ∧ z_ic > 0}| / |{i : z_if > 0}| (f's items lie inside
 * c's); ties (several coarse neurons containing f entirely are common) go to the more specific coarse
 * neuron (active on fewer items), then the higher decoder cosine (when the decoder is given), then the
 * lower index. A fine neuron whose best
 * co-activation is below `minCoactivation` has no parent (listed in `orphans`).
 */
export const MIN_COACTIVATION = 0.5;

export interface HierarchyChild {
  neuron: number;
  label: string;
  /** P(parent active | this neuron active) over items. */
  coactivation: number;
  /** Cosine between the two decoder directions, null without a decoder. */
  cosine: number | null;
}

export interface HierarchyNode {
  neuron: number;
  label: string;
  children: HierarchyChild[]; // strongest co-activation first
}

export interface MatryoshkaHierarchy {
  coarse: number;
  nodes: HierarchyNode[]; // one per live coarse neuron, in index order
  orphans: number[]; // live fine neurons without a parent
}

export interface HierarchyInput {
  itemCodes: Float32Array; // [nItems × latents]
  latents: number;
  /** Size of the first Matryoshka prefix. */
  coarse: number;
  neurons: NeuronInfo[]; // [latents] labels; dead neurons are skipped
  /** Decoder directions [latents × inputDim] (the SAE's tied W), optional. */
  decoder?: Float32Array;
  inputDim?: number;
  minCoactivation?: number;
}

export function matryoshkaHierarchy(input: HierarchyInput): MatryoshkaHierarchy {
  const { itemCodes, latents, coarse, neurons, decoder, inputDim = 0 } = input;
  const minCo = input.minCoactivation ?? MIN_COACTIVATION;
  const nItems = Math.floor(itemCodes.length / latents);
  const nFine = latents - coarse;
  const joint = new Int32Array(Math.max(0, nFine) * coarse); // [fine × coarse] co-active item counts
  const fineActive = new Int32Array(Math.max(0, nFine));
  const coarseActive = new Int32Array(coarse);
  const activeCoarse: number[] = [];
  for (let i = 0; i < nItems; i++) {
    const o = i * latents;
    activeCoarse.length = 0;
    for (let c = 0; c < coarse; c++) if (itemCodes[o + c] > 0) activeCoarse.push(c);
    for (const c of activeCoarse) coarseActive[c]++;
    for (let f = coarse; f < latents; f++) {
      if (!(itemCodes[o + f] > 0)) continue;
      const row = (f - coarse) * coarse;
      fineActive[f - coarse]++;
      for (const c of activeCoarse) joint[row + c]++;
    }
  }
  const cosine = (a: number, b: number): number | null =>
    decoder && inputDim > 0 ? rowCosine(decoder, inputDim, a, b) : null;
  const isLive = (j: number): boolean => neurons[j]?.kind !== 'dead';
  const nodes: HierarchyNode[] = [];
  const nodeOf = new Map<number, HierarchyNode>();
  for (let c = 0; c < coarse; c++) {
    if (!isLive(c)) continue;
    const node = { neuron: c, label: neurons[c]?.label ?? '', children: [] };
    nodes.push(node);
    nodeOf.set(c, node);
  }
  const orphans: number[] = [];
  for (let f = coarse; f < latents; f++) {
    if (!isLive(f)) continue;
    const n = fineActive[f - coarse];
    let best = -1;
    let bestCo = -1;
    let bestCos: number | null = null;
    for (const node of nodes) {
      const c = node.neuron;
      const co = n > 0 ? joint[(f - coarse) * coarse + c] / n : 0;
      const cos = cosine(f, c);
      const tie = co === bestCo;
      const moreSpecific = tie && coarseActive[c] < coarseActive[best];
      const sameSupport = tie && coarseActive[c] === coarseActive[best];
      if (co > bestCo || moreSpecific || (sameSupport && cos !== null && bestCos !== null && cos > bestCos)) {
        best = c;
        bestCo = co;
        bestCos = cos;
      }
    }
    if (best < 0 || bestCo < minCo) {
      orphans.push(f);
      continue;
    }
    nodeOf
      .get(best)!
      .children.push({ neuron: f, label: neurons[f]?.label ?? '', coactivation: bestCo, cosine: bestCos });
  }
  for (const node of nodes)
    node.children.sort((a, b) => b.coactivation - a.coactivation || a.neuron - b.neuron);
  return { coarse, nodes, orphans };
}

function rowCosine(W: Float32Array, d: number, a: number, b: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let c = 0; c < d; c++) {
    const x = W[a * d + c];
    const y = W[b * d + c];
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
