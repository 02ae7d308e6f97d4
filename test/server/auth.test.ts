import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyMatcher } from '../../src/server/plugins/app/auth.ts';
import { testApp } from './fixture.ts';

describe('keyMatcher', () => {
  it('accepts exactly the configured keys', () => {
    const m = keyMatcher(['alpha', 'beta-key']);
    expect(m('alpha')).toBe(true);
    expect(m('beta-key')).toBe(true);
    expect(m('alph')).toBe(false);
    expect(m('alphaa')).toBe(false);
    expect(m('')).toBe(false);
  });
});

describe('API keys', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  let closedApp: FastifyInstance;
  let closeClosed: () => Promise<void>;
  const policy = {
    name: 'auth-test',
    enabled: false,
    policy: { kind: 'suppress', neuron: 0, strength: 1, all: true },
  };

  beforeAll(async () => {
    ({ app, close } = await testApp({ config: { apiKeys: ['s3cret', 'other'], readsOpen: true } }));
    ({ app: closedApp, close: closeClosed } = await testApp({
      config: { apiKeys: ['s3cret'], readsOpen: false },
    }));
  });
  afterAll(async () => {
    await close();
    await closeClosed();
  });

  it('401s a mutation without a key and 403s a wrong key', async () => {
    const none = await app.inject({ method: 'POST', url: '/v1/policies', payload: policy });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ code: 'UNAUTHORIZED', field: 'headers.authorization' });
    const notBearer = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: policy,
      headers: { authorization: 'Basic abc' },
    });
    expect(notBearer.statusCode).toBe(401);
    // A 401 says which scheme it wants; a 403 (a key, just not an accepted one) does not.
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(notBearer.headers['www-authenticate']).toBe('Bearer');
    const wrong = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: policy,
      headers: { authorization: 'Bearer s3cre' },
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('FORBIDDEN');
    expect(wrong.headers['www-authenticate']).toBeUndefined();
    // Reads are open here, but a key sent with one is checked: a revoked key shows on the next read.
    const read = (authorization?: string) =>
      app.inject({ url: '/v1/jobs', headers: authorization ? { authorization } : {} });
    expect((await read()).statusCode).toBe(200);
    expect((await read('Bearer s3cret')).statusCode).toBe(200);
    expect((await read('Bearer revoked')).statusCode).toBe(403);
    for (const [method, url] of [
      ['POST', '/v1/jobs'],
      ['POST', '/v1/jobs/1/cancel'],
      ['POST', '/v1/models/1/activate'],
      ['DELETE', '/v1/policies/1'],
      ['DELETE', '/v1/models/2'],
      ['DELETE', '/v1/jobs/1'],
      ['PATCH', '/v1/policies/1'],
    ] as const) {
      expect((await app.inject({ method, url, payload: {} })).statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('leaves the documentation open when reads need a key', async () => {
    for (const url of ['/docs', '/docs/', '/docs/json', '/openapi.json'])
      expect((await closedApp.inject({ url })).statusCode, url).toBeLessThan(400);
    expect((await closedApp.inject({ url: '/v1/jobs' })).statusCode).toBe(401);
    expect((await closedApp.inject({ url: '/docsx' })).statusCode).toBe(404); // no route: not a way in
  });

  it('accepts any configured key', async () => {
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: policy,
      headers: { authorization: 'Bearer other' },
    });
    expect(ok.statusCode).toBe(201);
  });

  it('leaves reads open when configured, and closes them otherwise', async () => {
    const user = app.models.require().bundle.dataset.users.ids[0];
    expect((await app.inject({ url: `/v1/users/${user}/recommendations` })).statusCode).toBe(200);
    expect((await closedApp.inject({ url: `/v1/users/${user}/recommendations` })).statusCode).toBe(401);
    expect(
      (
        await closedApp.inject({
          url: `/v1/users/${user}/recommendations`,
          headers: { authorization: 'Bearer s3cret' },
        })
      ).statusCode,
    ).toBe(200);
    // Health, metrics and the API description stay open.
    for (const url of ['/health/live', '/health/ready', '/metrics', '/openapi.json']) {
      expect((await closedApp.inject({ url })).statusCode, url).toBe(200);
    }
  });
});

