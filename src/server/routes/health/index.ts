import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LiveResponse, ReadyResponse } from '../../schemas/health.ts';

const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health/live',
    {
      config: { auth: 'none', rateLimit: false },
      schema: {
        operationId: 'getLiveness',
        tags: ['health'],
        summary: 'Liveness: the process serves HTTP',
        response: { 200: LiveResponse },
      },
    },
    async () => ({ status: 'ok' as const, uptimeSeconds: process.uptime() }),
  );

  app.get(
    '/health/ready',
    {
      config: { auth: 'none', rateLimit: false },
      schema: {
        operationId: 'getReadiness',
        tags: ['health'],
        summary: 'Readiness: a model is active and loaded (503 until then)',
        response: { 200: ReadyResponse, 503: ReadyResponse },
      },
    },
    async (_req, reply) => {
      const active = app.models.current;
      if (active) return { status: 'ready' as const, modelId: active.version.id };
      return reply
        .code(503)
        .send({ status: 'not-ready' as const, modelId: null, reason: app.models.notReadyReason() });
    },
  );
};

export default health;
