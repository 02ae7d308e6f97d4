import type { Job, Store } from '../store/types.ts';
import type { JobRunner } from './runner.ts';

/** The data spec of the first pipeline: PRISM_BOOTSTRAP, default the built-in synthetic dataset. */
export function bootstrapSpecFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const spec = env.PRISM_BOOTSTRAP?.trim();
  return spec ? spec : 'synthetic';
}

/**
 * When no model version is active, makes sure a pipeline job on `spec` will produce and activate
 * one: returns the pending pipeline job (queued or running, e.g. requeued after a crash) or enqueues
 * a new one. Returns null when a model is already active.
 */
export function ensureBootstrapModel(runner: JobRunner, store: Store, spec: string): Job | null {
  // One transaction: server processes starting together on one database enqueue one pipeline, not one each.
  return store.transaction(() => {
    if (store.models.active()) return null;
    const pending = store.jobs.list({ status: ['queued', 'running'], type: 'pipeline' });
    const activating = pending.find((j) => j.params.activate !== false && !j.cancelRequested);
    if (activating) return activating;
    return runner.enqueue('pipeline', { data: spec, activate: true });
  });
}
