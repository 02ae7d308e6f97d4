import type { Job, JobResult, ModelVersion, Store } from '../store/types.ts';
import { activatesOnSuccess } from './params.ts';
import type { WorkerOutput } from './protocol.ts';

/** The job's row no longer allows saving its results (cancelled, finished or taken over meanwhile). */
export class CommitRefused extends Error {
  constructor(
    message: string,
    readonly cancelled: boolean,
  ) {
    super(message);
    this.name = 'CommitRefused';
  }
}

export interface CommitResult {
  job: Job;
  version: ModelVersion | null;
  activated: boolean;
}

/**
 * Writes everything a job produced — artifacts, the model version (metrics, neurons, report), its
 * activation when asked, and the job's success — in ONE transaction: a crash or error part-way leaves
 * the database exactly as before, so what is served never changes half-way. Inside the transaction
 * the job row must still be running under `job.ownerInstance` with no cancel requested (CommitRefused
 * otherwise): saving is the job's last step, and a cancel that arrived before it wins.
 */
export function commitJobOutput(
  store: Store,
  job: Pick<Job, 'id' | 'type' | 'params' | 'ownerInstance'>,
  output: WorkerOutput,
): CommitResult {
  return store.transaction(() => {
    const current = store.jobs.get(job.id);
    if (current?.status !== 'running') {
      throw new CommitRefused(
        `job ${job.id} is ${current?.status ?? 'gone'}; its results were not saved`,
        false,
      );
    }
    if (current.cancelRequested) throw new CommitRefused('cancelled before its results were saved', true);
    if (current.ownerInstance !== job.ownerInstance) {
      throw new CommitRefused(`job ${job.id} was taken over by instance ${current.ownerInstance}`, false);
    }
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
      // Jobs finish in any order: what serves by a later intent — a job enqueued after this one that
      // already activated its version, or an activation through the API (a rollback) made after this job
      // was enqueued — is not overridden by this job finishing now.
      const intent = store.models.activeIntent();
      const newerServes = intent !== null && intent >= job.id;
      if (version.kind === 'full' && activatesOnSuccess(job.type, job.params) && !newerServes) {
        version = store.models.activate(version.id, job.id);
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
