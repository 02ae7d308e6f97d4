import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelBundle } from '../../src/ml/bundle.ts';
import type { Store } from '../../src/store/types.ts';
import { TEMPLATE, testApp } from './fixture.ts';

let app: FastifyInstance;
let store: Store;
let close: () => Promise<void>;
let bundle: ModelBundle;
let userId: string;

beforeAll(async () => {
  ({ app, store, close } = await testApp());
  bundle = app.models.require().bundle;
  userId = bundle.dataset.users.ids[3];
});
afterAll(() => close());

describe('GET /v1/users/:userId/recommendations', () => {
  it('returns k unseen items ranked by score, with titles', async () => {
    const res = await app.inject({ url: `/v1/users/${userId}/recommendations?k=5` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ userId, modelId: TEMPLATE.active, k: 5, policies: [] });
    expect(body.items).toHaveLength(5);
    expect(body.items.map((i: { rank: number }) => i.rank)).toEqual([1, 2, 3, 4, 5]);
    const scores = body.items.map((i: { score: number }) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    // Training positives are never recommended.
    const u = bundle.dataset.users.index.get(userId)!;
    const { indptr, indices } = bundle.dataset.interactions;
    const seen = new Set(
      Array.from(indices.subarray(indptr[u], indptr[u + 1]), (i) => bundle.dataset.items.ids[i]),
    );
    for (const it of body.items) expect(seen.has(it.itemId)).toBe(false);
    expect(body.items[0].title).toBe(
      bundle.dataset.itemTitles[bundle.dataset.items.index.get(body.items[0].itemId)!],
    );
    expect(body.items[0].explanation).toBeUndefined();
  });

  it('leaves out excluded items (repeated or comma-separated)', async () => {
    const first = (await app.inject({ url: `/v1/users/${userId}/recommendations?k=3` })).json();
    const [a, b] = first.items.map((i: { itemId: string }) => i.itemId);
    for (const qs of [`exclude=${a}&exclude=${b}`, `exclude=${a},${b}`]) {
      const res = await app.inject({ url: `/v1/users/${userId}/recommendations?k=3&${qs}` });
      expect(res.statusCode).toBe(200);
      const ids = res.json().items.map((i: { itemId: string }) => i.itemId);
      expect(ids).not.toContain(a);
      expect(ids).not.toContain(b);
      expect(ids[0]).toBe(first.items[2].itemId);
    }
  });

  it('explains each item with labelled neuron contributions that add up to the score', async () => {
    const res = await app.inject({
      url: `/v1/users/${userId}/recommendations?k=3&explain=true&topNeurons=50`,
    });
    expect(res.statusCode).toBe(200);
    for (const item of res.json().items) {
      const e = item.explanation;
      expect(e.method).toBe('mf-exact');
      expect(e.neurons.length).toBeGreaterThan(0);
      for (const n of e.neurons) expect(typeof n.label).toBe('string');
      const sum = e.neurons.reduce((s: number, n: { contribution: number }) => s + n.contribution, 0);
      expect(sum + e.other + e.base + e.residual).toBeCloseTo(item.score, 3);
    }
  });

  it('compares with the unsteered list (identical without policies)', async () => {
    const res = await app.inject({ url: `/v1/users/${userId}/recommendations?k=5&compare=true` });
    const body = res.json();
    expect(body.unsteered.map((i: { itemId: string }) => i.itemId)).toEqual(
      body.items.map((i: { itemId: string }) => i.itemId),
    );
    expect(body.comparison.kendallTau).toBeCloseTo(1, 6);
    expect(body.comparison.rbo).toBeGreaterThan(0.3);
  });

  it('404s an unknown user, naming it', async () => {
    const res = await app.inject({ url: '/v1/users/no-such-user/recommendations' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      code: 'UNKNOWN_USER',
      error: 'Not Found',
      message: 'unknown user id "no-such-user"',
      field: 'params.userId',
    });
  });

  it('400s an unknown excluded item and an unknown policy, naming them', async () => {
    const ex = await app.inject({ url: `/v1/users/${userId}/recommendations?exclude=nope-item` });
    expect(ex.statusCode).toBe(400);
    expect(ex.json()).toMatchObject({ code: 'UNKNOWN_ITEM', field: 'querystring.exclude' });
    expect(ex.json().message).toContain('nope-item');
    const pol = await app.inject({ url: `/v1/users/${userId}/recommendations?policy=ghost` });
    expect(pol.statusCode).toBe(400);
    expect(pol.json()).toMatchObject({ code: 'UNKNOWN_POLICY', field: 'querystring.policy[0]' });
    expect(pol.json().message).toContain('ghost');
  });

  it('400s bad query values, naming the parameter, without a stack trace', async () => {
    for (const [qs, field] of [
      ['k=0', 'querystring.k'],
      ['k=abc', 'querystring.k'],
      ['explain=maybe', 'querystring.explain'],
      ['bogus=1', 'querystring.bogus'],
    ]) {
      const res = await app.inject({ url: `/v1/users/${userId}/recommendations?${qs}` });
      expect(res.statusCode, qs).toBe(400);
      const body = res.json();
      expect(body.code).toBe('VALIDATION');
      expect(body.field).toBe(field);
      expect(body.message).toContain(field);
      expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
    }
  });

  it('serves repeated requests from the cache, keyed on the model and the policies', async () => {
    const url = `/v1/users/${userId}/recommendations?k=4`;
    const counts = async () => {
      const text = (await app.inject({ url: '/metrics' })).body;
      const read = (result: string) =>
        Number(
          text.match(new RegExp(`prism_recommendation_cache_total\\{result="${result}"\\} (\\d+)`))?.[1] ?? 0,
        );
      return { hit: read('hit'), miss: read('miss') };
    };
    const delta = async (before: { hit: number; miss: number }) => {
      const now = await counts();
      return { hit: now.hit - before.hit, miss: now.miss - before.miss };
    };
    const get = async () => (await app.inject({ url })).json();

    let c = await counts();
    const a = await get();
    expect(await get()).toEqual(a);
    expect(await delta(c)).toEqual({ hit: 1, miss: 1 });

    // An enabled policy changes the key: a miss, and the policy is applied.
    const concept = bundle.neurons.find((n) => n.kind === 'concept')?.label as string;
    const created = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: { name: 'cache-key', policy: { kind: 'suppress', concept, strength: 1, all: true } },
    });
    expect(created.statusCode).toBe(201);
    c = await counts();
    const steered = await get();
    expect(await delta(c)).toEqual({ hit: 0, miss: 1 });
    expect(steered.policies.map((p: { name: string }) => p.name)).toEqual(['cache-key']);
    await app.inject({ method: 'DELETE', url: `/v1/policies/${created.json().id}` });
    c = await counts();
    expect(await get()).toEqual(a);
    expect(await delta(c)).toEqual({ hit: 0, miss: 1 });

    // Another active model changes the key too.
    const switched = await app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` });
    expect(switched.statusCode).toBe(200);
    c = await counts();
    expect((await get()).modelId).toBe(TEMPLATE.other);
    expect(await delta(c)).toEqual({ hit: 0, miss: 1 });
    await app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` });
    expect(await get()).toEqual(a);
    void store;
  });
});
