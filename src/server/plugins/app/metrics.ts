import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface PrismMetrics {
  registry: Registry;
  /** Job durations by type and final status; observed by the runner plugin. */
  jobDuration: Histogram<'type' | 'status'>;
  jobsFinished: Counter<'type' | 'status'>;
  /** Set on each scrape from the store: jobs by status. */
  jobsByStatus: Gauge<'status'>;
  /** Hits and misses of the recommendations cache. */
  recCache: Counter<'result'>;
  /**
   * Requests Fastify refused before routing (a malformed URL, an id past the path limit): they reach no
   * route, so no onResponse hook and no latency series sees them.
   */
  refused: Counter<'status_code' | 'code'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: PrismMetrics;
  }
}

/**
 * Request latency buckets, in seconds. A cached or candidate-list request takes 20–100 µs of server time,
 * so the low end is finely divided (with 0.5 ms as the first bucket, 99.9 % of the hot path fell into it
 * and every quantile read as 0.25–0.5 ms); the top reaches the slow routes (previews, activations).
 */
export const REQUEST_BUCKETS = [
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5, 10,
];

/**
 * Prometheus metrics at /metrics: request latency histogram by route (the route pattern, not the URL,
 * so cardinality stays bounded), job counts and durations, process defaults. One registry per app so
 * tests can build several apps.
 */
export default fp(
  async function metricsPlugin(
    app: FastifyInstance,
    opts: {
      /** Jobs by status, read from the store at each scrape (only in the process that runs the jobs). */
      collectJobCounts?: () => Record<string, number>;
      /** Labels on every series, e.g. { process: '1' } for one of several server processes. */
      labels?: Record<string, string>;
    },
  ) {
    const registry = new Registry();
    if (opts.labels) registry.setDefaultLabels(opts.labels);
    collectDefaultMetrics({ register: registry });
    const latency = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method, route and status code',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    });
    const metrics: PrismMetrics = {
      registry,
      jobDuration: new Histogram({
        name: 'prism_job_duration_seconds',
        help: 'Duration of finished jobs by type and status',
        labelNames: ['type', 'status'] as const,
        buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
        registers: [registry],
      }),
      jobsFinished: new Counter({
        name: 'prism_jobs_finished_total',
        help: 'Jobs finished by type and status',
        labelNames: ['type', 'status'] as const,
        registers: [registry],
      }),
      jobsByStatus: new Gauge({
        name: 'prism_jobs',
        help: 'Jobs stored, by status (a count of rows: deleting finished jobs lowers it; use prism_jobs_finished_total for rates)',
        labelNames: ['status'] as const,
        registers: [registry],
        collect() {
          const counts = opts.collectJobCounts?.();
          if (!counts) return;
          for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
        },
      }),
      recCache: new Counter({
        name: 'prism_recommendation_cache_total',
        help: 'Recommendation cache lookups by result',
        labelNames: ['result'] as const,
        registers: [registry],
      }),
      refused: new Counter({
        name: 'prism_http_refused_total',
        help: 'Requests refused before routing (malformed URL, path too long), by status and error code',
        labelNames: ['status_code', 'code'] as const,
        registers: [registry],
      }),
    };
    // Both series exist from the start, so rate() works before the first miss.
    for (const result of ['hit', 'miss']) metrics.recCache.inc({ result }, 0);
    app.decorate('metrics', metrics);

    // One labelled child per (method, route, status), kept: observing it skips prom-client's label
    // hashing, and the callback hook costs no promise per request.
    const children = new Map<string, ReturnType<typeof latency.labels>>();
    app.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions.url ?? 'unmatched';
      const key = `${req.method} ${reply.statusCode} ${route}`;
      let child = children.get(key);
      if (!child) {
        child = latency.labels({ method: req.method, route, status_code: String(reply.statusCode) });
        children.set(key, child);
      }
      child.observe(reply.elapsedTime / 1000);
      done();
    });

    app.get(
      '/metrics',
      { schema: { hide: true }, config: { auth: 'none', rateLimit: false } },
      async (_req, reply) => {
        reply.header('content-type', registry.contentType);
        return registry.metrics();
      },
    );
  },
  { name: 'metrics' },
);
