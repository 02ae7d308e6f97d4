import { StoreError } from '../store/errors.ts';
import type { Store } from '../store/types.ts';
import type { BaseModelInput } from './protocol.ts';

/** A stored version's artifacts (verified, copied into their own buffers) for a job to start from. */
export function readBaseModel(store: Store, id: number): BaseModelInput {
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
    sae: v.artifacts.sae ? store.artifacts.get(v.artifacts.sae).slice() : null,
  };
}
