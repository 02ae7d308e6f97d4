import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { twinVersion } from '../../src/store/twin.ts';
import type { Store } from '../../src/store/types.ts';
import { TEMPLATE, testApp } from './fixture.ts';

// Jobs are enqueued but not run here, so a job stays queued until it is cancelled.
let app: FastifyInstance;
let store: Store;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ app, store, close } = await testApp());
});
afterAll(() => close());

const del = (url: string) => app.inject({ method: 'DELETE', url });
const enqueueEvaluate = async (baseModelId: number): Promise<number> => {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/jobs',
    payload: { type: 'evaluate', params: { baseModelId } },
  });
  expect(res.statusCode).toBe(202);
  return res.json().id;
};

describe('DELETE /v1/models/{modelId}', () => {
  it('refuses the served version and one a pending job is based on; names unknown ids', async () => {
    const served = await del(`/v1/models/${TEMPLATE.active}`);
    expect(served.statusCode).toBe(409);
    expect(served.json()).toMatchObject({ code: 'MODEL_IN_USE', field: 'params.modelId' });
    expect(served.json().message).toMatch(/this server serves/);

    const jobId = await enqueueEvaluate(TEMPLATE.other);
    const pending = await del(`/v1/models/${TEMPLATE.other}`);
    expect(pending.statusCode).toBe(409);
    expect(pending.json()).toMatchObject({ code: 'MODEL_IN_USE', field: 'params.modelId' });
    expect(pending.json().message).toMatch(`base model of job ${jobId} (queued)`);
    expect((await app.inject({ url: `/v1/models/${TEMPLATE.other}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: `/v1/jobs/${jobId}/cancel` })).statusCode).toBe(202);

    expect((await del('/v1/models/999')).json()).toMatchObject({
      statusCode: 404,
      code: 'UNKNOWN_MODEL',
      field: 'params.modelId',
    });
    expect((await del('/v1/models/abc')).json()).toMatchObject({ statusCode: 400, field: 'params.modelId' });
  });

  it('deletes the others; what is served, and the store behind it, stay whole', async () => {
    const user = app.models.require().bundle.dataset.users.ids[0];
    const before = (await app.inject({ url: `/v1/users/${user}/recommendations` })).json();
    const total = (await app.inject({ url: '/v1/models' })).json().total;
    for (const id of [TEMPLATE.other, TEMPLATE.recommenderOnly]) {
      const res = await del(`/v1/models/${id}`);
      expect(res.statusCode, `model ${id}`).toBe(204);
      expect(res.body).toBe('');
      expect((await app.inject({ url: `/v1/models/${id}` })).statusCode).toBe(404);
    }
    expect((await app.inject({ url: '/v1/models' })).json().total).toBe(total - 2);
    expect((await app.inject({ url: `/v1/users/${user}/recommendations` })).json()).toEqual(before);
    expect(store.models.loadBundle(TEMPLATE.active).dataset.users.ids).toContain(user);
  });
});

describe('every DELETE', () => {
  it('refuses a body naming its first field (a caller sending {"force": true} expects it to matter)', async () => {
    for (const url of ['/v1/models/999', '/v1/jobs/999', '/v1/policies/999']) {
      const res = await app.inject({ method: 'DELETE', url, payload: { force: true } });
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({ code: 'VALIDATION', field: 'body.force' });
    }
  });
});

describe('policies saved against a deleted version', () => {
  it('follow a remaining version with the same SAE; otherwise they say the version is gone', async () => {
    const { app: a, store: st, close: done } = await testApp();
    try {
      const neuron = a.models.require().bundle.neurons.find((n) => n.kind === 'concept')?.index ?? 0;
      const save = async (name: string) =>
        (
          await a.inject({
            method: 'POST',
            url: '/v1/policies',
            payload: { name, policy: { kind: 'suppress', neuron, strength: 1, all: true } },
          })
        ).json();
      const kept = await save('kept');
      expect(kept.modelId).toBe(TEMPLATE.active);
      // A relabel of the served version (same SAE) becomes the active one; the old version is deleted.
      const relabel = twinVersion(st, TEMPLATE.active).id;
      expect((await a.inject({ method: 'POST', url: `/v1/models/${relabel}/activate` })).statusCode).toBe(
        200,
      );
      expect((await a.inject({ method: 'DELETE', url: `/v1/models/${TEMPLATE.active}` })).statusCode).toBe(
        204,
      );
      const view = (await a.inject({ url: `/v1/policies/${kept.id}` })).json();
      expect(view).toMatchObject({ modelId: relabel, applicable: true });
      const user = a.models.require().bundle.dataset.users.ids[0];
      const recs = (await a.inject({ url: `/v1/users/${user}/recommendations` })).json();
      expect(recs.policies.map((p: { name: string }) => p.name)).toContain('kept');

      // Bound to a version whose SAE no remaining version has: set aside, naming it as deleted.
      const orphan = await save('orphan');
      expect(
        (await a.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` })).statusCode,
      ).toBe(200);
      expect((await a.inject({ method: 'DELETE', url: `/v1/models/${relabel}` })).statusCode).toBe(204);
      const gone = (await a.inject({ url: `/v1/policies/${orphan.id}` })).json();
      expect(gone.applicable).toBe(false);
      expect(gone.problem).toMatch(
        `model version ${relabel} (the version it was saved against, since deleted, and no remaining ` +
          `version has that SAE): save the policy again to use it on version ${TEMPLATE.other}`,
      );
    } finally {
      await done();
    }
  });
});

describe('DELETE /v1/jobs/{jobId}', () => {
  it('refuses a pending job, deletes a finished one', async () => {
    const jobId = await enqueueEvaluate(TEMPLATE.active);
    const early = await del(`/v1/jobs/${jobId}`);
    expect(early.statusCode).toBe(409);
    expect(early.json()).toMatchObject({ code: 'JOB_NOT_FINISHED', field: 'params.jobId' });
    expect(early.json().message).toMatch(`job ${jobId} is queued; cancel it`);
    store.db.prepare("UPDATE jobs SET status = 'running' WHERE id = ?").run(jobId);
    expect((await del(`/v1/jobs/${jobId}`)).json().message).toMatch(`job ${jobId} is running`);
    expect(store.jobs.get(jobId)).not.toBeNull();

    store.jobs.finish(jobId, { status: 'cancelled' });
    expect((await del(`/v1/jobs/${jobId}`)).statusCode).toBe(204);
    expect((await app.inject({ url: `/v1/jobs/${jobId}` })).statusCode).toBe(404);
    expect((await del(`/v1/jobs/${jobId}`)).json()).toMatchObject({
      statusCode: 404,
      code: 'UNKNOWN_JOB',
      field: 'params.jobId',
    });
    // The template's own (succeeded) pipeline job; the version it produced stays, unlinked.
    const produced = store.models.get(TEMPLATE.active)?.jobId;
    expect(produced).not.toBeNull();
    expect((await del(`/v1/jobs/${produced}`)).statusCode).toBe(204);
    expect((await app.inject({ url: `/v1/models/${TEMPLATE.active}` })).json()).toMatchObject({
      jobId: null,
    });
  });
});
