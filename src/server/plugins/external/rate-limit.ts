import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../../config.ts';
import { ApiError } from '../../errors.ts';
import { bearerKey, keyMatcher } from '../app/auth.ts';

/**
 * Per accepted API key, else per client address; off unless PRISM_RATE_LIMIT is set. Health and metrics
 * routes opt out in their own config (`rateLimit: false`), so a query string cannot change that. Counts are kept
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
    });
  },
  { name: 'rate-limit' },
);
