import type { ModelBundle } from '../ml/bundle.ts';
import type { NeuronInfo } from '../ml/concepts/types.ts';
import { loadCatalog } from '../ml/data/serialize.ts';
import type { Csr } from '../ml/data/types.ts';
import { loadRecommender } from '../ml/models/serialize.ts';
import { loadSae } from '../ml/sae/serialize.ts';

/** Users per item in `interactions` (the catalogue holds the training positives). [nItems] */
export function usersPerItem(interactions: Csr): Int32Array {
  const counts = new Int32Array(interactions.cols);
  for (let p = 0; p < interactions.indptr[interactions.rows]; p++) counts[interactions.indices[p]]++;
  return counts;
}

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
    popularity: usersPerItem(dataset.interactions),
  };
}
