import type { IncomingMessage } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Store } from '../store/types.ts';
import { parseConfig, type ServerConfig } from './config.ts';
import { ApiError, installErrorHandler, installNotFoundHandler, toErrorBody } from './errors.ts';
import authPlugin from './plugins/app/auth.ts';
import metricsPlugin from './plugins/app/metrics.ts';
import registryPlugin from './plugins/app/registry.ts';
import runnerPlugin, { type RunnerPluginOptions } from './plugins/app/runner.ts';
import servicesPlugin from './plugins/app/services.ts';
import storePlugin from './plugins/app/store.ts';
import rateLimitPlugin from './plugins/external/rate-limit.ts';
import sensiblePlugin from './plugins/external/sensible.ts';
import swaggerPlugin from './plugins/external/swagger.ts';
import healthRoutes from './routes/health/index.ts';
import itemRoutes from './routes/items/index.ts';
import jobRoutes from './routes/jobs/index.ts';
import modelRoutes from './routes/models/index.ts';
import neuronRoutes from './routes/neurons/index.ts';
import policyRoutes from './routes/policies/index.ts';
import userRoutes from './routes/users/index.ts';
import { ErrorSchema, MAX_PARAM_LENGTH, NoQuery } from './schemas/common.ts';
import { validatorFactory } from './validation.ts';

export interface AppOptions {
  config: ServerConfig;
  /** An already opened store (tests share one); otherwise opened at config.dbPath and closed with the app. */
  store?: Store;
  /** Job runner options; `false` runs no jobs (OpenAPI export, read-only tests). */
  jobs?: RunnerPluginOptions | false;
  /** Labels on every metric series (server.ts: { process: N } with PRISM_PROCESSES > 1). */
  metricsLabels?: Record<string, string>;
  /**
   * Report the job queue (`prism_jobs`) in /metrics (default true). Of several processes on one
   * database only the one running the jobs does, so the gauge is not counted once per process.
   */
  reportsQueue?: boolean;
}

/** The Prism service as a Fastify plugin: external plugins, domain plugins, routes, one error handler. */
export const prismApp = fp(
  async function prismApp(app: FastifyInstance, opts: AppOptions) {
    const { config } = opts;
    installErrorHandler(app);
    app.addSchema(ErrorSchema);
    acceptEmptyJsonBodies(app);
    refuseUnknownQueryParameters(app);
    // Echo the request id (generated, or the caller's x-request-id) so logs and clients can be matched;
    // nosniff, as some bodies echo request text (a 404 names the URL). A callback hook, not an async one:
    // no promise per request on the hot path.
    app.addHook('onRequest', (req, reply, done) => {
      reply.header('x-request-id', req.id);
      reply.header('x-content-type-options', 'nosniff');
      done();
    });

    await app.register(sensiblePlugin);
    // Before swagger, so its routes (/docs, /openapi.json) are limited too.
    await app.register(rateLimitPlugin, { config });
    installNotFoundHandler(app, config.rateLimit !== null);
    await app.register(swaggerPlugin);

    await app.register(storePlugin, { config, store: opts.store });
    await app.register(metricsPlugin, {
      collectJobCounts: opts.reportsQueue === false ? undefined : () => jobCounts(app.store),
      labels: opts.metricsLabels,
    });
    await app.register(authPlugin, { config });
    // Every server follows the store's active version: other processes (PRISM_PROCESSES), or other servers
    // on the same file, run jobs that activate. An in-memory database has no one else.
    await app.register(registryPlugin, { pollMs: app.store.path === ':memory:' ? 0 : 250 });
    await app.register(runnerPlugin, { config, jobs: opts.jobs ?? {} });
    await app.register(servicesPlugin, { config });

    await app.register(healthRoutes);
    await app.register(userRoutes);
    await app.register(itemRoutes);
    await app.register(neuronRoutes);
    await app.register(policyRoutes);
    await app.register(jobRoutes, { dataRoot: config.dataRoot, maxQueuedJobs: config.maxQueuedJobs });
    await app.register(modelRoutes);
  },
  { name: 'prism-app' },
);

export interface BuildAppOptions {
  /** Settings over the defaults of parseConfig({}). */
  config?: Partial<ServerConfig>;
  store?: Store;
  jobs?: RunnerPluginOptions | false;
  /** Fastify logger option; default off (tests). server.ts passes a pino configuration. */
  logger?: FastifyServerOptions['logger'];
  metricsLabels?: AppOptions['metricsLabels'];
  reportsQueue?: AppOptions['reportsQueue'];
}

