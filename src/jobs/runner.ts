import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { ComputeChoice } from '../ml/nn/dense-kernel.ts';
import { StoreError } from '../store/errors.ts';
import type { Job, JobListFilter, JobParams, JobType, ModelVersion, Store } from '../store/types.ts';
import { readBaseModel } from './base.ts';
import { createCancelFlag, raiseCancelFlag } from './cancel-flag.ts';
import { CommitRefused, commitJobOutput } from './commit.ts';
import { confinementProblem, type DataConfinement } from './data-root.ts';
import { checkMemoryAtEnqueue } from './memory-check.ts';
import { normaliseJobParams, rereadsBaseData } from './params.ts';
import type { JobPriority } from './priority.ts';
import type {
  BaseModelInput,
  FromWorker,
  ToWorker,
  WorkerData,
  WorkerInput,
  WorkerOutput,
} from './protocol.ts';
import { type RecoveryReport, recoverInterrupted } from './recovery.ts';
import { spawnTsWorker } from './spawn.ts';

const WORKER_ENTRY = new URL('./worker.ts', import.meta.url);

/** pino-compatible subset. */
export interface JobLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface JobRunnerOptions {
  store: Store;
  /** Jobs run at once (default 1; the server passes PRISM_WORKERS). */
  workers?: number;
  /** This process's identity in job rows (default a random UUID). */
  instanceId?: string;
  /** CPU priority of job threads (default 'normal'; the server passes PRISM_JOB_PRIORITY, see priority.ts). */
  priority?: JobPriority;
  /** What computes jobs' dense products (the SAE's, NCF's MLP; default 'auto'; the server passes PRISM_COMPUTE). */
  compute?: ComputeChoice;
  /** A job's memory budget in MiB (PRISM_JOB_MEMORY_MB); default null, what is free when it is checked; 0 = unchecked. */
  memoryMb?: number | null;
  logger?: JobLogger;
  /** How often running jobs' heartbeats are written and other processes' cancels are read (2000). */
  heartbeatMs?: number;
  /** A running job whose heartbeat is older than this is considered orphaned (30000). */
  staleMs?: number;
  /** How often the queue is polled for jobs enqueued by other processes (1000). */
  pollMs?: number;
  /** Time a cancelled worker gets to stop at its next step before it is terminated (5000). */
  cancelGraceMs?: number;
  /**
   * A running job's time limit in seconds (PRISM_JOB_MAX_SECONDS): past it the job is stopped like a
   * cancelled one and fails saying so. null (default): no limit.
   */
  maxSeconds?: number | null;
  /** Minimum interval between progress writes of one job (250). */
  progressThrottleMs?: number;
  /**
   * Let a job's worker save its results through its own connection (default true; only possible for
   * a file database). Off, the results travel back and the main thread writes them.
   */
  commitInWorker?: boolean;
  /** Test hook: decides whether another process's pid is alive. */
  isPidAlive?: (pid: number) => boolean;
  /**
   * The server's data confinement, checked again as each job starts (the files may have changed since
   * it was enqueued, or the job was queued before PRISM_DATA_ROOT was set): `root` is PRISM_DATA_ROOT
   * (null: synthetic data only), `exempt` the operator's own spec (PRISM_BOOTSTRAP). Unset: not checked.
   */
  dataRoot?: DataConfinement;
}

export interface JobFinishedEvent {
  job: Job;
  /** Wall seconds from claim to finish; null when unknown (a job finished by crash recovery, or never run). */
  seconds: number | null;
  version: ModelVersion | null;
}

export interface ModelActivatedEvent {
  modelId: number;
  version: ModelVersion;
  /** The job that activated it; null for an activation through `runner.activate`. */
  jobId: number | null;
}

export interface JobRunnerEvents {
  'job:started': [job: Job];
  'job:progress': [job: { id: number; stage: string; progress: number }];
  'job:finished': [event: JobFinishedEvent];
  'model:activated': [event: ModelActivatedEvent];
}

