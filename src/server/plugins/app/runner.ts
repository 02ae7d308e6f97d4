import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  createJobRunner,
  ensureBootstrapModel,
  JobParamsError,
  type JobRunner,
} from '../../../jobs/index.ts';
import { formatDataSpec, parseDataSpec } from '../../../ml/data/spec.ts';
import { ConfigError, type ServerConfig } from '../../config.ts';

/**
 * PRISM_BOOTSTRAP only seeds a database without an active model; naming other data for one that has one
 * changes nothing, which is easy to miss: say so.
 */
function warnIfBootstrapUnused(app: FastifyInstance, bootstrap: string): void {
  const active = app.store.models.active();
  if (!active) return;
  const canonical = (spec: string) => {
    try {
      return formatDataSpec(parseDataSpec(spec));
    } catch {
      return spec;
    }
  };
  if (canonical(active.datasetSpec) === canonical(bootstrap)) return;
  app.log.warn(
    { bootstrap, activeModel: active.id, activeData: active.datasetSpec },
    'PRISM_BOOTSTRAP is not used: a model is already active; start with a fresh PRISM_DB or enqueue a pipeline job',
  );
}

/** Further bootstrap pipelines enqueued after one fails, per process start. */
const BOOTSTRAP_RETRIES = 2;

export interface RunnerPluginOptions {
  /** Enqueue a bootstrap pipeline on config.bootstrap when no model is active (default false). */
  bootstrap?: boolean;
  /** Passed to the runner (tests shorten them). */
  heartbeatMs?: number;
  staleMs?: number;
  pollMs?: number;
  cancelGraceMs?: number;
  isPidAlive?: (pid: number) => boolean;
  instanceId?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    runner: JobRunner;
  }
}

/**
 * The job runner (worker threads, durable queue). It always exists so jobs can be enqueued; it claims
 * and runs them unless `jobs: false`. Activations (by a job or the API) swap the served model; on close
 * it stops its running job and requeues it, before the store closes.
 */
export default fp(
  async function runnerPlugin(
    app: FastifyInstance,
    opts: { config: ServerConfig; jobs: RunnerPluginOptions | false },
  ) {
    const jobOpts = opts.jobs === false ? {} : opts.jobs;
    const runner = createJobRunner({
      store: app.store,
      workers: opts.config.workers,
      priority: opts.config.jobPriority,
      compute: opts.config.compute,
      memoryMb: opts.config.jobMemoryMb,
      maxSeconds: opts.config.jobMaxSeconds,
      dataRoot: { root: opts.config.dataRoot, exempt: opts.config.bootstrap },
      logger: app.log,
      heartbeatMs: jobOpts.heartbeatMs,
      staleMs: jobOpts.staleMs,
      pollMs: jobOpts.pollMs,
      cancelGraceMs: jobOpts.cancelGraceMs,
      isPidAlive: jobOpts.isPidAlive,
      instanceId: jobOpts.instanceId,
    });
    app.decorate('runner', runner);
    app.models.activator = (id) => runner.activate(id);

    // Serve what the store marks active now, not the event's id: the event of a job that committed in its
    // worker arrives when the worker exits, possibly after a later activation through the API.
    runner.on('model:activated', () => {
      void app.models.loadActive();
    });
    runner.on('job:finished', ({ job, seconds }) => {
      app.metrics.jobsFinished.inc({ type: job.type, status: job.status });
      // A job cancelled while queued never ran, one finished by crash recovery ran for an unknown time:
      // neither has a duration to observe.
      if (seconds !== null) app.metrics.jobDuration.observe({ type: job.type, status: job.status }, seconds);
    });

    if (opts.jobs === false) return;
    app.addHook('onReady', async () => {
      // Started first: its crash recovery requeues or fails jobs a killed process left running, and the
      // bootstrap check below must see the outcome.
      runner.start();
      if (jobOpts.bootstrap) {
        let job: ReturnType<typeof ensureBootstrapModel>;
        try {
          job = ensureBootstrapModel(runner, app.store, opts.config.bootstrap);
        } catch (err) {
          // E.g. its directory is missing: a configuration error, named as such at start-up, with the
          // runner stopped again so the failed start leaves no worker behind.
          await runner.close();
          if (err instanceof JobParamsError) throw new ConfigError('PRISM_BOOTSTRAP', err.reason);
          throw err;
        }
        if (job)
          app.log.info(
            { jobId: job.id, data: opts.config.bootstrap },
            'no active model: bootstrap pipeline pending',
          );
        else warnIfBootstrapUnused(app, opts.config.bootstrap);
        // A bootstrap pipeline that fails (a worker crash, say) is tried again a bounded number of times,
        // so the server does not stay not-ready until a restart; a cancelled one is left cancelled.
        let retriesLeft = BOOTSTRAP_RETRIES;
        runner.on('job:finished', ({ job: done }) => {
          if (done.type !== 'pipeline' || done.status !== 'failed' || done.params.activate === false) return;
          if (app.store.models.active()) return;
          if (retriesLeft <= 0) {
            app.log.error(
              { failedJobId: done.id, error: done.error },
              'bootstrap pipeline failed again: giving up; the server stays not ready until a model is activated',
            );
            return;
          }
          retriesLeft--;
          try {
            const next = ensureBootstrapModel(runner, app.store, opts.config.bootstrap);
            if (next)
              app.log.error(
                { failedJobId: done.id, error: done.error, jobId: next.id, retriesLeft },
                'bootstrap pipeline failed; trying again',
              );
          } catch (err) {
            app.log.error({ err }, 'bootstrap pipeline failed and could not be enqueued again');
          }
        });
      }
    });
    // onClose: Fastify has stopped listening and finished in-flight requests by then (its own close step
    // runs first), so while a job winds down (up to its grace period) new connections are refused rather
    // than answered 503. Registered after the store plugin, so it runs before the store closes.
    app.addHook('onClose', async () => {
      await runner.close();
    });
  },
  { name: 'runner', dependencies: ['store', 'registry', 'metrics'] },
);
