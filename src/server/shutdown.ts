import type { FastifyInstance } from 'fastify';

/**
 * How long in-flight requests get to finish at shutdown. A connection still open after it — one that was
 * opened and sent nothing (a preconnect, a balancer's TCP check), or half a request and stalled — would
 * otherwise hold `app.close()` until Node's 60 s header timeout: past the 30 s forced exit, so the running
 * job would not be requeued but left `running` for the next start to count as a crash. Requests here take
 * milliseconds (a 200-user preview well under a second); 4 s, then a job's 5 s stop grace (the runner stops
 * it once the HTTP server has closed), fits `docker stop`'s default 10 s.
 */
export const DRAIN_MS = 4_000;

/** Closes the app (stop accepting, finish in-flight requests, requeue the job), cutting connections still open after `drainMs`. */
export async function closeGracefully(app: FastifyInstance, drainMs = DRAIN_MS): Promise<void> {
  const cut = setTimeout(() => {
    app.log.warn({ drainMs }, 'connections still open at shutdown: closing them');
    app.server.closeAllConnections();
  }, drainMs);
  // Once the HTTP server has closed, the rest of close() (stopping the job) is not held up by connections.
  app.server.once('close', () => clearTimeout(cut));
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
