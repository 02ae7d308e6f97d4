import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TYPES_PATH, OPENAPI_PATH, renderClientTypes } from '../../scripts/export-openapi.ts';
import { testApp } from '../server/fixture.ts';
import type { paths } from './generated/prism.ts';

const KEY = 'client-test-key';
let app: FastifyInstance;
let close: () => Promise<void>;
let client: ReturnType<typeof createClient<paths>>;

beforeAll(async () => {
  ({ app, close } = await testApp({ config: { apiKeys: [KEY] } }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  client = createClient<paths>({
    baseUrl: `http://127.0.0.1:${port}`,
    headers: { authorization: `Bearer ${KEY}` },
  });
});
afterAll(() => close());

describe('client generated with openapi-typescript', () => {
  it('generates (into a temp dir, at test time) exactly the committed client types', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-client-'));
    const out = join(dir, 'prism.ts');
    writeFileSync(out, await renderClientTypes(readFileSync(OPENAPI_PATH, 'utf8')));
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(CLIENT_TYPES_PATH, 'utf8'));
  });

  it('drives the running server through openapi-fetch', async () => {
    const ready = await client.GET('/health/ready');
    expect(ready.response.status).toBe(200);
    expect(ready.data?.status).toBe('ready');

    const neurons = await client.GET('/v1/neurons', { params: { query: { kind: 'concept', limit: 3 } } });
    expect(neurons.error).toBeUndefined();
    const concept = neurons.data?.neurons[0];
    expect(concept?.kind).toBe('concept');

    const users = app.models.require().bundle.dataset.users.ids;
    const recs = await client.GET('/v1/users/{userId}/recommendations', {
      params: { path: { userId: users[1] }, query: { k: 4, explain: true, compare: true } },
    });
    expect(recs.error).toBeUndefined();
    expect(recs.data?.items).toHaveLength(4);
    expect(recs.data?.items[0].explanation?.neurons.length).toBeGreaterThan(0);
    expect(recs.data?.comparison?.kendallTau).toBeCloseTo(1, 6);

    const created = await client.POST('/v1/policies', {
      body: {
        name: 'client',
        enabled: true,
        policy: { kind: 'suppress', neuron: concept?.index ?? 0, strength: 1, all: true },
      },
    });
    expect(created.response.status).toBe(201);
    expect(created.data?.version).toBe(1);
    const got = await client.GET('/v1/policies/{policyId}', { params: { path: { policyId: 'client' } } });
    expect(got.data?.id).toBe(created.data?.id);

    const missing = await client.GET('/v1/users/{userId}/recommendations', {
      params: { path: { userId: 'nobody' }, query: {} },
    });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ code: 'UNKNOWN_USER', field: 'params.userId' });

    const anonymous = createClient<paths>({
      baseUrl: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`,
    });
    const refused = await anonymous.DELETE('/v1/policies/{policyId}', {
      params: { path: { policyId: 'client' } },
    });
    expect(refused.response.status).toBe(401);
    expect(refused.error?.code).toBe('UNAUTHORIZED');

    const jobs = await client.GET('/v1/jobs', { params: { query: { status: ['succeeded'] } } });
    expect(jobs.data?.total).toBeGreaterThan(0);
    const models = await client.GET('/v1/models', { params: { query: {} } });
    expect(models.data?.servingId).toBe(models.data?.activeId);
    const served = models.data?.activeId as number;
    const inUse = await client.DELETE('/v1/models/{modelId}', { params: { path: { modelId: served } } });
    expect(inUse.response.status).toBe(409);
    expect(inUse.error).toMatchObject({ code: 'MODEL_IN_USE', field: 'params.modelId' });
    const other = models.data?.models.find((m) => m.id !== served)?.id as number;
    const deleted = await client.DELETE('/v1/models/{modelId}', { params: { path: { modelId: other } } });
    expect(deleted.response.status).toBe(204);
    const after = await client.GET('/v1/models', { params: { query: {} } });
    expect(after.data?.total).toBe((models.data?.total ?? 0) - 1);
  });
});
