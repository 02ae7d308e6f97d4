import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.ts';
import { openStore } from '../../src/store/index.ts';
import { twinVersion } from '../../src/store/twin.ts';
import type { Store } from '../../src/store/types.ts';
import { copyOfTemplate, TEMPLATE } from './fixture.ts';

// Deleting versions while servers switch between them. Jobs are not run here.

/** Holds `app`'s decoding of version `id` until the returned release is called. */
function gateDecode(app: FastifyInstance, id: number): { started: Promise<void>; release: () => void } {
  const registry = app.models as unknown as { decode: (v: number, s: AbortSignal) => Promise<unknown> };
  const decode = registry.decode.bind(registry);
  let release!: () => void;
  let started!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const began = new Promise<void>((r) => {
    started = r;
  });
  registry.decode = async (v, signal) => {
    const bundle = await decode(v, signal);
    if (v === id) {
      started();
      await gate;
    }
    return bundle;
  };
  return { started: began, release };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function server(store: Store): Promise<FastifyInstance> {
  const app = await buildApp({ jobs: false, store });
  cleanup.push(async () => {
    await app.close();
    store.close();
  });
  return app;
}

describe('deleting a version a server holds', () => {
  it('refuses the version served, even once the store names another (the switch is under way)', async () => {
    const app = await server((await copyOfTemplate()).store);
    app.store.models.activate(TEMPLATE.other); // another server's activation; this one has not followed yet
    const res = await app.inject({ method: 'DELETE', url: `/v1/models/${TEMPLATE.active}` });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: 'MODEL_IN_USE', field: 'params.modelId' });
    await app.models.settled();
  });

  it('refuses the version this server is activating, and an activation whose version another deletes is a 404', async () => {
    const app = await server((await copyOfTemplate()).store);
    const gate = gateDecode(app, TEMPLATE.other);
    const activating = app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` });
    await gate.started;
    const refused = await app.inject({ method: 'DELETE', url: `/v1/models/${TEMPLATE.other}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().message).toMatch(/serves or is switching to/);
    // Another process deletes it meanwhile (no in-process check can stop that).
    app.store.models.delete(TEMPLATE.other);
    gate.release();
    const res = await activating;
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'UNKNOWN_MODEL', field: 'params.modelId' });
    expect(res.json().message).toMatch('deleted while it was being activated');
    expect(app.models.current?.version.id).toBe(TEMPLATE.active);
  });

  it('a server warming a version another deletes follows the store at once (no retry pause)', async () => {
    const { store: s1, path } = await copyOfTemplate();
    const app1 = await server(s1);
    const app2 = await server(openStore(path));
    const twin = twinVersion(s1, TEMPLATE.active).id;
    const gate = gateDecode(app1, TEMPLATE.other);
    expect(
      (await app2.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` })).statusCode,
    ).toBe(200);
    await gate.started; // app1's poll is warming `other`
    expect((await app2.inject({ method: 'POST', url: `/v1/models/${twin}/activate` })).statusCode).toBe(200);
    expect((await app2.inject({ method: 'DELETE', url: `/v1/models/${TEMPLATE.other}` })).statusCode).toBe(
      204,
    );
    gate.release();
    const t0 = Date.now();
    while (app1.models.current?.version.id !== twin && Date.now() - t0 < 9500)
      await new Promise((r) => setTimeout(r, 50));
    expect(app1.models.current?.version.id).toBe(twin);
    expect(Date.now() - t0).toBeLessThan(8000); // a load failure would hold it back 10 s
    expect((await app1.inject({ url: '/health/ready' })).statusCode).toBe(200);
  });

  it('a server serving nothing yet, warming a version another deletes, follows at once too', async () => {
    const { store: s1, path } = await copyOfTemplate();
    s1.db.prepare('UPDATE models SET is_active = 0').run(); // nothing active yet (a bootstrap still running)
    const app1 = await server(s1);
    expect(app1.models.current).toBeNull();
    const app2 = await server(openStore(path));
    const gate = gateDecode(app1, TEMPLATE.other);
    expect(
      (await app2.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` })).statusCode,
    ).toBe(200);
    await gate.started;
    expect(
      (await app2.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` })).statusCode,
    ).toBe(200);
    expect((await app2.inject({ method: 'DELETE', url: `/v1/models/${TEMPLATE.other}` })).statusCode).toBe(
      204,
    );
    gate.release();
    const t0 = Date.now();
    while (app1.models.current?.version.id !== TEMPLATE.active && Date.now() - t0 < 9500)
      await new Promise((r) => setTimeout(r, 50));
    expect(app1.models.current?.version.id).toBe(TEMPLATE.active);
    expect(Date.now() - t0).toBeLessThan(8000); // a load failure would hold it back 10 s
  });
});

describe('policies saved while a server lags behind a deletion', () => {
  it('bind to a remaining version with the same SAE, not to the deleted one this server still serves', async () => {
    const { store: s1, path } = await copyOfTemplate();
    const app1 = await server(s1);
    const app2 = await server(openStore(path));
    const relabel = twinVersion(s1, TEMPLATE.active).id; // same SAE
    const gate = gateDecode(app1, relabel);
    expect((await app2.inject({ method: 'POST', url: `/v1/models/${relabel}/activate` })).statusCode).toBe(
      200,
    );
    expect((await app2.inject({ method: 'DELETE', url: `/v1/models/${TEMPLATE.active}` })).statusCode).toBe(
      204,
    );
    await gate.started; // app1 still serves the deleted version while it warms the relabel
    const neuron = app1.models.require().bundle.neurons.find((n) => n.kind === 'concept')?.index ?? 0;
    const res = await app1.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: { name: 'late', policy: { kind: 'suppress', neuron, strength: 1, all: true } },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().modelId).toBe(relabel);
    gate.release();
    await app1.models.settled();
    expect((await app2.inject({ url: `/v1/policies/${res.json().id}` })).json()).toMatchObject({
      modelId: relabel,
      applicable: true,
    });
  });
});
