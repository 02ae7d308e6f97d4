import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATE, testApp } from './fixture.ts';

let app: FastifyInstance;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ app, close } = await testApp());
});
afterAll(() => close());

describe('errors Fastify raises before a handler, and bodies on action endpoints', () => {
  it('a body that is not JSON is a 415 with the usual error body', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { 'content-type': 'application/xml' },
      payload: '<job/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({
      statusCode: 415,
      error: 'Unsupported Media Type',
      code: expect.any(String),
    });
  });

  it('a path parameter past 256 characters is a 414 with the usual error body', async () => {
    const res = await app.inject({ url: `/v1/users/${'u'.repeat(300)}/recommendations` });
    expect(res.statusCode).toBe(414);
    expect(res.json()).toMatchObject({ statusCode: 414, error: 'URI Too Long', code: expect.any(String) });
  });

  it('POSTs that take no body accept Content-Type: application/json with an empty one', async () => {
    const res = await app.inject({
      method: 'POST',
      url: `/v1/models/${TEMPLATE.active}/activate`,
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(200);
    // A route that needs a body still says so, naming it.
    const create = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(create.statusCode).toBe(400);
    expect(create.json().field).toBe('body');
    // Malformed JSON and prototype poisoning are still refused by Fastify's own parser.
    for (const payload of ['{"name":', '{"__proto__":{"x":1}}']) {
      const bad = await app.inject({
        method: 'POST',
        url: '/v1/policies',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(bad.statusCode, payload).toBe(400);
    }
  });
});
