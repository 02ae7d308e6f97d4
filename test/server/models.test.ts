import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TEMPLATE, testApp } from './fixture.ts';

let app: FastifyInstance;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ app, close } = await testApp());
});
afterAll(() => close());

describe('models', () => {
  it('lists versions with their metrics, the active one marked', async () => {
    const res = await app.inject({ url: '/v1/models' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.activeId).toBe(TEMPLATE.active);
    expect(body.servingId).toBe(TEMPLATE.active);
    expect(body.models.map((m: { id: number }) => m.id).sort()).toEqual([1, 2, 3]);
    const active = body.models.find((m: { id: number }) => m.id === TEMPLATE.active);
    expect(active).toMatchObject({
      kind: 'full',
      active: true,
      serving: true,
      recommenderKind: 'mf',
      latents: 16,
    });
    expect(active.metrics.ranking.hr).toBeGreaterThan(0);
    expect(body.total).toBe(3);
    const recOnly = (await app.inject({ url: '/v1/models?kind=recommender' })).json();
    expect(recOnly.models.map((m: { id: number }) => m.id)).toEqual([TEMPLATE.recommenderOnly]);
    expect(recOnly.total).toBe(1);
    // total counts every page: a client pages until it has seen `total` versions.
    const page = (await app.inject({ url: '/v1/models?limit=2&offset=2' })).json();
    expect([page.models.length, page.total]).toEqual([1, 3]);
    expect((await app.inject({ url: `/v1/models/${TEMPLATE.other}` })).json()).toMatchObject({
      active: false,
    });
  });

  it('activation switches what is served without a restart, and without failing concurrent requests', async () => {
    const user = app.models.require().bundle.dataset.users.ids[2];
    const url = `/v1/users/${user}/recommendations?k=10`;
    const before = (await app.inject({ url })).json();
    expect(before.modelId).toBe(TEMPLATE.active);

    // Requests in flight around the switch all succeed, each served wholly by one model.
    const inflight = Array.from({ length: 20 }, () => app.inject({ url }));
    const switched = app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` });
    const more = Array.from({ length: 20 }, () => app.inject({ url }));
    const results = await Promise.all([...inflight, switched, ...more]);
    for (const r of results) expect(r.statusCode).toBe(200);
    expect(results[20].json()).toMatchObject({ id: TEMPLATE.other, active: true, serving: true });
    const after = (await app.inject({ url })).json();
    // Each response is exactly one model's list, never a mix of the two.
    const listOf = { [TEMPLATE.active]: before.items, [TEMPLATE.other]: after.items };
    for (const r of results) {
      if (r === results[20]) continue;
      const body = r.json();
      expect([TEMPLATE.active, TEMPLATE.other]).toContain(body.modelId);
      expect(body.items).toEqual(listOf[body.modelId]);
    }

    expect(after.modelId).toBe(TEMPLATE.other);
    expect(after.items.map((i: { score: number }) => i.score)).not.toEqual(
      before.items.map((i: { score: number }) => i.score),
    );
    const list = (await app.inject({ url: '/v1/models' })).json();
    expect(list).toMatchObject({ activeId: TEMPLATE.other, servingId: TEMPLATE.other });
    expect((await app.inject({ url: '/health/ready' })).json()).toMatchObject({
      status: 'ready',
      modelId: TEMPLATE.other,
    });

    await app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` });
    expect((await app.inject({ url })).json().items).toEqual(before.items);
  });

  it('concurrent activations leave the served version and the store agreeing', async () => {
    const [a, b] = await Promise.all([
      app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` }),
      app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` }),
    ]);
    // The later request wins; the earlier one either finished first or is told it was superseded.
    expect(b.statusCode).toBe(200);
    if (a.statusCode !== 200) expect(a.json()).toMatchObject({ statusCode: 409, code: 'SUPERSEDED' });
    const list = (await app.inject({ url: '/v1/models' })).json();
    expect(list).toMatchObject({ activeId: TEMPLATE.active, servingId: TEMPLATE.active });

    // An activation that is still warming up when a later one starts never writes the store.
    const first = app.models.activate(TEMPLATE.other);
    const second = app.models.activate(TEMPLATE.active);
    await expect(first).rejects.toMatchObject({ statusCode: 409, code: 'SUPERSEDED' });
    expect((await second).version.id).toBe(TEMPLATE.active);
    expect(app.store.models.active()?.id).toBe(TEMPLATE.active);

    // A swap superseded while it warms up (the store went back) never installs its version, and the
    // version being swapped in is what the store's active row is compared with meanwhile.
    const stale = app.models.swapTo(TEMPLATE.other);
    expect(app.models.target()).toBe(TEMPLATE.other);
    const back = app.models.swapTo(TEMPLATE.active);
    expect(app.models.target()).toBe(TEMPLATE.active);
    await Promise.all([stale, back, app.models.settled()]);
    expect(app.models.current?.version.id).toBe(TEMPLATE.active);
  });

  it('activating the version already served marks it active again without decoding it', async () => {
    const served = app.models.require();
    expect(served.version.id).toBe(TEMPLATE.active);
    const loads = vi.spyOn(app.store.models, 'loadBundle');
    try {
      // The store moved on meanwhile (another server activated another version, say): this request moves it
      // back, and a swap to that version already in progress is dropped.
      app.store.models.activate(TEMPLATE.other);
      const swap = app.models.swapTo(TEMPLATE.other);
      const res = await app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` });
      expect(app.models.target()).toBe(TEMPLATE.active); // the swap to the other version was dropped at once
      expect(res.json().activatedAt > served.version.activatedAt!).toBe(true); // the fresh row, not the old one
      await swap;
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: TEMPLATE.active, active: true, serving: true });
      expect(app.store.models.active()?.id).toBe(TEMPLATE.active);
      expect(app.models.require().bundle).toBe(served.bundle);
      await app.models.settled();
      expect(app.models.current?.version.id).toBe(TEMPLATE.active);
      // Only the abandoned swap to the other version may have started decoding; never the served one.
      expect(loads.mock.calls.filter(([id]) => id === TEMPLATE.active)).toHaveLength(0);
    } finally {
      loads.mockRestore();
    }
  });

  it('404s an unknown version and 409s a recommender-only one', async () => {
    const missing = await app.inject({ method: 'POST', url: '/v1/models/99/activate' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'UNKNOWN_MODEL', field: 'params.modelId' });
    expect((await app.inject({ url: '/v1/models/99' })).statusCode).toBe(404);
    const recOnly = await app.inject({
      method: 'POST',
      url: `/v1/models/${TEMPLATE.recommenderOnly}/activate`,
    });
    expect(recOnly.statusCode).toBe(409);
    expect(recOnly.json().code).toBe('NOT_ACTIVATABLE');
    expect(app.models.current?.version.id).toBe(TEMPLATE.active);
  });

  it('takes no body: an empty one is fine, a field is refused by name (nothing switches)', async () => {
    const url = `/v1/models/${TEMPLATE.active}/activate`;
    expect((await app.inject({ method: 'POST', url, payload: {} })).statusCode).toBe(200);
    const forced = await app.inject({
      method: 'POST',
      url: `/v1/models/${TEMPLATE.other}/activate`,
      payload: { force: true },
    });
    expect(forced.statusCode).toBe(400);
    expect(forced.json()).toMatchObject({ code: 'VALIDATION', field: 'body.force' });
    expect(app.models.current?.version.id).toBe(TEMPLATE.active);
    const job = await app.inject({ method: 'POST', url: '/v1/jobs/1/cancel', payload: { reason: 'x' } });
    expect(job.json()).toMatchObject({ statusCode: 400, field: 'body.reason' });
  });
});

describe('a second server on the same database file', () => {
  it('follows an activation it did not make (another server ran the job), without a restart', async () => {
    const { app: other, store, close: closeOther } = await testApp();
    try {
      const a = new Date();
      expect(other.models.current?.version.id).toBe(TEMPLATE.active);
      // What another server's job runner does when its pipeline succeeds: the store's active row changes.
      store.models.activate(TEMPLATE.other);
      for (let i = 0; i < 100 && other.models.current?.version.id !== TEMPLATE.other; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(other.models.current?.version.id, `after ${Date.now() - a.getTime()} ms`).toBe(TEMPLATE.other);
      expect((await other.inject({ url: '/health/ready' })).statusCode).toBe(200);
    } finally {
      await closeOther();
    }
  });

  it('a version another server activated that fails to load here is not reloaded on every tick', async () => {
    const { app: one, store, close: closeOne } = await testApp();
    const sha = store.models.get(TEMPLATE.other)?.artifacts.sae as string;
    const bytes = store.db.prepare('SELECT bytes FROM artifacts WHERE sha256 = ?').pluck().get(sha) as Buffer;
    const bad = Buffer.from(bytes);
    bad[bad.length >> 1] ^= 0xff;
    store.db.prepare('UPDATE artifacts SET bytes = ? WHERE sha256 = ?').run(bad, sha);
    const loads: number[] = [];
    const loadBundle = store.models.loadBundle.bind(store.models);
    store.models.loadBundle = (id) => {
      loads.push(id);
      return loadBundle(id);
    };
    try {
      store.models.activate(TEMPLATE.other);
      await new Promise((r) => setTimeout(r, 1500)); // six poll ticks
      expect(loads.filter((id) => id === TEMPLATE.other)).toHaveLength(1);
      expect(one.models.current?.version.id).toBe(TEMPLATE.active); // the old model keeps serving
    } finally {
      store.db.prepare('UPDATE artifacts SET bytes = ? WHERE sha256 = ?').run(bytes, sha);
      await closeOne();
    }
  });

  it('ends up serving what the store names even when a rollback elsewhere lands mid-activation', async () => {
    const { app: one, store, close: closeOne } = await testApp();
    try {
      const activating = one.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` });
      // Another server rolls back while this one is still warming the version it activates.
      await new Promise((r) => setTimeout(r, 5));
      store.models.activate(TEMPLATE.active);
      await activating;
      for (let i = 0; i < 100 && one.models.current?.version.id !== store.models.active()?.id; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(one.models.current?.version.id).toBe(store.models.active()?.id);
    } finally {
      await closeOne();
    }
  });
});
