import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../../config.ts';

/** Per API key (when one is sent) or client address; off unless PRISM_RATE_LIMIT is set. */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance, opts: { config: ServerConfig }) {
    const limit = opts.config.rateLimit;
    if (!limit) return;
    await app.register(rateLimit, {
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      keyGenerator: (req: FastifyRequest) => {
        const auth = req.headers.authorization;
        return auth?.startsWith('Bearer ') ? `key:${auth.slice(7)}` : `ip:${req.ip}`;
      },
      allowList: (req: FastifyRequest) => req.url.startsWith('/health/') || req.url === '/metrics',
    });
  },
  { name: 'rate-limit' },
);
