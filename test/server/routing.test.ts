import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp } from './fixture.ts';

/**
 * How requests are routed before any handler: a request no route matches is a 404 whatever its method
 * or key, a body must be JSON, a trailing slash names the same route.
 */
let app: FastifyInstance;
let close: () => Promise<void>;
let userId: string;
let concept: string;

beforeAll(async () => {
  ({ app, close } = await testApp());
  const { bundle } = app.models.require();
  userId = bundle.dataset.users.ids[3];
  concept = bundle.neurons.find((n) => n.kind === 'concept')?.label as string;
});
afterAll(() => close());

describe('requests no route matches get their 404 before any key check', () => {
  let keyed: FastifyInstance;
  let closeKeyed: () => Promise<void>;
  beforeAll(async () => {
    ({ app: keyed, close: closeKeyed } = await testApp({ config: { apiKeys: ['k1'], readsOpen: false } }));
  });
  afterAll(() => closeKeyed());

  it('OPTIONS and unknown methods or URLs answer 404 without a key; routes still need one', async () => {
    for (const [method, url] of [
      ['OPTIONS', '/health/ready'],
      ['OPTIONS', '/metrics'],
      ['OPTIONS', '/v1/policies'],
      ['POST', `/v1/users/${userId}/recommendations`],
      ['GET', '/v1/nowhere'],
      ['DELETE', '/v1/nowhere'],
    ] as const) {
      const res = await keyed.inject({ method, url });
      expect([res.statusCode, res.json().code], `${method} ${url}`).toEqual([404, 'NOT_FOUND']);
    }
    expect((await keyed.inject({ method: 'POST', url: '/v1/policies', payload: {} })).statusCode).toBe(401);
    expect((await keyed.inject({ url: '/v1/policies' })).statusCode).toBe(401);
    expect((await keyed.inject({ url: '/health/ready' })).statusCode).toBe(200);
  });
});

describe('a body sent as text/plain', () => {
  it('is a 415, not a 400 about the body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ name: 'plain', policy: { kind: 'boost', concept, strength: 1, all: true } }),
    });
    expect([res.statusCode, res.json().code]).toEqual([415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE']);
  });
});

describe('a trailing slash on a collection URL is the collection', () => {
  it('/v1/jobs/, /v1/policies/, /v1/models/ list; /docs/ still serves', async () => {
    for (const url of ['/v1/jobs/', '/v1/policies/', '/v1/models/', '/v1/neurons/']) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(200);
    }
    expect((await app.inject('/v1/jobs/')).json()).toEqual((await app.inject('/v1/jobs')).json());
    expect((await app.inject(`/v1/users/${userId}/recommendations/?k=2`)).json().items).toHaveLength(2);
    expect((await app.inject('/docs/')).statusCode).toBeLessThan(400);
  });
});

describe('security headers', () => {
  it('every response says nosniff; the Swagger UI page may not be framed', async () => {
    for (const url of [
      '/health/live',
      `/v1/users/${userId}/recommendations?k=1`,
      '/v1/nope',
      '/openapi.json',
    ])
      expect((await app.inject(url)).headers['x-content-type-options'], url).toBe('nosniff');
    const docs = await app.inject('/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(docs.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });
});
