import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ServerConfig } from '../../config.ts';
import { ApiError } from '../../errors.ts';

/** Per-route access level: `none` (health, metrics, docs), `read` (GET), `write` (everything else). */
export type AuthLevel = 'none' | 'read' | 'write';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthLevel;
  }
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Compares a presented key against every configured key in constant time: both sides are hashed to
 * equal length, every key is compared (no early exit), so timing reveals neither length nor prefix.
 */
export function keyMatcher(keys: string[]): (presented: string) => boolean {
  const hashes = keys.map(sha256);
  return (presented) => {
    const h = sha256(presented);
    let ok = false;
    for (const k of hashes) ok = timingSafeEqual(h, k) || ok;
    return ok;
  };
}

/** The key of an `Authorization: Bearer <key>` header (trimmed), or null when the header is not that. */
export function bearerKey(header: string | undefined): string | null {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m ? m[1].trim() : null;
}

/**
 * What a request needs: the route's own level, else `read` for GET/HEAD and `write` for the rest. A
 * request no route matches (the 404 handler answers it: an unknown URL, or a method a URL does not
 * take, OPTIONS included) needs nothing, so it gets its 404 rather than a 401 that suggests a key
 * would help; the service has no OPTIONS routes (no CORS).
 */
function authLevel(req: FastifyRequest): AuthLevel {
  if (req.routeOptions.url === undefined) return 'none';
  return req.routeOptions.config?.auth ?? (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write');
}

/**
 * Bearer-key authentication. Missing key → 401, wrong key → 403 (on open reads too: a key that is sent
 * is checked). With no keys configured the service runs open (development), and says so in the log at start.
 */
export default fp(
  async function authPlugin(app: FastifyInstance, opts: { config: ServerConfig }) {
    const { apiKeys, readsOpen } = opts.config;
    if (apiKeys.length === 0) {
      app.log.warn('PRISM_API_KEYS is empty: authentication is disabled');
      return;
    }
    const matches = keyMatcher(apiKeys);
    // preParsing, not onRequest: the rate limit's per-route onRequest check runs first, so failed keys
    // are limited too; the body is still not read before the key is checked.
    app.addHook('preParsing', async (req: FastifyRequest, reply: FastifyReply) => {
      const level = authLevel(req);
      if (level === 'none') return;
      const header = req.headers.authorization;
      const key = header ? bearerKey(header) : null;
      if (key !== null) {
        // A key that is sent is checked, on open reads too: a client whose key was revoked should learn it
        // on its next read, not on its next write.
        if (!matches(key))
          throw new ApiError(403, 'FORBIDDEN', 'API key not accepted', 'headers.authorization');
        return;
      }
      if (level === 'read' && readsOpen) return;
      reply.header('www-authenticate', 'Bearer'); // what a 401 owes (RFC 7235)
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        header
          ? 'Authorization header must be "Bearer <key>"'
          : 'missing API key (Authorization: Bearer <key>)',
        'headers.authorization',
      );
    });
  },
  { name: 'auth' },
);