export interface JobRunner {
  readonly instanceId: string;
  /**
   * Validates params (JobParamsError naming the field), stores the job queued, wakes the runner. `admit`,
   * when given, runs once the request is known to be valid and before it is stored (a queue limit: a bad
   * request is refused for what is wrong with it, whatever the queue holds), in the insert's IMMEDIATE
   * transaction, so processes sharing the database pass it one at a time.
   */
  enqueue(type: JobType, params?: JobParams, opts?: { maxAttempts?: number; admit?: () => void }): Job;
  /** Queued → cancelled at once; running → stops at its next step (terminated after the grace period). */
  cancel(id: number): Job | null;
  get(id: number): Job | null;
  list(filter?: JobListFilter): Job[];
  /** Ids of the jobs this runner is executing now. */
  running(): number[];
  /** Makes a version the served one (one transaction) and emits 'model:activated'. */
  activate(modelId: number): ModelVersion;
  /** Requeues or fails jobs orphaned by dead processes (start() runs it too). */
  recoverInterrupted(): RecoveryReport;
  /** Recovers, then starts claiming jobs. */
  start(): void;
  /**
   * Stops claiming; running jobs are stopped and requeued (attempt refunded) so a restart re-runs
   * them. Resolves when every worker has exited.
   */
  close(): Promise<void>;
  on<E extends keyof JobRunnerEvents>(event: E, fn: (...args: JobRunnerEvents[E]) => void): JobRunner;
  off<E extends keyof JobRunnerEvents>(event: E, fn: (...args: JobRunnerEvents[E]) => void): JobRunner;
}

/** Why the runner stopped a job: a cancel, the server shutting down, or its time limit. */
type StopReason = 'cancel' | 'shutdown' | 'timeout';

interface Running {
  job: Job;
  worker: Worker;
  cancelFlag: Int32Array;
  startedAt: number;
  stopReason: StopReason | null;
  killTimer: NodeJS.Timeout | null;
  /** Fires when the job runs past `maxSeconds`. */
  limitTimer: NodeJS.Timeout | null;
  /** True once the grace period ran out and the worker was terminated instead of stopping by itself. */
  terminated: boolean;
  lastWrite: number;
  done: Promise<void>;
}

