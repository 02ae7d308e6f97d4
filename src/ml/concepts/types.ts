/** What Prism knows about one SAE neuron after concept discovery (src/ml/concepts). */
export type NeuronKind = 'concept' | 'popularity' | 'era' | 'combined' | 'unlabelled' | 'dead';

export interface NeuronInfo {
  index: number;
  /** Human-readable automatic label, e.g. "Horror", "popular", "1990s", "1990s Action"; "" when unlabelled. */
  label: string;
  kind: NeuronKind;
  /** The concept tag the label rests on, when kind is 'concept' or 'combined'. */
  concept: string | null;
  /**
   * The tag the purity fields describe: the label's concept when there is one, else the tag with the best
   * purity@20 even though it did not pass the labelling rule; null when dead or no tags. (Optional: added
   * by concept discovery; older bundles lack it.)
   */
  bestTag?: string | null;
  purity10: number;
  purity20: number;
  purity50: number;
  /** Mean popularity percentile of the top-K items (0 = most popular), in %. */
  popPct20: number;
  popPct50: number;
  /** Dominant decade of the top-50 items (e.g. 1990) and its share, null when years are unknown. */
  decade: number | null;
  decadeShare50: number;
  /** Share of items (and users) on which the neuron is active (> 0). */
  itemDensity: number;
  userDensity: number;
  /** Internal item indices of the top-50 activating items, strongest first. */
  topItems: number[];
  /** One sentence saying why the label was chosen (the rule and the numbers). */
  evidence: string;
}

/** The best neuron for one concept tag. */
export interface ConceptBest {
  concept: string;
  neuron: number;
  purity10: number;
  purity20: number;
  purity50: number;
}
