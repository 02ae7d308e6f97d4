import cluster from 'node:cluster';
import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type ServerConfig, unknownVariables } from './config.ts';
import { closeGracefully } from './shutdown.ts';

/**
 * `npm start`: validates the configuration, builds the app (SQLite store, migrations, job runner, and a
 * bootstrap pipeline when no model is active), listens, and shuts down gracefully on SIGINT/SIGTERM:
 * stop accepting, finish in-flight requests, let the runner checkpoint or requeue its running job.
 */
async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`prism: invalid configuration: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }

  if (config.processes > 1 && cluster.isPrimary) return runPrimary(config.processes);
  // With several processes, only the first runs jobs (the queue's claims are per process).
  const runsJobs = cluster.isPrimary || process.env.PRISM_PROCESS_INDEX === '0';

  const app = await buildApp({
    config,
    logger: { level: config.logLevel },
    jobs: runsJobs ? { bootstrap: true } : false,
    // Each process counts its own requests: a label keeps their series apart (docker/README.md).
    metricsLabels: cluster.isWorker ? { process: process.env.PRISM_PROCESS_INDEX ?? '?' } : undefined,
    reportsQueue: runsJobs,
  });

  // Once per server, not once per cluster process.
  if (runsJobs)
    for (const variable of unknownVariables())
      app.log.warn({ variable }, 'unknown PRISM_ variable ignored (misspelt?); see docker/README.md');

  let closing = false;
  let closingSince = 0;
  const shutdown = (signal: string) => {
    // A server process of a cluster gets a terminal's or systemd's signal itself and again from the
    // primary, which forwards it: that second copy is not an operator asking to hurry.
    if (closing && cluster.isWorker && Date.now() - closingSince < 2000) return;
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    closingSince = Date.now();
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      app.log.error('shutdown took longer than 30 s: exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    closeGracefully(app).then(
      () => {
        app.log.info('shut down cleanly');
        process.exit(0);
      },
      (err) => {
        app.log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // The job runner is already going (it starts when the app is ready): hand its job back, attempt
    // refunded, instead of leaving it 'running' for the next start to count as a crash.
    closing = true;
    await app.close().catch(() => {});
    throw err;
  }
  process.send?.(LISTENING);
}

/** What a cluster's server process tells the primary once it listens. */
const LISTENING = 'prism:listening';
/** A process that keeps dying after it started is given up on past this many restarts a minute. */
const MAX_RESTARTS_PER_MINUTE = 5;

/**
 * PRISM_PROCESSES > 1: forks that many server processes sharing the port (node:cluster), restarts one
 * that dies unexpectedly after it was listening (at most MAX_RESTARTS_PER_MINUTE times a minute), and
 * passes SIGINT/SIGTERM on so each shuts down gracefully. A process that dies before it ever listened
 * (bad bootstrap data, an unopenable database, a taken port) would only fail again: the whole server
 * stops and exits 1 instead of restarting it forever.
 */
function runPrimary(n: number): void {
  let stopping = false;
  /** Exit 1: a process was given up on, or one did not shut down cleanly when asked to. */
  let failed = false;
  const restarts: number[] = [];
  const fork = (index: number) => {
    let listening = false;
    const worker = cluster.fork({ PRISM_PROCESS_INDEX: String(index) });
    worker.on('message', (m) => {
      if (m === LISTENING) listening = true;
    });
    worker.on('exit', (code, signal) => {
      if (stopping) {
        if (code !== 0) failed = true;
        return;
      }
      const now = Date.now();
      while (restarts.length > 0 && now - restarts[0] > 60_000) restarts.shift();
      if (!listening || restarts.length >= MAX_RESTARTS_PER_MINUTE) {
        const why = listening ? `died ${restarts.length + 1} times within a minute` : 'failed to start';
        console.error(`prism: server process ${index} ${why} (${signal ?? code}); stopping the server`);
        failed = true;
        return stop('SIGTERM');
      }
      restarts.push(now);
      console.error(`prism: server process ${index} exited (${signal ?? code}); restarting it`);
      fork(index);
    });
  };
  for (let i = 0; i < n; i++) fork(i);
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    exitWhenAllGone();
  };
  const exitWhenAllGone = () => {
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  cluster.on('exit', exitWhenAllGone);
  cluster.on('disconnect', exitWhenAllGone);
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(`prism: invalid configuration: ${err.message}`);
  else console.error('prism: failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