describe('limits', () => {
  it('413s an oversized body and 429s past the rate limit', async () => {
    const { app, close } = await testApp({
      config: { bodyLimit: 1024, rateLimit: { max: 3, timeWindowMs: 60_000 } },
    });
    try {
      const big = await app.inject({
        method: 'POST',
        url: '/v1/policies',
        payload: {
          name: 'big',
          policy: { kind: 'suppress', neuron: 0, strength: 1, users: Array(500).fill('x') },
        },
      });
      expect(big.statusCode).toBe(413);
      expect(big.json()).toMatchObject({ statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
      const codes = [];
      for (let r = 0; r < 4; r++) codes.push((await app.inject({ url: '/v1/neurons' })).statusCode);
      expect(codes.slice(0, 2)).toEqual([200, 200]);
      expect(codes[3]).toBe(429);
      const limited = await app.inject({ url: '/v1/neurons' });
      expect(limited.json()).toMatchObject({
        statusCode: 429,
        code: 'RATE_LIMITED',
        error: 'Too Many Requests',
      });
      expect(limited.json().message).toMatch(/retry in/);
      // The API document and unknown URLs are limited too; health and metrics are not (by route, so a query
      // string does not make them count).
      expect((await app.inject({ url: '/openapi.json' })).statusCode).toBe(429);
      expect((await app.inject({ url: '/no/such/route' })).statusCode).toBe(429);
      expect((await app.inject({ url: '/health/live' })).statusCode).toBe(200);
      expect((await app.inject({ url: '/metrics?x=1' })).statusCode).toBe(200);
    } finally {
      await close();
    }
  });
});

describe('behind a proxy', () => {
  it('with PRISM_TRUST_PROXY, limits each forwarded client on its own; without it, the proxy', async () => {
    for (const trustProxy of [true, false]) {
      const { app, close } = await testApp({
        config: { trustProxy, rateLimit: { max: 2, timeWindowMs: 60_000 } },
      });
      try {
        const from = (client: string) =>
          app.inject({ url: '/v1/neurons', headers: { 'x-forwarded-for': client } });
        for (let r = 0; r < 2; r++) expect((await from('203.0.113.1')).statusCode).toBe(200);
        expect((await from('203.0.113.1')).statusCode).toBe(429);
        expect((await from('203.0.113.2')).statusCode).toBe(trustProxy ? 200 : 429);
      } finally {
        await close();
      }
    }
  });

  it('with a hop count, believes only that many proxies: a client cannot spoof its way to a fresh budget', async () => {
    const { app, close } = await testApp({
      config: { trustProxy: 1, rateLimit: { max: 2, timeWindowMs: 60_000 } },
    });
    try {
      // One proxy in front appends the client's address (203.0.113.1); what the client put before it is ignored.
      const spoofed = (fake: string) =>
        app.inject({ url: '/v1/neurons', headers: { 'x-forwarded-for': `${fake}, 203.0.113.1` } });
      expect((await spoofed('1.1.1.1')).statusCode).toBe(200);
      expect((await spoofed('2.2.2.2')).statusCode).toBe(200);
      expect((await spoofed('3.3.3.3')).statusCode).toBe(429);
    } finally {
      await close();
    }
  });
});

describe('rate limit and keys together', () => {
  it('limits wrong keys and keyless requests too, and made-up keys share their address budget', async () => {
    const { app, close } = await testApp({
      config: { apiKeys: ['s3cret'], readsOpen: false, rateLimit: { max: 3, timeWindowMs: 60_000 } },
    });
    try {
      const as = (authorization?: string) =>
        app.inject({ url: '/v1/neurons', headers: authorization ? { authorization } : {} });
      // Rotating made-up keys: the 4th request from this address is limited, not answered 403.
      const rotated = [];
      for (let r = 0; r < 4; r++) rotated.push((await as(`Bearer guess-${r}`)).statusCode);
      expect(rotated).toEqual([403, 403, 403, 429]);
      expect((await as()).statusCode).toBe(429);
      // An accepted key has its own budget, whatever whitespace surrounds it.
      const keyed = [];
      for (const header of ['Bearer s3cret', 'Bearer  s3cret ', 'bearer s3cret', 'Bearer s3cret'])
        keyed.push((await as(header)).statusCode);
      expect(keyed).toEqual([200, 200, 200, 429]);
    } finally {
      await close();
    }
  });
});
