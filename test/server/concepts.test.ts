import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelBundle } from '../../src/ml/bundle.ts';
import { TEMPLATE, testApp } from './fixture.ts';

let app: FastifyInstance;
let close: () => Promise<void>;
let bundle: ModelBundle;

beforeAll(async () => {
  ({ app, close } = await testApp());
  bundle = app.models.require().bundle;
});
afterAll(() => close());

describe('users and items', () => {
  it("returns a user's active neurons, strongest first, with labels", async () => {
    const userId = bundle.dataset.users.ids[5];
    const res = await app.inject({ url: `/v1/users/${userId}/concepts?limit=3` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ userId, modelId: TEMPLATE.active });
    expect(body.activeNeurons).toBeGreaterThan(0);
    expect(body.neurons.length).toBe(Math.min(3, body.activeNeurons));
    const acts = body.neurons.map((n: { activation: number }) => n.activation);
    expect([...acts].sort((a, b) => b - a)).toEqual(acts);
    for (const n of body.neurons) {
      expect(n.activation).toBeGreaterThan(0);
      expect(n.label).toBe(bundle.neurons.find((x) => x.index === n.neuron)?.label);
    }
  });

  it("returns an item's tags and active neurons", async () => {
    const i = 7;
    const itemId = bundle.dataset.items.ids[i];
    const res = await app.inject({ url: `/v1/items/${itemId}/concepts` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      itemId,
      title: bundle.dataset.itemTitles[i],
      tags: bundle.dataset.itemTags[i],
    });
  });

  it('404s unknown users and items, naming them', async () => {
    const u = await app.inject({ url: '/v1/users/u-404/concepts' });
    expect(u.statusCode).toBe(404);
    expect(u.json()).toMatchObject({ code: 'UNKNOWN_USER', field: 'params.userId' });
    expect(u.json().message).toContain('u-404');
    const i = await app.inject({ url: '/v1/items/i-404/concepts' });
    expect(i.statusCode).toBe(404);
    expect(i.json()).toMatchObject({ code: 'UNKNOWN_ITEM', field: 'params.itemId' });
    expect(i.json().message).toContain('i-404');
  });
});

describe('neurons', () => {
  it('lists every neuron with label, purity, densities and dead flag; filters', async () => {
    const res = await app.inject({ url: '/v1/neurons' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const latents = bundle.sae.user.config.latents;
    expect(body.total).toBe(latents);
    expect(body.neurons.map((n: { index: number }) => n.index)).toEqual([...Array(latents).keys()]);
    for (const n of body.neurons) {
      expect(n).toHaveProperty('purity20');
      expect(n).toHaveProperty('itemDensity');
      expect(typeof n.dead).toBe('boolean');
    }
    const concepts = (await app.inject({ url: '/v1/neurons?kind=concept&limit=2' })).json();
    expect(concepts.neurons.length).toBeLessThanOrEqual(2);
    for (const n of concepts.neurons) expect(n.kind).toBe('concept');
    expect(concepts.total).toBe(bundle.neurons.filter((n) => n.kind === 'concept').length);
  });

  it('describes one neuron: top items, top users, evidence, items it raises most', async () => {
    const n = bundle.neurons.find((x) => x.kind === 'concept') ?? bundle.neurons[0];
    const res = await app.inject({ url: `/v1/neurons/${n.index}?limit=5` });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ index: n.index, label: n.label, evidence: n.evidence });
    expect(body.topItems.map((i: { itemId: string }) => i.itemId)).toEqual(
      n.topItems.slice(0, 5).map((i) => bundle.dataset.items.ids[i]),
    );
    expect(body.topUsers.length).toBeGreaterThan(0);
    const acts = body.topUsers.map((u: { value: number }) => u.value);
    expect([...acts].sort((a, b) => b - a)).toEqual(acts);
    expect(body.raisesMost.length).toBeGreaterThan(0);
    for (const r of body.raisesMost) expect(r.value).toBeGreaterThan(0);
  });

  it('404s a neuron the SAE does not have and 400s a malformed index', async () => {
    const res = await app.inject({ url: '/v1/neurons/4096' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'UNKNOWN_NEURON', field: 'params.neuron' });
    expect(res.json().message).toContain('4096');
    const bad = await app.inject({ url: '/v1/neurons/minus-one' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('params.neuron');
  });
});
