import type { ModelVersion, Store } from './types.ts';

/**
 * A new version row over the same artifacts, neurons and report as `id` (what a relabel produces,
 * SAE-wise, without training): for benchmarks and tests that switch between two versions.
 */
export function twinVersion(store: Store, id: number): ModelVersion {
  const v = store.models.get(id);
  if (!v) throw new Error(`model version ${id} not found`);
  const { id: _id, active: _a, createdAt: _c, activatedAt: _t, sourceJobId: _s, artifacts, ...rest } = v;
  return store.models.create({
    ...rest,
    latents: v.latents ?? undefined,
    artifacts,
    neuronsJson: JSON.stringify(store.models.neurons(id)),
    reportJson: store.models.reportJson(id) ?? undefined,
  });
}
