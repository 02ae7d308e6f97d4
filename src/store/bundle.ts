import type { ModelBundle } from '../ml/bundle.ts';
import type { NeuronInfo } from '../ml/concepts/types.ts';
import { loadCatalog } from '../ml/data/serialize.ts';
import { itemPopularity } from '../ml/data/stats.ts';
import { loadRecommender } from '../ml/models/serialize.ts';
import { loadSae } from '../ml/sae/serialize.ts';

/** Decodes stored artifacts (each verified by its own checksum) into a servable bundle. */
export function decodeBundle(parts: {
  catalog: Uint8Array;
  recommender: Uint8Array;
  sae: Uint8Array;
  neurons: NeuronInfo[];
}): ModelBundle {
  const dataset = loadCatalog(parts.catalog);
  return {
    dataset,
    recommender: loadRecommender(parts.recommender),
    sae: loadSae(parts.sae),
    neurons: parts.neurons,
    // The catalogue holds the training positives, so this is users per item in training.
    popularity: itemPopularity(dataset.interactions),
  };
}
