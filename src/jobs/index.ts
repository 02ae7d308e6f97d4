/**
 * Background jobs: a durable SQLite queue (src/store) drained by worker threads running src/ml.
 *
 * Public API:
 *
 *   createJobRunner({ store, workers?, instanceId?, logger?, heartbeatMs?, staleMs?, pollMs?,
 *                     cancelGraceMs?, progressThrottleMs?, commitInWorker?, isPidAlive?,
 *                     priority?: 'idle' | 'low' | 'normal',                // see priority.ts
 *                     memoryMb?: number | null }): JobRunner              // see memory-budget.ts
 *     runner.enqueue(type: JobType, params?: JobParams, { maxAttempts? }?): Job     // throws JobParamsError (field; code UNKNOWN_MODEL for an unknown base, OVER_MEMORY_BUDGET for a job that does not fit)
 *     runner.cancel(id: number): Job | null          // null = unknown id
 *     runner.get(id: number): Job | null
 *     runner.list(filter?: JobListFilter): Job[]     // newest first; store.jobs.count(filter) for totals
 *     runner.activate(modelId: number): ModelVersion // atomic; emits 'model:activated'
 *     runner.running(): number[]
 *     runner.recoverInterrupted(): RecoveryReport   // start() calls it
 *     runner.start(): void
 *     runner.close(): Promise<void>                  // requeues running jobs; resolves when workers exit
 *     runner.on('job:started', (job: Job) => …)
 *     runner.on('job:progress', ({ id, stage, progress }) => …)
 *     runner.on('job:finished', ({ job, seconds, version }: JobFinishedEvent) => …)
 *     runner.on('model:activated', ({ modelId, version, jobId }: ModelActivatedEvent) => …)
 *
 *   ensureBootstrapModel(runner, store, spec: string): Job | null
 *
 * The server builds the runner from its validated configuration (src/server/plugins/app/runner.ts:
 * PRISM_WORKERS, PRISM_JOB_PRIORITY, PRISM_JOB_MEMORY_MB, PRISM_JOB_MAX_SECONDS; `workers` defaults to 1)
 * and enqueues the bootstrap pipeline (PRISM_BOOTSTRAP) when no version is active.
 *
 * Job types and their params: see JobParams in src/store/types.ts (pipeline activates its version
 * unless activate: false, or a job enqueued after it has activated one already, or an activation through the API came after it was enqueued; train-sae and label only with activate: true; evaluate merges new metrics
 * into its base version; train-recommender records a recommender-only version).
 *
 * How a job runs: claimed atomically from the queue → its own worker thread (src/jobs/worker.ts,
 * started through a tsx bootstrap: see spawn.ts) runs the src/ml/pipeline stages → progress/stage
 * posted to the main thread, written to the job row at most every progressThrottleMs → results
 * (artifacts, version, metrics, neurons, report, activation, job success) written in ONE transaction
 * (src/jobs/commit.ts) — by the worker through its own connection for a file database, so the HTTP
 * event loop never writes megabytes; by the main thread for ':memory:'. Failed or cancelled jobs
 * write nothing but their own row. Cancellation: a shared flag the ML code's signal checks between
 * steps (cancel-flag.ts), then worker.terminate() after cancelGraceMs. Crash recovery: recovery.ts.
 */
export { ensureBootstrapModel } from './bootstrap.ts';
export { JobParamsError, normaliseJobParams } from './params.ts';
export { JOB_PRIORITIES, type JobPriority } from './priority.ts';
export { STAGE_PLANS } from './progress.ts';
export type { RecoveryReport } from './recovery.ts';
export {
  createJobRunner,
  type JobFinishedEvent,
  type JobLogger,
  type JobRunner,
  type JobRunnerEvents,
  type JobRunnerOptions,
  type ModelActivatedEvent,
} from './runner.ts';
