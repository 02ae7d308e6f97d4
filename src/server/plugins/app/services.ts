import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../../config.ts';
import { PolicyService } from '../../services/policies.ts';
import { RecommendationService } from '../../services/recommendations.ts';

declare module 'fastify' {
  interface FastifyInstance {
    policyService: PolicyService;
    recommendations: RecommendationService;
  }
}

/** Domain services over the store and the active model, shared by the routes. */
export default fp(
  async function servicesPlugin(app: FastifyInstance, opts: { config: ServerConfig }) {
    // Several processes: every request reads the policies' revision, so an edit is live everywhere at once.
    const policies = new PolicyService(
      app.store,
      app.models,
      app.log,
      opts.config.processes > 1 ? 0 : undefined,
    );
    app.decorate('policyService', policies);
    app.decorate(
      'recommendations',
      new RecommendationService(policies, opts.config.recCacheSize, (hit) =>
        app.metrics.recCache.inc({ result: hit ? 'hit' : 'miss' }),
      ),
    );
  },
  { name: 'services', dependencies: ['store', 'registry', 'metrics'] },
);
