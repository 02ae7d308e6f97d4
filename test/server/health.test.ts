import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

describe('health', () => {
  let app: FastifyInstance;
  let store: Store;
  beforeAll(async () => {
    store = openStore(':memory:');
    app = await buildApp({ store, jobs: false });
  });
  afterAll(async () => {
    await app.close();
    store.close();
  });

  it('is live at once, echoing the request id', async () => {
    const res = await app.inject({ url: '/health/live' });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('ok');
    expect(res.headers['x-request-id']).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
    const traced = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'trace-42' } });
    expect(traced.headers['x-request-id']).toBe('trace-42');
    // A caller's id that does not look like one (too long, odd characters) is replaced, not echoed or logged.
    for (const given of ['r'.repeat(200), 'a b<script>', '']) {
      const res2 = await app.inject({ url: '/health/live', headers: { 'x-request-id': given } });
      expect(res2.headers['x-request-id'], JSON.stringify(given)).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
    }
    // A request must arrive whole within a minute (Fastify's default is no limit at all).
    expect(app.server.requestTimeout).toBe(60_000);
  });

  it('is not ready without an active model', async () => {
    const res = await app.inject({ url: '/health/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'not-ready', modelId: null });
  });

  it('answers unknown routes with the error body', async () => {
    const res = await app.inject({ url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      code: 'NOT_FOUND',
      error: 'Not Found',
      message: 'route GET /nope not found',
    });
  });

  it('serves the OpenAPI document and metrics', async () => {
    const doc = await app.inject({ url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().paths['/health/ready']).toBeDefined();
    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('http_request_duration_seconds_bucket');
    expect(metrics.body).toContain('route="/health/live"');
    expect(metrics.body).toContain('prism_jobs{status="queued"} 0');
  });
});

describe('logging of 5xx answers', () => {
  it('logs a 503 while no model is active as a warning without a stack (it is a state, not a bug)', async () => {
    const lines: { level: number; msg: string; err?: unknown }[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const store = openStore(':memory:');
    const app = await buildApp({ store, jobs: false, logger: { level: 'info', stream } });
    try {
      const res = await app.inject({ url: '/v1/users/u1/recommendations' });
      expect(res.statusCode).toBe(503);
      const logged = lines.find((l) => l.msg.includes('no model'));
      expect(logged?.level).toBe(40);
      expect(logged?.err).toBeUndefined();
      expect(lines.some((l) => l.level >= 50)).toBe(false);
    } finally {
      await app.close();
      store.close();
    }
  });
});