export function createJobRunner(opts: JobRunnerOptions): JobRunner {
  const { store } = opts;
  const workers = opts.workers ?? 1;
  const compute = opts.compute ?? 'auto';
  // host/uuid: process ids mean something only on the host (pid namespace) that issued them (store/jobs.ts).
  const instanceId = opts.instanceId ?? `${hostname()}/${randomUUID()}`;
  const owner = { instanceId, pid: process.pid };
  const heartbeatMs = opts.heartbeatMs ?? 2000;
  const staleMs = opts.staleMs ?? 30_000;
  const pollMs = opts.pollMs ?? 1000;
  const cancelGraceMs = opts.cancelGraceMs ?? 5000;
  const throttleMs = opts.progressThrottleMs ?? 250;
  const log = opts.logger;
  const workerCommit =
    opts.commitInWorker !== false && store.path !== ':memory:'
      ? { dbPath: store.path, ownerInstance: instanceId }
      : null;
  const emitter = new EventEmitter();
  const active = new Map<number, Running>();
  let started = false;
  let closing = false;
  let timers: NodeJS.Timeout[] = [];
  let lastRecovery = 0;

  const emit = <E extends keyof JobRunnerEvents>(event: E, ...args: JobRunnerEvents[E]) => {
    try {
      emitter.emit(event, ...args);
    } catch (err) {
      log?.error({ err, event }, 'job runner listener threw');
    }
  };

  const recover = (): RecoveryReport => {
    lastRecovery = Date.now();
    const report = recoverInterrupted(
      store,
      owner,
      { staleMs, isPidAlive: opts.isPidAlive, isRunningHere: (id) => active.has(id) },
      (err, job) => log?.error({ err, jobId: job.id }, 'recovering an interrupted job failed; retried later'),
    );
    for (const job of report.requeued)
      log?.warn({ jobId: job.id, reason: job.error }, 'requeued interrupted job');
    for (const job of [...report.failed, ...report.cancelled]) {
      log?.warn({ jobId: job.id, status: job.status, reason: job.error }, 'finished interrupted job');
      emit('job:finished', { job, seconds: null, version: null }); // how long it ran is not known
    }
    return report;
  };

  function pump(): void {
    if (!started || closing) return;
    while (active.size < workers) {
      let job: Job | null;
      try {
        job = store.jobs.claimNext(owner);
      } catch (err) {
        log?.error({ err }, 'claiming a job failed');
        return;
      }
      if (!job) return;
      launch(job);
    }
  }

  /** The base version's artifacts; a worker with its own connection reads them itself. */
  function baseInput(job: Job): BaseModelInput | null {
    const id = job.params.baseModelId;
    if (id === undefined || workerCommit) return null;
    return readBaseModel(store, id, job.type !== 'train-sae');
  }

  /** The data spec a job will read files from: its own, or its base version's (train-sae, evaluate). */
  function dataRead(job: Job): string | undefined {
    if (job.params.data !== undefined) return job.params.data;
    const id = job.params.baseModelId;
    if (id === undefined || !rereadsBaseData(job.type)) return undefined;
    return store.models.get(id)?.datasetSpec;
  }

  function launch(job: Job): void {
    const outside = opts.dataRoot ? confinementProblem(dataRead(job), opts.dataRoot) : null;
    if (outside) {
      settle(job, Date.now(), {
        kind: 'failed',
        error: `data, checked as the job started: ${outside.message}`,
      });
      return;
    }
    let input: WorkerInput;
    try {
      input = { jobId: job.id, type: job.type, params: job.params, base: baseInput(job) };
    } catch (err) {
      settle(job, Date.now(), { kind: 'failed', error: (err as Error).message });
      return;
    }
    const transfer = input.base
      ? [input.base.catalog, input.base.recommender, input.base.sae]
          .filter((b): b is Uint8Array => b !== null)
          .map((b) => b.buffer as ArrayBuffer)
      : [];
    const cancelFlag = createCancelFlag();
    let worker: Worker;
    try {
      const data: WorkerData = {
        input,
        cancelFlag,
        commit: workerCommit,
        priority: opts.priority ?? 'normal',
        memoryMb: opts.memoryMb ?? null,
        compute,
      };
      worker = spawnTsWorker(WORKER_ENTRY, data, transfer);
    } catch (err) {
      settle(job, Date.now(), {
        kind: 'failed',
        error: `could not start a worker: ${(err as Error).message}`,
      });
      return;
    }
    let outcome: FromWorker | null = null;
    let crash: Error | null = null;
    const run: Running = {
      job,
      worker,
      cancelFlag,
      startedAt: Date.now(),
      stopReason: null,
      killTimer: null,
      limitTimer: null,
      terminated: false,
      lastWrite: 0,
      done: Promise.resolve(),
    };
    run.done = new Promise<void>((resolve) => {
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'progress') onProgress(run, msg);
        else outcome = msg;
        if (msg.type === 'error' && msg.detail)
          log?.error({ jobId: job.id, detail: msg.detail }, 'job failed with an internal error');
      });
      worker.on('error', (err) => {
        crash = err;
      });
      worker.on('exit', (code) => {
        if (run.killTimer) clearTimeout(run.killTimer);
        if (run.limitTimer) clearTimeout(run.limitTimer);
        active.delete(job.id);
        settle(job, run.startedAt, decide(run, outcome, crash, code));
        resolve();
        pump();
      });
    });
    active.set(job.id, run);
    const maxSeconds = opts.maxSeconds ?? null;
    if (maxSeconds !== null) run.limitTimer = setTimeout(() => stop(run, 'timeout'), maxSeconds * 1000);
    log?.info({ jobId: job.id, type: job.type, attempt: job.attempts }, 'job started');
    emit('job:started', job);
  }

  function onProgress(run: Running, msg: Extract<FromWorker, { type: 'progress' }>): void {
    const now = Date.now();
    const stageChanged = msg.stage !== run.job.stage;
    if (!stageChanged && now - run.lastWrite < throttleMs) return;
    run.lastWrite = now;
    run.job = { ...run.job, stage: msg.stage, progress: msg.progress };
    try {
      store.jobs.updateProgress(
        run.job.id,
        { stage: msg.stage, progress: msg.progress, timings: msg.timings },
        instanceId,
      );
    } catch (err) {
      log?.error({ err, jobId: run.job.id }, 'writing job progress failed');
    }
    emit('job:progress', { id: run.job.id, stage: msg.stage, progress: msg.progress });
  }

  type Settlement =
    | { kind: 'done'; output: WorkerOutput }
    | { kind: 'committed'; modelId: number | null; activated: boolean }
    | { kind: 'failed'; error: string }
    | { kind: 'cancelled'; error: string }
    | { kind: 'requeue'; error: string };

  function decide(run: Running, outcome: FromWorker | null, crash: Error | null, code: number): Settlement {
    const cancelRequested =
      run.stopReason === 'cancel' || store.jobs.get(run.job.id)?.cancelRequested === true;
    if (outcome?.type === 'committed')
      return { kind: 'committed', modelId: outcome.modelId, activated: outcome.activated };
    if (outcome?.type === 'done') {
      // Saving is a step too: a cancel or the time limit that arrived before it wins.
      if (cancelRequested) return { kind: 'cancelled', error: 'cancelled before its results were saved' };
      if (run.stopReason === 'timeout') return { kind: 'failed', error: timedOut(run) };
      return { kind: 'done', output: outcome.output };
    }
    // A cancel wins over a shutdown: requeued, the job would run again after the restart.
    if (cancelRequested && run.stopReason === 'shutdown')
      return { kind: 'cancelled', error: 'cancelled while running (the server was shutting down)' };
    if (run.stopReason === 'shutdown')
      return { kind: 'requeue', error: 'requeued: the server shut down while it ran' };
    if (cancelRequested)
      return {
        kind: 'cancelled',
        error: run.terminated
          ? `cancelled while running; terminated after the ${cancelGraceMs} ms grace period`
          : 'cancelled while running',
      };
    if (run.stopReason === 'timeout') return { kind: 'failed', error: timedOut(run) };
    if (outcome?.type === 'error') return { kind: 'failed', error: outcome.message };
    return {
      kind: 'failed',
      error: `worker ${crash ? `crashed: ${crash.message}` : `exited with code ${code}`}`,
    };
  }

  function timedOut(run: Running): string {
    const terminated = run.terminated ? `; terminated after the ${cancelGraceMs} ms grace period` : '';
    return `stopped after ${opts.maxSeconds} s (PRISM_JOB_MAX_SECONDS)${terminated}`;
  }

  function settle(job: Job, startedAt: number, s: Settlement): void {
    const seconds = (Date.now() - startedAt) / 1000;
    try {
      if (s.kind === 'requeue' || s.kind === 'failed' || s.kind === 'cancelled') {
        const row = store.jobs.get(job.id);
        if (row?.status === 'succeeded' && row.ownerInstance === instanceId) {
          // The worker saved its results but stopped before saying so.
          const modelId = typeof row.result?.modelId === 'number' ? row.result.modelId : null;
          s = { kind: 'committed', modelId, activated: row.result?.activated === true };
        }
      }
      if (s.kind === 'requeue') {
        try {
          store.jobs.requeue(job.id, s.error, { refundAttempt: true, owner: instanceId });
        } catch (err) {
          if (!(err instanceof StoreError)) throw err;
          // Taken over by another instance while this one stalled: its run goes on undisturbed.
          log?.warn({ jobId: job.id }, 'job row changed hands; left as is');
          return;
        }
        log?.info({ jobId: job.id }, 'job requeued at shutdown');
        return;
      }
      if (s.kind === 'committed') {
        // The row may be gone already (a client saw `succeeded` and deleted it): the events still go out.
        const finished = store.jobs.get(job.id) ?? { ...job, status: 'succeeded' as const, progress: 1 };
        const version = s.modelId === null ? null : store.models.get(s.modelId);
        log?.info({ jobId: job.id, seconds, modelId: s.modelId, activated: s.activated }, 'job succeeded');
        emit('job:finished', { job: finished, seconds, version });
        if (s.activated && version) emit('model:activated', { modelId: version.id, version, jobId: job.id });
        return;
      }
      if (s.kind === 'done') {
        const t0 = performance.now();
        const { job: finished, version, activated } = commitJobOutput(store, job, s.output);
        const commitMs = Math.round(performance.now() - t0);
        log?.info({ jobId: job.id, seconds, commitMs, modelId: version?.id, activated }, 'job succeeded');
        emit('job:finished', { job: finished, seconds, version });
        if (activated && version) emit('model:activated', { modelId: version.id, version, jobId: job.id });
        return;
      }
      const row = store.jobs.get(job.id);
      if (row?.status !== 'running' || row.ownerInstance !== instanceId) {
        log?.warn(
          { jobId: job.id, status: row?.status, owner: row?.ownerInstance },
          'job row changed hands; left as is',
        );
        return;
      }
      // Guarded again in the write: a takeover between the read above and here must win.
      const finished = store.jobs.finish(job.id, { status: s.kind, error: s.error }, { owner: instanceId });
      log?.[s.kind === 'failed' ? 'warn' : 'info'](
        { jobId: job.id, seconds, error: s.error },
        `job ${s.kind}`,
      );
      emit('job:finished', { job: finished, seconds, version: null });
    } catch (err) {
      // The commit transaction rolled back: nothing of the job's output is stored.
      if (err instanceof CommitRefused) {
        if (err.cancelled) settle(job, startedAt, { kind: 'cancelled', error: err.message });
        else log?.warn({ jobId: job.id, reason: err.message }, 'results not saved');
        return;
      }
      const message = `saving the job's results failed: ${(err as Error).message}`;
      log?.error({ err, jobId: job.id }, message);
      try {
        const finished = store.jobs.finish(
          job.id,
          { status: 'failed', error: message },
          { owner: instanceId },
        );
        emit('job:finished', { job: finished, seconds, version: null });
      } catch {
        // Already finished (e.g. recovered by another process).
      }
    }
  }

  function stop(run: Running, reason: StopReason): void {
    if (run.stopReason) return;
    run.stopReason = reason;
    raiseCancelFlag(run.cancelFlag);
    run.worker.postMessage({ type: 'cancel' } satisfies ToWorker);
    run.killTimer = setTimeout(() => {
      log?.warn({ jobId: run.job.id }, 'job did not stop in time; terminating its worker');
      run.terminated = true;
      void run.worker.terminate();
    }, cancelGraceMs);
  }

  function tick(): void {
    const ids = [...active.keys()];
    if (ids.length > 0) {
      try {
        store.jobs.heartbeat(ids, instanceId);
        for (const id of ids) {
          const run = active.get(id);
          if (run && !run.stopReason && store.jobs.get(id)?.cancelRequested) stop(run, 'cancel');
        }
      } catch (err) {
        log?.error({ err }, 'job heartbeat failed');
      }
    }
  }

  const runner: JobRunner = {
    instanceId,
    enqueue(type, params = {}, enqueueOpts) {
      const normalised = normaliseJobParams(store, type, params);
      checkMemoryAtEnqueue(store, type, normalised, opts.memoryMb ?? null, compute);
      const job = store.transaction(() => {
        enqueueOpts?.admit?.();
        return store.jobs.enqueue(type, normalised, { maxAttempts: enqueueOpts?.maxAttempts });
      });
      log?.info({ jobId: job.id, type }, 'job enqueued');
      queueMicrotask(pump);
      return job;
    },
    cancel(id) {
      // The local worker stops first (in memory): a write that fails below must not leave it running.
      const run = active.get(id);
      if (run) stop(run, 'cancel');
      const before = store.jobs.get(id)?.status;
      const job = store.jobs.requestCancel(id);
      // Only the call that cancelled a queued job reports it finished (a repeated cancel is not news).
      if (!run && job?.status === 'cancelled' && before === 'queued')
        emit('job:finished', { job, seconds: null, version: null });
      return job;
    },
    get: (id) => store.jobs.get(id),
    list: (filter) => store.jobs.list(filter),
    running: () => [...active.keys()],
    activate(modelId) {
      const version = store.models.activate(modelId);
      emit('model:activated', { modelId, version, jobId: null });
      return version;
    },
    recoverInterrupted: recover,
    start() {
      if (started || closing) return;
      started = true;
      recover();
      timers = [
        setInterval(tick, heartbeatMs),
        setInterval(() => {
          if (Date.now() - lastRecovery >= staleMs) recover();
          pump();
        }, pollMs),
      ];
      for (const t of timers) t.unref();
      pump();
    },
    async close() {
      closing = true;
      for (const t of timers) clearInterval(t);
      timers = [];
      const runs = [...active.values()];
      for (const run of runs) stop(run, 'shutdown');
      await Promise.all(runs.map((r) => r.done));
    },
    on(event, fn) {
      emitter.on(event, fn as (...args: unknown[]) => void);
      return runner;
    },
    off(event, fn) {
      emitter.off(event, fn as (...args: unknown[]) => void);
      return runner;
    },
  };
  return runner;
}
