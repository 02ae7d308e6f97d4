import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { errors, frameworkErrorStatuses } from '../../schemas/common.ts';

export const OPENAPI_INFO = {
  title: 'Prism',
  description:
    'Explainable, steerable recommendations: sparse-autoencoder neurons over a frozen recommender explain ' +
    'and steer top-K lists. Mutating endpoints need `Authorization: Bearer <key>` when the server has ' +
    'keys; reads under /v1 need it too when the server runs with `PRISM_READS_OPEN=false` (their ' +
    'security is optional: no key, or the bearer key).',
  version: '0.1.0',
};

/** OpenAPI document generated from the route schemas, served at /openapi.json, Swagger UI at /docs. */
export default fp(
  async function swaggerPlugin(app: FastifyInstance) {
    documentFrameworkErrors(app);
    documentReadSecurity(app);
    await app.register(swagger, {
      // Shared schemas (addSchema with an $id) become components named by their $id.
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) =>
          typeof json.$id === 'string' ? json.$id : `def-${i}`,
      },
      openapi: {
        openapi: '3.1.0',
        info: OPENAPI_INFO,
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
        },
        tags: [
          { name: 'health', description: 'Liveness and readiness' },
          { name: 'recommendations', description: 'Top-K lists, explanations, comparisons' },
          { name: 'users', description: 'User concept profiles' },
          { name: 'items', description: 'Item concepts' },
          { name: 'neurons', description: 'SAE neurons and their concept labels' },
          { name: 'policies', description: 'Steering policies applied to live traffic' },
          { name: 'jobs', description: 'Background training and evaluation jobs' },
          { name: 'models', description: 'Model versions and activation' },
        ],
      },
    });
    // The documentation is open even when reads need a key, as /openapi.json is: said on its routes, not
    // by matching request URLs.
    app.addHook('onRoute', (route) => {
      if (route.url === DOCS || route.url.startsWith(`${DOCS}/`))
        route.config = { ...route.config, auth: 'none' };
    });
    await app.register(swaggerUi, { routePrefix: DOCS, staticCSP: DOCS_CSP });
    app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'none' } }, async () => app.swagger());
  },
  { name: 'swagger' },
);

const DOCS = '/docs';

/**
 * The Swagger UI page's Content-Security-Policy: @fastify/swagger-ui's own policy for its static files,
 * except that no other site may frame the page (its "Authorize" dialog takes API keys) and requests are
 * not upgraded to https (the service is often reached over plain http on a private network).
 */
const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; font-src 'self' https: data:; frame-ancestors 'none'; img-src 'self' data: validator.swagger.io; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' https:;";

/** A route's methods as a list (Fastify gives one method or an array). */
const methodsOf = (route: RouteOptions): string[] =>
  Array.isArray(route.method) ? route.method : [route.method];

/**
 * Reads under /v1 need the key when the server runs with `PRISM_READS_OPEN=false` (and keys): their
 * security is documented as optional (`{}` or bearer), so Swagger UI's "Authorize" sends the key on them
 * and generated clients can pass it; routes that declare their own security keep it.
 */
export function documentReadSecurity(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.schema || route.schema.hide || route.schema.security) return;
    const methods = methodsOf(route);
    if (!route.url.startsWith('/v1/') || !methods.every((m) => m === 'GET' || m === 'HEAD')) return;
    route.schema = { ...route.schema, security: [{}, { bearer: [] }] };
  });
}

/**
 * Documents on every route the errors Fastify raises before its handler (`frameworkErrorStatuses`), as
 * the same error body; registered before the routes (onRoute hooks see only routes added after them).
 */
export function documentFrameworkErrors(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const response = route.schema?.response as Record<string, unknown> | undefined;
    if (!route.schema || route.schema.hide || !response) return;
    const methods = methodsOf(route);
    const statuses = new Set(methods.flatMap((m) => frameworkErrorStatuses(m, route.url)));
    route.schema.response = { ...response, ...errors(...[...statuses].filter((st) => !(st in response))) };
  });
}
