import fc from 'fast-check';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../src/server/errors.ts';
import type { Store } from '../../src/store/types.ts';
import { TEMPLATE, testApp } from './fixture.ts';
import { check } from './fuzz/check.ts';
import { OPS } from './fuzz/document.ts';
import { requests, validIsh } from './fuzz/generate.ts';
import { injectOptions, KEY } from './fuzz/requests.ts';
import { world } from './fuzz/world.ts';

/**
 * A schema-driven property test over every operation of the committed OpenAPI document. Requests are
 * generated from each operation's parameter and body schemas: valid-ish ones (real ids from the fixture's
 * model, policies and jobs made for the purpose) and ones with deliberate faults (wrong types, values out
 * of range, strings too long or empty, unknown enum values, fields missing or extra, repeated query
 * parameters, 1e400, 9007199254740993, %00, bodies that are not JSON). Every response must be
 *   1. never a 5xx, and a status the document lists for the operation;
 *   2. a 4xx: the error body (closed), naming in `field` a part the request has or the operation takes
 *      (for a request with one fault: that part, or one the request without the fault is refused for);
 *   3. a 2xx: valid against the operation's response schema, with no property the document leaves out;
 *   4. JSON (a 204 has no body);
 * and a request with a fault is never answered 2xx. The bugs it found are pinned by cases at the end.
 * Writes carry the API key the app is built with; GETs are open (PRISM_READS_OPEN). The runner is off
 * (testApp): enqueued jobs stay queued, and activations, deletions and cancellations act on objects made
 * for them in beforeAll.
 *
 * The parts are in ./fuzz/: document.ts (the operations, the validators), requests.ts (a request and how
 * it is sent), world.ts (what beforeAll makes), arbitraries.ts and values.ts (valid-ish values),
 * faults.ts, generate.ts (the requests per operation) and check.ts (the properties).
 */

/** Runs per operation: enough to reach every kind of fault a few times, small enough for a 2-core CI box. */
const RUNS: Record<string, number> = {
  getLiveness: 10,
  getReadiness: 10,
  getRecommendations: 40,
  previewPolicies: 30,
  activateModel: 20,
};
const DEFAULT_RUNS = 30;
/** Deterministic by default; PRISM_FUZZ_SEED=n PRISM_FUZZ_SCALE=10 for a longer local hunt. */
const SEED = Number(process.env.PRISM_FUZZ_SEED ?? 0x5eed);
const SCALE = Number(process.env.PRISM_FUZZ_SCALE ?? 1);

let app: FastifyInstance;
let store: Store;
let close: () => Promise<void>;
const statuses = new Map<string, Map<number, number>>();
/** Valid-ish requests refused, by operation, status, code and field (PRISM_FUZZ_REPORT=1 prints them). */
const refusedValidIsh = new Map<string, number>();

async function send(req: InjectOptions): Promise<LightMyRequestResponse> {
  const res = await app.inject({ ...req, headers: { authorization: `Bearer ${KEY}`, ...req.headers } });
  if (res.statusCode >= 300)
    throw new Error(`setup: ${req.method} ${req.url} → ${res.statusCode} ${res.body}`);
  return res;
}

function cloneVersion(id: number): number {
  const v = store.models.get(id);
  if (!v) throw new Error(`no version ${id}`);
  return store.models.create({
    kind: v.kind,
    datasetSpec: v.datasetSpec,
    datasetName: v.datasetName,
    recommenderKind: v.recommenderKind,
    dim: v.dim,
    latents: v.latents,
    nUsers: v.nUsers,
    nItems: v.nItems,
    metrics: v.metrics,
    artifacts: v.artifacts,
    neurons: store.models.neurons(id),
    report: store.models.report(id),
    parentId: id,
  }).id;
}

beforeAll(async () => {
  ({ app, store, close } = await testApp({ config: { apiKeys: [KEY] } }));
  const { bundle } = app.models.require();
  world.users = [...bundle.dataset.users.ids];
  world.items = [...bundle.dataset.items.ids];
  world.latents = bundle.sae.user.config.latents;
  world.concepts = [...new Set(bundle.neurons.filter((n) => n.kind === 'concept').map((n) => n.label))];
  const [concept, other = concept] = world.concepts;
  // Enabled ones act on every recommendation and preview that follows; the others when named (policy=).
  const keep: [string, object, boolean][] = [
    ['keep-suppress', { kind: 'suppress', concept, strength: 1, all: true }, true],
    [
      'keep-segment',
      { kind: 'boost', concept: other, strength: 2, segment: { concept, threshold: 0.1 } },
      true,
    ],
    ['keep-promote', { kind: 'promote', neuron: 1, strength: 3, items: world.items.slice(5, 9) }, true],
    ['keep-boost', { kind: 'boost', concept: other, strength: 0.5, users: world.users.slice(0, 3) }, false],
    ['keep-edit', { kind: 'edit', side: 'user', op: 'add', value: 0.2, neuron: 0, all: true }, false],
    [
      'keep-replace',
      { kind: 'suppress', on: 'users', mode: 'replace', concept, strength: 1, all: true },
      false,
    ],
    ['keep-set', { kind: 'edit', side: 'item', op: 'set', value: 0, concept: other, all: true }, false],
  ];
  for (const [name, policy, enabled] of keep) {
    const res = await send({ method: 'POST', url: '/v1/policies', payload: { name, policy, enabled } });
    world.policies.push({ id: res.json().id, name });
  }
  for (let i = 0; i < 8; i++) {
    const policy = { kind: 'promote', concept, strength: 1, items: world.items.slice(0, 2) };
    const res = await send({ method: 'POST', url: '/v1/policies', payload: { name: `tmp-${i}`, policy } });
    world.throwawayPolicies.push(res.json().id);
  }
  world.templateJobs = (await send({ method: 'GET', url: '/v1/jobs' }))
    .json()
    .jobs.map((j: { id: number }) => j.id);
  for (let i = 0; i < 12; i++) {
    const res = await send({ method: 'POST', url: '/v1/jobs', payload: { type: 'evaluate' } });
    world.queuedJobs.push(res.json().id);
  }
  for (const id of world.queuedJobs.splice(0, 6)) {
    await send({ method: 'POST', url: `/v1/jobs/${id}/cancel` });
    world.cancelledJobs.push(id);
  }
  for (let i = 0; i < 4; i++) world.recommenderClones.push(cloneVersion(TEMPLATE.recommenderOnly));
  for (let i = 0; i < 3; i++) world.fullClones.push(cloneVersion(TEMPLATE.other));
});

