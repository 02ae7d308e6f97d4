import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errors, READ_ERRORS } from '../../schemas/common.ts';
import { ProfileQuery, UserConcepts } from '../../schemas/concepts.ts';
import { RecommendationsQuery, RecommendationsResponse, UserParams } from '../../schemas/recommendations.ts';
import { userIndex } from '../../services/lookup.ts';
import { activeNeurons, userCode } from '../../services/neurons.ts';

const users: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/users/:userId/recommendations',
    {
      schema: {
        operationId: 'getRecommendations',
        tags: ['recommendations'],
        summary: 'Top-K recommendations for a user, optionally explained, steered and compared',
        description:
          'Every enabled policy applies; `policy` adds stored ones by id or name. The user’s training ' +
          'positives and `exclude` are left out.',
        params: UserParams,
        querystring: RecommendationsQuery,
        response: { 200: RecommendationsResponse, ...errors(...READ_ERRORS) },
      },
    },
    // Not async: the body is ready synchronously, so no promise per request on the hottest route (a
    // throw still reaches the error handler).
    (req, reply) => {
      const body = app.recommendations.get(app.models.require(), req.params.userId, req.query);
      // Bytes are sent as they are (encodeRecommendations writes what the 200 schema's serialiser would).
      reply.type('application/json; charset=utf-8').send(body as never);
    },
  );

  app.get(
    '/v1/users/:userId/concepts',
    {
      schema: {
        operationId: 'getUserConcepts',
        tags: ['users'],
        summary: "A user's concept profile: the active SAE neurons of their code with labels",
        params: UserParams,
        querystring: ProfileQuery,
        response: { 200: UserConcepts, ...errors(...READ_ERRORS) },
      },
    },
    async (req) => {
      const { bundle, version } = app.models.require();
      const u = userIndex(bundle, req.params.userId);
      const profile = activeNeurons(bundle, userCode(bundle, u), req.query.limit ?? 20, 'user');
      return {
        userId: req.params.userId,
        modelId: version.id,
        activeNeurons: profile.total,
        neurons: profile.neurons,
      };
    },
  );
};

export default users;
