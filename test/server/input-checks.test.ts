import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobParamsError } from '../../src/jobs/params.ts';
import { toErrorBody } from '../../src/server/errors.ts';
import type { Store } from '../../src/store/types.ts';
import { TEMPLATE, testApp } from './fixture.ts';

/**
 * Limits and spellings of request input across routes: id lists, policy names, the field names errors use,
 * numbers in URLs, seeds, rounding, enum filters, unknown ids in job bodies, damaged artifacts.
 */
let app: FastifyInstance;
let store: Store;
let close: () => Promise<void>;
let userId: string;
let itemIds: string[];
let concept: string;

beforeAll(async () => {
  ({ app, store, close } = await testApp());
  const { bundle } = app.models.require();
  userId = bundle.dataset.users.ids[3];
  itemIds = bundle.dataset.items.ids;
  concept = bundle.neurons.find((n) => n.kind === 'concept')?.label as string;
});
afterAll(() => close());

async function expectRefused(req: InjectOptions | string, status: number, field?: string) {
  const res = await app.inject(req);
  const body = res.json();
  expect([res.statusCode, body.field], JSON.stringify(req)).toEqual([status, field]);
  expect(body.message.length).toBeGreaterThan(0);
  expect(JSON.stringify(body)).not.toMatch(/\bat \w+ \(/); // no stack
  return body as { code: string; message: string };
}

const recs = (qs: string) => `/v1/users/${userId}/recommendations?${qs}`;

describe('exclude/policy lists: 500 ids however written, each at most 200 characters', () => {
  it('counts ids after splitting: 550 ids in repeated comma-separated values are refused', async () => {
    // 14 values of 40 ids each (the shortest id, repeated): every raw value is short, but together
    // they are 560 ids.
    const shortest = [...itemIds].sort((x, y) => x.length - y.length)[0];
    const value = Array(40).fill(shortest).join(',');
    expect(value.length).toBeLessThanOrEqual(200);
    const qs = Array.from({ length: 14 }, () => `exclude=${value}`).join('&');
    const body = await expectRefused(recs(qs), 400, 'querystring.exclude');
    expect(body.message).toContain('500');
    const refs = Array.from({ length: 11 }, () => `policy=${Array(50).fill('x').join(',')}`).join('&');
    await expectRefused(recs(refs), 400, 'querystring.policy');
    // 500 exactly is fine.
    const ok = [
      ...Array.from({ length: 12 }, () => `exclude=${value}`),
      `exclude=${Array(20).fill(shortest).join(',')}`,
    ].join('&');
    expect((await app.inject(recs(ok))).statusCode).toBe(200);
  });

  it('takes one comma-separated value longer than 200 characters', async () => {
    const ids = itemIds.slice(0, 60);
    const value = ids.join(',');
    expect(value.length).toBeGreaterThan(200);
    const res = await app.inject(recs(`k=3&exclude=${value}`));
    expect(res.statusCode).toBe(200);
    for (const it of res.json().items) expect(ids).not.toContain(it.itemId);
  });

  it('refuses one id longer than 200 characters, after splitting', async () => {
    await expectRefused(recs(`exclude=${itemIds[0]},${'a'.repeat(201)}`), 400, 'querystring.exclude');
    await expectRefused(recs(`policy=${'p'.repeat(201)}`), 400, 'querystring.policy');
  });
});

describe('policy names cannot start or end with a blank', () => {
  const policy = () => ({ kind: 'boost', concept, strength: 1, all: true });
  it('refuses "trail " and " lead" on create and rename, naming body.name', async () => {
    for (const name of ['trail ', ' lead', 'x\t'])
      await expectRefused(
        { method: 'POST', url: '/v1/policies', payload: { name, policy: policy(), enabled: false } },
        400,
        'body.name',
      );
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: { name: 'inner blank.ok', policy: policy(), enabled: false },
    });
    expect(ok.statusCode).toBe(201);
    await expectRefused(
      { method: 'PATCH', url: `/v1/policies/${ok.json().id}`, payload: { name: 'inner blank.ok ' } },
      400,
      'body.name',
    );
    for (const name of ['a', 'a_', 'x:1', 'v1.0-'])
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/v1/policies',
            payload: { name, policy: policy(), enabled: false },
          })
        ).statusCode,
        name,
      ).toBe(201);
  });
});

describe('query parameters are named querystring.<name> whoever raises the error', () => {
  it('schema errors and the service name the same spelling', async () => {
    await expectRefused(recs('k=0'), 400, 'querystring.k');
    await expectRefused(recs('exclude=nope-item'), 400, 'querystring.exclude');
    await expectRefused(recs('policy=ghost'), 400, 'querystring.policy[0]');
  });
});

