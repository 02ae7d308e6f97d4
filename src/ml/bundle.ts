import type { NeuronInfo } from './concepts/types.ts';
import type { Dataset } from './data/types.ts';
import type { Recommender } from './models/types.ts';
import type { SaePair } from './sae/types.ts';

/**
 * Everything needed to serve, explain and steer: the catalogue (ids, titles, tags, years, training
 * positives as `dataset.interactions`), the frozen recommender, its SAE(s) and the labelled neurons.
 * Jobs produce it, the store persists its parts as artifacts, the server holds the active one.
 */
export interface ModelBundle {
  dataset: Dataset;
  recommender: Recommender;
  sae: SaePair;
  neurons: NeuronInfo[];
  /** Users per item in the training data. [nItems] */
  popularity: Int32Array;
}
