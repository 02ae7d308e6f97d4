import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const OPENAPI_INFO = {
  title: 'Prism',
  description:
    'Explainable, steerable recommendations: sparse-autoencoder neurons over a frozen recommender explain ' +
    'and steer top-K lists. Mutating endpoints need `Authorization: Bearer <key>`.',
  version: '0.1.0',
};

/** OpenAPI document generated from the route schemas, served at /openapi.json, Swagger UI at /docs. */
export default fp(
  async function swaggerPlugin(app: FastifyInstance) {
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
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true }, config: { auth: 'none' } }, async () => app.swagger());
  },
  { name: 'swagger' },
);