describe('activating a version with a damaged artifact', () => {
  it('is a 409 CORRUPT_ARTIFACT naming the version and the artifact; the old model keeps serving', async () => {
    const other = store.models.get(TEMPLATE.other);
    const sha = other?.artifacts.sae as string;
    const bytes = store.db.prepare('SELECT bytes FROM artifacts WHERE sha256 = ?').pluck().get(sha) as Buffer;
    const bad = Buffer.from(bytes);
    bad[bad.length >> 1] ^= 0xff;
    store.db.prepare('UPDATE artifacts SET bytes = ? WHERE sha256 = ?').run(bad, sha);
    try {
      const body = await expectRefused(
        { method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` },
        409,
        'params.modelId',
      );
      expect(body.code).toBe('CORRUPT_ARTIFACT');
      expect(body.message).toContain(`version ${TEMPLATE.other}'s sae artifact`);
      expect(app.models.require().version.id).toBe(TEMPLATE.active);
      expect(store.models.active()?.id).toBe(TEMPLATE.active);
    } finally {
      store.db.prepare('UPDATE artifacts SET bytes = ? WHERE sha256 = ?').run(bytes, sha);
    }
  });
});

describe('numbers in URLs must read as the number they spell', () => {
  it('refuses an overflow to Infinity and integers beyond 2^53 or the id range', async () => {
    await expectRefused('/v1/jobs/1e400', 400, 'params.jobId');
    await expectRefused('/v1/neurons/1e400', 400, 'params.neuron');
    await expectRefused('/v1/models/1e400', 400, 'params.modelId');
    const big = await expectRefused('/v1/jobs/9007199254740993', 400, 'params.jobId');
    expect(big.message).not.toContain('9007199254740992');
    await expectRefused('/v1/jobs/2147483648', 400, 'params.jobId');
    await expectRefused('/v1/neurons/2147483648', 400, 'params.neuron');
    await expectRefused({ method: 'POST', url: '/v1/models/2147483648/activate' }, 400, 'params.modelId');
    await expectRefused('/v1/neurons?limit=1e400', 400, 'querystring.limit');
    await expectRefused('/v1/jobs?offset=-9007199254740993', 400, 'querystring.offset');
    expect((await app.inject('/v1/jobs/2147483647')).statusCode).toBe(404);
    expect((await app.inject('/v1/neurons?limit=1e1')).statusCode).toBe(200);
  });
});

describe('seeds are 32-bit unsigned', () => {
  it('refuses seeds that would alias another, in previews and jobs', async () => {
    const policies = [{ kind: 'boost', concept, strength: 1, all: true }];
    for (const seed of [4294967296, -1])
      await expectRefused(
        { method: 'POST', url: '/v1/policies/preview', payload: { policies, sample: 3, seed } },
        400,
        'body.seed',
      );
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policies, sample: 3, seed: 4294967295 },
    });
    expect(ok.statusCode).toBe(200);
    await expectRefused(
      { method: 'POST', url: '/v1/jobs', payload: { type: 'pipeline', params: { seed: 4294967296 } } },
      400,
      'body.params.seed',
    );
  });
});

describe('derived numbers are rounded to 6 decimals on every route', () => {
  const six = (x: number) => expect(Math.round(x * 1e6) / 1e6, String(x)).toBe(x);
  it('preview agreement numbers and concept activations', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policies: [{ kind: 'boost', concept, strength: 2, all: true }], sample: 20 },
    });
    expect(res.statusCode).toBe(200);
    const { users, effect } = res.json();
    for (const u of users) {
      six(u.rbo);
      six(u.kendallTau);
    }
    for (const x of [effect.meanRbo, effect.meanKendallTau, effect.meanOverlap]) six(x);
    const notRound = (xs: number[]) => xs.some((x) => Math.round(x * 1e6) / 1e6 !== x);
    expect(notRound([...users.map((u: { rbo: number }) => u.rbo), effect.meanRbo])).toBe(false);
    const userConcepts = (await app.inject(`/v1/users/${userId}/concepts`)).json();
    const itemConcepts = (await app.inject(`/v1/items/${itemIds[0]}/concepts`)).json();
    const acts = [...userConcepts.neurons, ...itemConcepts.neurons].map((n) => n.activation);
    expect(acts.length).toBeGreaterThan(0);
    for (const a of acts) six(a);
  });
});

describe('/v1/neurons?kind= takes only neuron kinds', () => {
  it('refuses an unknown kind naming querystring.kind; known kinds filter', async () => {
    await expectRefused('/v1/neurons?kind=bogus', 400, 'querystring.kind');
    await expectRefused('/v1/neurons?kind=Concept', 400, 'querystring.kind');
    const res = await app.inject('/v1/neurons?kind=concept');
    expect(res.statusCode).toBe(200);
    expect(res.json().total).toBeGreaterThan(0);
  });
});

describe('unknown ids in a job body are 400s naming the field', () => {
  it('an unknown baseModelId is a 400 UNKNOWN_MODEL naming body.params.baseModelId, never a 404', async () => {
    const body = await expectRefused(
      { method: 'POST', url: '/v1/jobs', payload: { type: 'train-sae', params: { baseModelId: 999 } } },
      400,
      'body.params.baseModelId',
    );
    expect(body.message).toContain('999');
    expect(body.code).toBe('UNKNOWN_MODEL');
  });

  it('keeps the code a JobParamsError carries (UNKNOWN_MODEL), BAD_JOB_PARAMS otherwise', () => {
    const unknown = new JobParamsError('names model version 999', 'baseModelId', 'UNKNOWN_MODEL');
    expect(toErrorBody(unknown)).toMatchObject({
      statusCode: 400,
      code: 'UNKNOWN_MODEL',
      field: 'body.params.baseModelId',
    });
    expect(toErrorBody(new JobParamsError('must be a boolean', 'activate'))).toMatchObject({
      statusCode: 400,
      code: 'BAD_JOB_PARAMS',
      field: 'body.params.activate',
    });
  });
});
