import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../../config.ts';
import { ApiError } from '../../errors.ts';
import { bearerKey, keyMatcher } from '../app/auth.ts';

/**
 * Per accepted API key, else per client address; off unless PRISM_RATE_LIMIT is set. Counts are kept
 * per server process. A key that is not accepted counts against the address it came from, so rotating
 * made-up keys buys no fresh budget.
 */
export default fp(
  async function rateLimitPlugin(app: FastifyInstance, opts: { config: ServerConfig }) {
    const limit = opts.config.rateLimit;
    if (!limit) return;
    const accepted = keyMatcher(opts.config.apiKeys);
    await app.register(rateLimit, {
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      keyGenerator: (req: FastifyRequest) => {
        const key = bearerKey(req.headers.authorization);
        return key && accepted(key) ? `key:${key}` : `ip:${req.ip}`;
      },
      errorResponseBuilder: (_req, context) =>
        new ApiError(
          429,
          'RATE_LIMITED',
          `rate limit of ${context.max} requests exceeded; retry in ${context.after}`,
        ),
      // By route, not URL: `/metrics?x=1` is the metrics route too.
      allowList: (req: FastifyRequest) => {
        const route = req.routeOptions.url;
        return route !== undefined && (route.startsWith('/health/') || route === '/metrics');
      },
    });
  },
  { name: 'rate-limit' },
);