afterAll(async () => {
  if (process.env.PRISM_FUZZ_REPORT) {
    for (const [op, counts] of statuses)
      console.log(
        op.padEnd(20),
        [...counts]
          .sort(([a], [b]) => a - b)
          .map(([s, n]) => `${s}×${n}`)
          .join(' '),
      );
    console.log('valid-ish requests refused:', Object.fromEntries(refusedValidIsh));
  }
  await close();
});

describe('every operation of openapi/openapi.json, fuzzed from its schemas', () => {
  it('covers the document', () => {
    expect(OPS.length).toBeGreaterThanOrEqual(20);
  });

  OPS.forEach((op, index) => {
    const name = `${op.method} ${op.path} (${op.spec.operationId})`;
    it(name, async () => {
      const counts = new Map<number, number>();
      statuses.set(op.spec.operationId, counts);
      try {
        await fc.assert(
          fc.asyncProperty(requests(op), async (r) => {
            const res = await app.inject(injectOptions(op, r));
            counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
            // New policies and jobs become ids the next operations use.
            if (res.statusCode === 201 && op.spec.operationId === 'createPolicy')
              world.policies.push({ id: res.json().id, name: res.json().name });
            if (res.statusCode === 202 && op.spec.operationId === 'enqueueJob')
              world.queuedJobs.push(res.json().id);
            if (r.faults.length === 0 && res.statusCode >= 400) {
              const e = res.json() as ErrorBody;
              const key = `${op.spec.operationId} ${res.statusCode} ${e.code} ${e.field}`;
              refusedValidIsh.set(key, (refusedValidIsh.get(key) ?? 0) + 1);
            }
            await check(app, op, r, res);
          }),
          { seed: SEED + index, numRuns: Math.ceil((RUNS[op.spec.operationId] ?? DEFAULT_RUNS) * SCALE) },
        );
      } finally {
        // Whatever was activated, later files' assumptions aside, the template's version serves again.
        if (op.spec.operationId === 'activateModel')
          await send({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` });
      }
      // The generators reach both sides: some request is served, some refused.
      const seen = [...counts.keys()];
      expect(
        seen.some((s) => s < 300),
        `${name}: no 2xx among ${seen}`,
      ).toBe(true);
      if (op.path.startsWith('/v1'))
        expect(
          seen.some((s) => s >= 400),
          `${name}: no 4xx among ${seen}`,
        ).toBe(true);
    });
  });
});

/**
 * An unknown query parameter is refused on every /v1 operation, whether or not it takes parameters of its
 * own: checked on each, not left to how often the fuzzing happens to add one. Validation runs before any
 * handler, so a refused request does nothing.
 */
describe('unknown query parameters', () => {
  for (const [index, op] of OPS.entries())
    if (op.path.startsWith('/v1'))
      it(`${op.method} ${op.path} refuses one, naming it`, async () => {
        const fields = new Set<string>();
        for (const r of fc.sample(validIsh(op), { seed: SEED + index, numRuns: 12 })) {
          const res = await app.inject(
            injectOptions(op, { ...r, query: [...r.query, ['zzUnknown', { text: '1' }]] }),
          );
          expect(res.statusCode, res.body).toBe(400);
          fields.add(res.json().field);
        }
        // Requests whose other parts pass validation are refused for the unknown parameter itself.
        expect([...fields]).toContain('querystring.zzUnknown');
      });
});

/** The bugs the fuzzing found, pinned now that they are fixed. */
describe('bugs the fuzzing found', () => {
  const auth = { authorization: `Bearer ${KEY}` };

  it("a fidelity SAE narrower than k + 2 is accepted (its item pool follows the width, not the setting's k + 2)", async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: auth,
      payload: { type: 'pipeline', params: { data: 'synthetic', setting: 'fidelity', sae: { latents: 8 } } },
    });
    // Was: 400 naming body.params.sae.pursuit.itemPool, an option the API does not take.
    expect(res.statusCode, res.body).toBe(202);
  });

  it('an unknown query parameter on a route without query parameters is refused, and nothing is done', async () => {
    const clone = cloneVersion(TEMPLATE.recommenderOnly);
    const res = await app.inject({ method: 'DELETE', url: `/v1/models/${clone}?dryRun=true`, headers: auth });
    // Was: 204, and the version was gone.
    expect([res.statusCode, res.json().field]).toEqual([400, 'querystring.dryRun']);
    expect((await app.inject({ url: `/v1/models/${clone}` })).statusCode).toBe(200);
  });
});
