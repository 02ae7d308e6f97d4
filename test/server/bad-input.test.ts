import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMPLATE, testApp } from './fixture.ts';

/**
 * Inputs found by probing every route: each must be a 4xx naming the field, never a 500, a quiet
 * default, or a job that is accepted only to fail in its worker.
 */
let app: FastifyInstance;
let close: () => Promise<void>;
let concept: string;

beforeAll(async () => {
  ({ app, close } = await testApp());
  concept = app.models.require().bundle.neurons.find((n) => n.kind === 'concept')?.label as string;
});
afterAll(() => close());

async function expectRefused(
  req: InjectOptions,
  status: number,
  field: string,
): Promise<{ message: string }> {
  const res = await app.inject(req);
  const body = res.json();
  expect([res.statusCode, body.field], JSON.stringify(req)).toEqual([status, field]);
  expect(body.message.length).toBeGreaterThan(0);
  return body;
}

describe('bad input is refused naming the field', () => {
  it('a JSON body declared in a charset other than UTF-8 is a 415 naming the header, not read as UTF-8', async () => {
    const preview = (contentType: string) => ({
      method: 'POST' as const,
      url: '/v1/policies/preview',
      headers: { 'content-type': contentType },
      payload: Buffer.from('{"policies":[],"sample":2}', 'latin1'),
    });
    for (const ct of [
      'application/json; charset=latin1',
      'application/json;charset="UTF-16"',
      'application/json; foo="x\\"y"; charset=latin1',
    ]) {
      const refused = await expectRefused(preview(ct), 415, 'headers.content-type');
      expect(refused.message).toMatch(/JSON bodies are UTF-8/);
    }
    for (const ct of [
      // A charset inside another parameter's quoted value, or an empty one, is no charset.
      'application/json; charset=',
      'application/json; foo="a;charset=latin1"',
      'application/json; charset=utf-8',
      'application/json;Charset=UTF-8',
      'application/json',
    ])
      await expectRefused(preview(ct), 400, 'body.policies'); // read, then validated
  });

  it('an unknown parameter or body field is named with the ones that exist there (a typo is one look away)', async () => {
    const user = app.models.require().bundle.dataset.users.ids[0];
    const q = await expectRefused(
      { url: `/v1/users/${user}/recommendations?explian=true` },
      400,
      'querystring.explian',
    );
    expect(q.message).toBe(
      'querystring.explian is unknown; known here: k, exclude, explain, policy, compare, topNeurons',
    );
    const b = await expectRefused(
      { method: 'POST', url: '/v1/jobs', payload: { type: 'pipeline', params: { dat: 'synthetic' } } },
      400,
      'body.params.dat',
    );
    expect(b.message).toMatch(/^body\.params\.dat is unknown; known here: data, model, /);
  });

  it('numbers in paths and query strings must look like numbers (not blanks, not hex)', async () => {
    await expectRefused({ url: '/v1/neurons/%20' }, 400, 'params.neuron');
    await expectRefused({ url: '/v1/neurons/0x1' }, 400, 'params.neuron');
    const job = await expectRefused({ url: '/v1/jobs/%09' }, 400, 'params.jobId');
    expect(job.message).toBe('params.jobId must be an integer');
    await expectRefused({ url: '/v1/neurons?limit=%20' }, 400, 'querystring.limit');
    expect((await app.inject({ url: '/v1/neurons/0' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/neurons?limit=2&offset=1' })).statusCode).toBe(200);
  });

  it('messages say what to send: allowed values, the pattern in words, the range', async () => {
    const job = (params: object) => ({
      method: 'POST' as const,
      url: '/v1/jobs',
      payload: { type: 'pipeline', params },
    });
    const cases: [InjectOptions, string, string][] = [
      [job({ data: 'synthetic', model: 'MF' }), 'body.params.model', 'must be one of "mf", "ncf"'],
      [
        { method: 'POST', url: '/v1/jobs', payload: { type: 'pipline' } },
        'body.type',
        'must be one of "train-recommender"',
      ],
      [
        {
          method: 'POST',
          url: '/v1/policies',
          payload: { name: 'x ', policy: { kind: 'suppress', concept, all: true } },
        },
        'body.name',
        'must match: Letters, digits',
      ],
      [{ url: '/v1/users/u1/recommendations?explain=1' }, 'querystring.explain', 'must be true or false'],
      [
        { url: '/v1/users/u1/recommendations?k=99999999999999999999' },
        'querystring.k',
        'must be an integer between 1 and 200',
      ],
      [job({ data: 'synthetic', dim: 'x' }), 'body.params.dim', 'must be an integer'],
      [
        { method: 'POST', url: '/v1/policies/preview', payload: { policyIds: [true] } },
        'body.policyIds[0]',
        'must be an integer or a string',
      ],
      // A parameter that would change nothing is refused, like every other.
      [
        { url: '/v1/users/u1/recommendations?topNeurons=3' },
        'querystring.topNeurons',
        'applies only with explain=true',
      ],
    ];
    for (const [req, field, words] of cases) {
      const { message } = await expectRefused(req, 400, field);
      expect(message, JSON.stringify(req)).toContain(`${field} ${words}`);
    }
  });

  it('offsets too large for SQLite are a 400, not a 500', async () => {
    await expectRefused({ url: '/v1/jobs?offset=1e20' }, 400, 'querystring.offset');
    await expectRefused({ url: '/v1/models?offset=9223372036854775807' }, 400, 'querystring.offset');
  });

  it('JSON bodies are not coerced: null or a string where a number or boolean belongs is refused', async () => {
    const policy = { kind: 'suppress', concept, all: true };
    await expectRefused(
      { method: 'POST', url: '/v1/policies', payload: { name: 'n1', policy: { ...policy, strength: null } } },
      400,
      'body.policy.strength',
    );
    await expectRefused(
      { method: 'POST', url: '/v1/policies', payload: { name: 'n2', policy: { ...policy, strength: '1' } } },
      400,
      'body.policy.strength',
    );
    await expectRefused(
      {
        method: 'POST',
        url: '/v1/policies',
        payload: { name: 'n3', enabled: null, policy: { ...policy, strength: 1 } },
      },
      400,
      'body.enabled',
    );
    await expectRefused(
      { method: 'POST', url: '/v1/jobs', payload: { type: 'pipeline', params: { activate: null } } },
      400,
      'body.params.activate',
    );
    expect((await app.inject({ url: '/v1/policies' })).json().policies).toEqual([]);
  });

  it('a policy strength or value beyond ±1000 is refused (float32 scores would overflow)', async () => {
    await expectRefused(
      {
        method: 'POST',
        url: '/v1/policies',
        payload: { name: 'huge', policy: { kind: 'boost', concept, strength: 1e308, all: true } },
      },
      400,
      'body.policy.strength',
    );
    await expectRefused(
      {
        method: 'POST',
        url: '/v1/policies/preview',
        payload: { policies: [{ kind: 'edit', side: 'user', op: 'set', value: 1e39, neuron: 0, all: true }] },
      },
      400,
      'body.policies[0].value',
    );
  });

  it('job parameters the worker could only fail on are refused at enqueue', async () => {
    const enqueue = (params: object, type = 'pipeline') => ({
      method: 'POST' as const,
      url: '/v1/jobs',
      payload: { type, params },
    });
    const jobsBefore = (await app.inject({ url: '/v1/jobs' })).json().jobs.length;
    const spec = await expectRefused(enqueue({ data: 'bogus' }), 400, 'body.params.data');
    expect(spec.message).toContain('bogus');
    await expectRefused(enqueue({ data: 'synthetic:users=-5' }), 400, 'body.params.data');
    await expectRefused(enqueue({ data: 'movielens-1m:/nonexistent/dir' }), 400, 'body.params.data');
    await expectRefused(
      enqueue({ data: 'synthetic', sae: { latents: 16, k: 32 } }),
      400,
      'body.params.sae.k',
    );
    await expectRefused(
      enqueue({ baseModelId: TEMPLATE.active, sae: { latents: 16, k: 20 } }, 'train-sae'),
      400,
      'body.params.sae.k',
    );
    expect((await app.inject({ url: '/v1/jobs' })).json().jobs).toHaveLength(jobsBefore);
  });

  it('a preview on blank user ids is refused, not silently sampled; duplicates count once', async () => {
    const policies = [{ kind: 'suppress', concept, strength: 1, all: true }];
    for (const users of [[''], [' , , ']])
      await expectRefused(
        { method: 'POST', url: '/v1/policies/preview', payload: { policies, users } },
        400,
        'body.users',
      );
    const user = app.models.require().bundle.dataset.users.ids[0];
    const res = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policies, users: [`${user},${user}`, user] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().users.map((u: { userId: string }) => u.userId)).toEqual([user]);
  });

  it('a malformed percent-encoding and a long id get the usual error body', async () => {
    const bad = await expectRefused({ url: '/v1/users/%ZZ/recommendations' }, 400, 'url');
    expect(bad).toMatchObject({ code: 'FST_ERR_BAD_URL', error: 'Bad Request' });
    // 150 characters: within the schema's 200, so it is looked up (and unknown), not cut off at 100.
    const long = 'u'.repeat(150);
    const res = await app.inject({ url: `/v1/users/${long}/recommendations` });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'UNKNOWN_USER', field: 'params.userId' });
  });
});
