import { realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOW } from '../jobs/helpers.ts';
import { finished, SMALL, TEMPLATE, testApp } from './fixture.ts';

let app: FastifyInstance;
let close: () => Promise<void>;

beforeAll(async () => {
  // A data root, so that specs naming files reach the checks of their contents.
  ({ app, close } = await testApp({
    config: { dataRoot: realpathSync(tmpdir()) },
    jobs: { cancelGraceMs: 2000 },
  }));
});
afterAll(() => close());

async function poll(url: string, until: (job: { status: string }) => boolean, timeoutMs = 60_000) {
  const t0 = Date.now();
  for (;;) {
    const job = (await app.inject({ url })).json();
    if (until(job)) return job;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out polling ${url}: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('jobs', () => {
  it('enqueue → 202 with its URL → poll → succeeded, with a new model version', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { type: 'pipeline', params: { ...SMALL, activate: false } },
    });
    expect(res.statusCode).toBe(202);
    const job = res.json();
    const event = finished(app.runner, job.id);
    expect(res.headers.location).toBe(`/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ url: `/v1/jobs/${job.id}`, type: 'pipeline', status: 'queued', progress: 0 });
    const stages = new Set<string>();
    const done = await poll(job.url, (j: { status: string; stage?: string }) => {
      if (j.stage) stages.add(j.stage);
      return j.status === 'succeeded' || j.status === 'failed';
    });
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'succeeded', progress: 1, attempts: 1 });
    expect(Object.keys(done.timings)).toContain('sae');
    expect(done.result.modelId).toBeGreaterThan(TEMPLATE.recommenderOnly);
    expect(done.result.activated).toBe(false);
    // Every field of the result is one the OpenAPI document describes (it once declared a `metrics` that
    // no result carries, and none of these).
    const documented = (await app.inject({ url: '/openapi.json' })).json().paths['/v1/jobs/{jobId}'].get
      .responses['200'].content['application/json'].schema.properties.result.anyOf[0].properties;
    expect(Object.keys(documented)).not.toContain('metrics');
    expect(Object.keys(done.result).filter((key) => !(key in documented))).toEqual([]);
    expect(done.result).toMatchObject({ hr10: expect.any(Number), latents: expect.any(Number) });
    expect(stages.size).toBeGreaterThan(0);
    const model = (await app.inject({ url: `/v1/models/${done.result.modelId}` })).json();
    expect(model).toMatchObject({ kind: 'full', active: false, jobId: job.id });
    // Still serving the version that was active before (activate: false).
    expect((await app.inject({ url: '/health/ready' })).json().modelId).toBe(TEMPLATE.active);
    await event; // the runner's event (metrics) may trail the row's status by a moment
    expect((await app.inject({ url: '/metrics' })).body).toMatch(
      /prism_jobs_finished_total\{type="pipeline",status="succeeded"\} 1/,
    );
  });

  it('a job deleted as soon as it reads succeeded still reports its end (events, metrics)', async () => {
    const before = (await app.inject({ url: '/metrics' })).body;
    const count = (body: string) =>
      Number(/prism_jobs_finished_total\{type="pipeline",status="succeeded"\} (\d+)/.exec(body)?.[1] ?? 0);
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { type: 'pipeline', params: { ...SMALL, activate: false } },
    });
    const id = res.json().id;
    const event = finished(app.runner, id, 45_000);
    // Polled as tightly as a client can: the worker writes `succeeded` before the server settles the job.
    while (!['succeeded', 'failed'].includes(app.store.jobs.get(id)?.status ?? ''))
      await new Promise((r) => setImmediate(r));
    expect((await app.inject({ method: 'DELETE', url: `/v1/jobs/${id}` })).statusCode).toBe(204);
    const { job, version } = await event;
    expect(job).toMatchObject({ id, status: 'succeeded' });
    expect(version?.sourceJobId).toBe(id);
    expect(count((await app.inject({ url: '/metrics' })).body)).toBe(count(before) + 1);
  });

  it('cancels a queued job at once and a running one at its next step', async () => {
    const slow = { ...SLOW, activate: false };
    const a = (
      await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'pipeline', params: slow } })
    ).json();
    const b = (
      await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'pipeline', params: slow } })
    ).json();
    await poll(a.url, (j) => j.status === 'running');
    const cancelQueued = await app.inject({ method: 'POST', url: `/v1/jobs/${b.id}/cancel` });
    expect(cancelQueued.statusCode).toBe(202);
    expect(cancelQueued.json().status).toBe('cancelled');
    const end = finished(app.runner, a.id);
    const cancelRunning = await app.inject({ method: 'POST', url: `/v1/jobs/${a.id}/cancel` });
    expect(cancelRunning.statusCode).toBe(202);
    expect(cancelRunning.json().cancelRequested).toBe(true);
    const { job } = await end;
    expect(job.status).toBe('cancelled');
    expect((await app.inject({ url: a.url })).json()).toMatchObject({ status: 'cancelled' });
    const again = await app.inject({ method: 'POST', url: `/v1/jobs/${a.id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('JOB_FINISHED');
    // A cancelled job changed nothing that is served.
    expect(app.models.current?.version.id).toBe(TEMPLATE.active);
  });

  it('shows a result whose headline number could not be measured (null, as a NaN was stored) instead of a 500', async () => {
    const store = app.store;
    const job = store.jobs.enqueue('pipeline', { data: 'synthetic' });
    store.jobs.finish(job.id, {
      status: 'succeeded',
      result: { modelId: 1, activated: false, hr10: 0.5, ndcg10: null, fidelityRbo: Number.NaN },
    });
    const one = await app.inject({ url: `/v1/jobs/${job.id}` });
    expect(one.statusCode).toBe(200);
    expect(one.json().result).toMatchObject({ hr10: 0.5, ndcg10: null, fidelityRbo: null });
    expect((await app.inject({ url: '/v1/jobs?status=succeeded' })).statusCode).toBe(200);
    store.jobs.delete(job.id);
  });

  it('lists with filters', async () => {
    const all = (await app.inject({ url: '/v1/jobs' })).json();
    expect(all.total).toBe(all.jobs.length);
    const cancelled = (await app.inject({ url: '/v1/jobs?status=cancelled' })).json();
    expect(cancelled.jobs.length).toBeGreaterThanOrEqual(2);
    for (const j of cancelled.jobs) expect(j.status).toBe('cancelled');
    const two = (
      await app.inject({ url: '/v1/jobs?status=cancelled,succeeded&type=pipeline&limit=1' })
    ).json();
    expect(two.jobs).toHaveLength(1);
    expect(two.total).toBeGreaterThanOrEqual(3);
    const bad = await app.inject({ url: '/v1/jobs?status=sleeping' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toMatch(/^querystring\.status/);
  });

  it('404s unknown jobs and 400s bad job requests, naming the field', async () => {
    const missing = await app.inject({ url: '/v1/jobs/999' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'UNKNOWN_JOB', field: 'params.jobId' });
    expect((await app.inject({ method: 'POST', url: '/v1/jobs/999/cancel' })).statusCode).toBe(404);
    for (const [payload, field] of [
      [{ type: 'bake' }, 'body.type'],
      [{}, 'body.type'],
      [{ type: 'pipeline', params: { dim: 0 } }, 'body.params.dim'],
      [{ type: 'pipeline', params: { sae: { colour: 1 } } }, 'body.params.sae.colour'],
      [{ type: 'pipeline', params: { model: 'svd' } }, 'body.params.model'],
      [{ type: 'pipeline', params: { setting: 'precise' } }, 'body.params.setting'],
      // Parameters a job type does not read are refused, not ignored.
      [{ type: 'pipeline', params: { baseModelId: 1 } }, 'body.params.baseModelId'],
      [{ type: 'evaluate', params: { model: 'ncf' } }, 'body.params.model'],
      [{ type: 'label', params: { sae: { k: 4 } } }, 'body.params.sae'],
      [{ type: 'train-recommender', params: { activate: true } }, 'body.params.activate'],
      // No silent default data: the demo catalogue would be activated over a real one.
      [{ type: 'pipeline' }, 'body.params.data'],
      [{ type: 'train-recommender', params: { model: 'mf' } }, 'body.params.data'],
      // A dataset directory without its interactions file fails now, not in the worker.
      [{ type: 'pipeline', params: { data: `movielens-1m:${tmpdir()}` } }, 'body.params.data'],
      [{ type: 'pipeline', params: { data: `lastfm-hetrec:${tmpdir()}` } }, 'body.params.data'],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: '/v1/jobs', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().field, JSON.stringify(payload)).toBe(field);
      expect(res.json().message, JSON.stringify(payload)).toMatch(
        new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')}\\b`),
      );
    }
    const noBase = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      payload: { type: 'evaluate', params: { baseModelId: 77 } },
    });
    expect(noBase.statusCode).toBe(400); // an id inside a body: 400 naming it, like unknown ids in policies
    expect(noBase.json().message).toContain('77');
    expect(noBase.json().field).toBe('body.params.baseModelId');
  });

  it("refuses at once a train-sae or evaluate job whose base version's data is gone (they read it again)", async () => {
    const gone = `movielens-1m:${tmpdir()}/prism-no-such-dataset`;
    app.store.db.prepare('UPDATE models SET dataset_spec = ? WHERE id = ?').run(gone, TEMPLATE.other);
    try {
      for (const type of ['train-sae', 'evaluate']) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/jobs',
          payload: { type, params: { baseModelId: TEMPLATE.other } },
        });
        expect(res.statusCode, type).toBe(400);
        expect(res.json()).toMatchObject({ code: 'BAD_JOB_PARAMS', field: 'body.params.baseModelId' });
        expect(res.json().message).toContain(`model version ${TEMPLATE.other}`);
        expect(res.json().message).toContain('prism-no-such-dataset');
      }
      // Labelling needs only the stored catalogue.
      const label = await app.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: { type: 'label', params: { baseModelId: TEMPLATE.other } },
      });
      expect(label.statusCode).toBe(202);
      await poll(label.json().url, (j) => j.status !== 'queued' && j.status !== 'running');
    } finally {
      app.store.db.prepare('UPDATE models SET dataset_spec = ? WHERE id = ?').run(SMALL.data, TEMPLATE.other);
    }
  });
});
