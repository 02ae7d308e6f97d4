import { buildApp } from './app.ts';
import { ConfigError, loadConfig, type ServerConfig } from './config.ts';

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

  const app = await buildApp({
    config,
    logger: { level: config.logLevel },
    jobs: { bootstrap: true },
  });

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      app.log.error('shutdown took longer than 30 s: exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    app.close().then(
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

  await app.listen({ port: config.port, host: config.host });
}

main().catch((err) => {
  console.error('prism: failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
