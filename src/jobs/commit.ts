import type { Job, JobResult, ModelVersion, Store } from '../store/types.ts';
import { activatesOnSuccess } from './params.ts';
import type { WorkerOutput } from './protocol.ts';

export interface CommitResult {
  job: Job;
  version: ModelVersion | null;
  activated: boolean;
}

/**
 * Writes everything a job produced — artifacts, the model version (metrics, neurons, report), its
 * activation when asked, and the job's success — in ONE transaction: a crash or error part-way leaves
 * the database exactly as before, so what is served never changes half-way.
 */
export function commitJobOutput(store: Store, job: Job, output: WorkerOutput): CommitResult {
  return store.transaction(() => {
    const base = job.params.baseModelId !== undefined ? store.models.get(job.params.baseModelId) : null;
    let version: ModelVersion | null = null;
    let activated = false;
    if (output.version) {
      const sha = (role: 'catalog' | 'recommender' | 'sae'): string | null => {
        const bytes = output.artifacts[role];
        if (bytes) return store.artifacts.put(role, bytes).sha256;
        return base?.artifacts[role] ?? null;
      };
      const catalog = sha('catalog');
      const recommender = sha('recommender');
      if (!catalog || !recommender) throw new Error(`job ${job.id} produced no catalogue or recommender`);
      const v = output.version;
      version = store.models.create({
        ...v,
        metrics: output.metrics,
        artifacts: { catalog, recommender, sae: v.kind === 'full' ? sha('sae') : null },
        jobId: job.id,
        parentId: base?.id ?? null,
      });
      if (version.kind === 'full' && activatesOnSuccess(job.type, job.params)) {
        version = store.models.activate(version.id);
        activated = true;
      }
    } else if (base) {
      store.models.setMetrics(base.id, { ...base.metrics, ...output.metrics });
    }
    const result: JobResult = {
      ...output.summary,
      ...(version ? { modelId: version.id } : {}),
      ...(base ? { baseModelId: base.id } : {}),
      activated,
    };
    store.jobs.updateProgress(job.id, { stage: 'done', timings: output.timings });
    return { job: store.jobs.finish(job.id, { status: 'succeeded', result }), version, activated };
  });
}
