import type { Job, Store } from '../store/types.ts';
import type { JobRunner } from './runner.ts';

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
