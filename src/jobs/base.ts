import { StoreError } from '../store/errors.ts';
import type { Store } from '../store/types.ts';
import type { BaseModelInput } from './protocol.ts';

/**
 * A stored version's artifacts (verified, copied into their own buffers) for a job to start from.
 * `withSae` false (a train-sae job, which trains its own): the base's SAE is not read, so a damaged one
 * does not stop the job that replaces it.
 */
export function readBaseModel(store: Store, id: number, withSae = true): BaseModelInput {
  const v = store.models.get(id);
  if (!v) throw new StoreError('NOT_FOUND', `base model version ${id} no longer exists`);
  return {
    id: v.id,
    kind: v.kind,
    datasetSpec: v.datasetSpec,
    metrics: v.metrics,
    reportJson: store.models.reportJson(id),
    catalog: store.artifacts.get(v.artifacts.catalog).slice(),
    recommender: store.artifacts.get(v.artifacts.recommender).slice(),
    sae: withSae && v.artifacts.sae ? store.artifacts.get(v.artifacts.sae).slice() : null,
  };
}
