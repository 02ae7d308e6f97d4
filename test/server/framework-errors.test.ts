import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATE, testApp } from './fixture.ts';

let app: FastifyInstance;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ app, close } = await testApp());
});
afterAll(() => close());

/** POST a raw body with the given Content-Type. */
const post = (url: string, payload: string, type = 'application/json') =>
  app.inject({ method: 'POST', url, headers: { 'content-type': type }, payload });

describe('errors Fastify raises before a handler, and bodies on action endpoints', () => {
  it('a body that is not JSON is a 415 with the usual error body', async () => {
    const res = await post('/v1/jobs', '<job/>', 'application/xml');
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

  it('requests refused before routing are counted in /metrics (no route, so no latency series sees them)', async () => {
    const count = async (status: string) => {
      const text = (await app.inject('/metrics')).body;
      const line = text
        .split('\n')
        .find((l) => l.startsWith('prism_http_refused_total{') && l.includes(`status_code="${status}"`));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = { bad: await count('400'), long: await count('414') };
    expect((await app.inject({ url: '/v1/users/%zz/recommendations' })).statusCode).toBe(400);
    expect((await app.inject({ url: `/v1/items/${'i'.repeat(300)}/concepts` })).statusCode).toBe(414);
    expect(await count('400')).toBe(before.bad + 1);
    expect(await count('414')).toBe(before.long + 1);
  });

  it('POSTs that take no body accept Content-Type: application/json with an empty one', async () => {
    const res = await post(`/v1/models/${TEMPLATE.active}/activate`, '');
    expect(res.statusCode).toBe(200);
    // A route that needs a body still says so, naming it.
    const create = await post('/v1/policies', '');
    expect(create.statusCode).toBe(400);
    expect(create.json().field).toBe('body');
    // Malformed JSON and prototype poisoning are still refused by Fastify's own parser.
    for (const payload of ['{"name":', '{"__proto__":{"x":1}}']) {
      const bad = await post('/v1/policies', payload);
      expect(bad.statusCode, payload).toBe(400);
    }
  });
});