/** Builds a ready-to-inject Fastify instance (tests, `npm start`, the OpenAPI export). */
export async function buildApp(opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const config: ServerConfig = { ...parseConfig({}), ...opts.config };
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: config.bodyLimit,
    // The caller's x-request-id is kept when it looks like an id (genReqId reads it), else one is made.
    genReqId: requestIdGenerator(),
    requestIdHeader: false,
    // A request must arrive whole within a minute (Fastify's default, 0, lets a slow client hold a
    // connection open forever); idle keep-alive connections close after 72 s, longer than the 60 s idle
    // timeout of common load balancers (so the balancer, not us, closes an idle connection).
    requestTimeout: 60_000,
    keepAliveTimeout: 72_000,
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // Ids in paths may be up to 200 characters (the schemas' limit; Fastify's default stops at 100).
    // `/v1/jobs/` is `/v1/jobs` (not a request for the job with an empty id).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    schemaController: { compilersFactory: { buildValidator: validatorFactory() } },
    // Errors Fastify raises before routing (a malformed percent-encoding) get the same body as the rest.
    frameworkErrors: (err, request, reply) => {
      const body = toErrorBody(err);
      // Fastify's own 'request completed' line does not come for these (no route, no onResponse hooks).
      request.log.info(
        { res: { statusCode: body.statusCode }, code: body.code },
        'request refused before routing',
      );
      app.metrics?.refused.inc({ status_code: String(body.statusCode), code: body.code });
      reply.header('x-request-id', request.id);
      reply.code(body.statusCode as never).send(body as never);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  const { store, jobs, metricsLabels, reportsQueue } = opts;
  await app.register(prismApp, { config, store, jobs, metricsLabels, reportsQueue });
  await app.ready();
  return app as unknown as FastifyInstance;
}

/**
 * `Content-Type: application/json` with an empty body parses as no body (Fastify refuses it with a 400):
 * clients often send the header on POSTs that carry nothing (cancel, activate). Routes that need a body
 * still refuse it, naming `body`. Anything else goes through Fastify's own parser (prototype-poisoning
 * checks included). JSON is the only body type: Fastify's default `text/plain` parser is removed, so a
 * body sent as text is a 415 like any other type, not a 400 saying the body "must be object". JSON is
 * UTF-8 (RFC 8259): a body declared in another charset is a 415 too, not read as UTF-8 regardless.
 */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('text/plain');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    const charset = declaredCharset(req.headers['content-type']);
    if (charset !== null && !UTF8_CHARSETS.has(charset))
      return done(
        new ApiError(
          415,
          'UNSUPPORTED_CHARSET',
          `headers.content-type: JSON bodies are UTF-8, not "${charset.slice(0, 40)}"`,
          'headers.content-type',
        ),
        undefined,
      );
    parse(req, body as string, done);
  });
}

/** Charset names JSON may be declared in: UTF-8's, and ASCII's (a subset of it). */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/**
 * The `charset` parameter of a Content-Type header, lower-cased and unquoted; null when there is none or
 * it is empty. Parameters are read one by one (RFC 9110: `;`-separated `name=value`, value a token or a
 * quoted string), so a `charset=` inside another parameter's quoted value is not taken for it.
 */
function declaredCharset(contentType: string | undefined): string | null {
  // Sticky: each parameter must follow the last, so nothing inside a quoted value is read as one.
  const params = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)\s*/y;
  const header = contentType ?? '';
  params.lastIndex = header.indexOf(';') < 0 ? header.length : header.indexOf(';');
  for (let m = params.exec(header); m !== null; m = params.exec(header)) {
    if (m[1].toLowerCase() !== 'charset') continue;
    const value = m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\(.)/g, '$1') : m[2];
    return value === '' ? null : value.toLowerCase();
  }
  return null;
}

/**
 * A /v1 route that takes no query parameters gets an empty, closed query schema, so an unknown parameter
 * is refused naming it (`DELETE /v1/models/3?dryRun=true` must not delete), as on the routes that take
 * some. Health routes stay open to whatever a probe appends. Registered before the routes (onRoute hooks
 * see only routes added after them); the OpenAPI document does not change (no parameters to list).
 */
function refuseUnknownQueryParameters(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1/') && route.schema && !route.schema.querystring)
      route.schema = { ...route.schema, querystring: NoQuery };
  });
}

/**
 * Trust the `hops` proxies nearest to us (X-Forwarded-For read from the right). Fastify 5 reads a bare
 * number as "trust nothing" (a count cannot tell who the peer is); this restores the count. It is only
 * safe when the server cannot be reached except through exactly that many proxies (docker/README.md).
 */
const trustHops =
  (hops: number) =>
  (_address: string, i: number): boolean =>
    i < hops;

/** What a caller's x-request-id may look like (UUIDs, trace ids); anything else is replaced, not logged. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdGenerator(): (req: IncomingMessage) => string {
  const prefix = Math.random().toString(36).slice(2, 8);
  let n = 0;
  return (req) => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && CLIENT_REQUEST_ID.test(given)
      ? given
      : `${prefix}-${(++n).toString(36)}`;
  };
}

function jobCounts(store: Store): Record<string, number> {
  const out: Record<string, number> = {};
  for (const status of ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const) {
    out[status] = store.jobs.count({ status });
  }
  return out;
}
