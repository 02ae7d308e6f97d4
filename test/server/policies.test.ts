import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ModelBundle } from '../../src/ml/bundle.ts';
import type { Store } from '../../src/store/types.ts';
import { TEMPLATE, testApp } from './fixture.ts';

let app: FastifyInstance;
let close: () => Promise<void>;
let store: Store;
let bundle: ModelBundle;
let concept: string;
let conceptNeuron: number;

const ids = (items: { itemId: string }[]) => items.map((i) => i.itemId);
const boostNeuron = () => ({
  kind: 'edit',
  side: 'user',
  op: 'set',
  value: 50,
  neuron: conceptNeuron,
  all: true,
});
const createPolicy = (name: string, policy: object, enabled = true) =>
  app.inject({ method: 'POST', url: '/v1/policies', payload: { name, policy, enabled } });

beforeAll(async () => {
  ({ app, close, store } = await testApp());
  bundle = app.models.require().bundle;
  const labelled = bundle.neurons.find((n) => n.kind === 'concept' && n.label !== '');
  if (!labelled) throw new Error('fixture model has no labelled concept neuron');
  concept = labelled.label;
  conceptNeuron = labelled.index;
});
afterAll(() => close());

describe('policies CRUD', () => {
  it('creates, lists, gets (by id and name), updates and deletes a policy', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: {
        name: 'calm',
        policy: { kind: 'suppress', concept, strength: 1, all: true },
        enabled: false,
      },
    });
    expect(created.statusCode).toBe(201);
    const rec = created.json();
    expect(created.headers.location).toBe(`/v1/policies/${rec.id}`);
    expect(rec).toMatchObject({ name: 'calm', enabled: false, version: 1, applicable: true });
    expect(rec.policy).toMatchObject({ kind: 'suppress', concept, strength: 1, all: true });

    const list = (await app.inject({ url: '/v1/policies' })).json();
    expect(list.policies.map((p: { name: string }) => p.name)).toEqual(['calm']);
    expect((await app.inject({ url: '/v1/policies?enabled=true' })).json().policies).toEqual([]);
    expect((await app.inject({ url: `/v1/policies/${rec.id}` })).json().name).toBe('calm');
    expect((await app.inject({ url: '/v1/policies/calm' })).json().id).toBe(rec.id);

    const patched = await app.inject({
      method: 'PATCH',
      url: `/v1/policies/${rec.id}`,
      payload: {
        policy: { kind: 'suppress', neuron: conceptNeuron, strength: 0.5, all: true },
        expectedVersion: 1,
      },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ version: 2, policy: { neuron: conceptNeuron, strength: 0.5 } });

    const stale = await app.inject({
      method: 'PATCH',
      url: `/v1/policies/${rec.id}`,
      payload: { enabled: true, expectedVersion: 1 },
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'CONFLICT', field: 'body.expectedVersion' });

    const dup = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: { name: 'calm', policy: { kind: 'suppress', concept, strength: 1, all: true } },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().field).toBe('body.name');

    // An all-digit name would be read as an id by /v1/policies/{id or name}.
    const digits = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: { name: '1', policy: { kind: 'suppress', concept, strength: 1, all: true } },
    });
    expect(digits.statusCode).toBe(400);
    expect(digits.json().field).toBe('body.name');

    const del = await app.inject({ method: 'DELETE', url: `/v1/policies/${rec.id}` });
    expect(del.statusCode).toBe(204);
    expect((await app.inject({ url: `/v1/policies/${rec.id}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/v1/policies/${rec.id}` })).statusCode).toBe(404);
  });

  it('400s unknown concepts, neurons, users and malformed bodies, naming the field', async () => {
    const cases: [unknown, string, string][] = [
      [
        { name: 'x', policy: { kind: 'suppress', concept: 'Polka Noir', strength: 1, all: true } },
        'UNKNOWN_CONCEPT',
        'body.policy.concept',
      ],
      [
        { name: 'x', policy: { kind: 'suppress', neuron: 9999, strength: 1, all: true } },
        'UNKNOWN_NEURON',
        'body.policy.neuron',
      ],
      [
        { name: 'x', policy: { kind: 'suppress', concept, strength: 1, users: ['nobody'] } },
        'UNKNOWN_USER',
        'body.policy.users[0]',
      ],
      [{ name: 'x', policy: { kind: 'suppress', concept, strength: 1 } }, 'BAD_POLICY', 'body.policy.users'],
      [
        { name: 'x', policy: { kind: 'suppress', concept, strength: 'lots', all: true } },
        'VALIDATION',
        'body.policy.strength',
      ],
      [{ name: 'x', policy: { kind: 'explode', concept, all: true } }, 'VALIDATION', 'body.policy.kind'],
      [{ policy: { kind: 'suppress', concept, strength: 1, all: true } }, 'VALIDATION', 'body.name'],
      [
        { name: 'x', policy: { kind: 'suppress', concept, strength: 1, all: true, colour: 'red' } },
        'VALIDATION',
        'body.policy.colour',
      ],
    ];
    for (const [payload, code, field] of cases) {
      const res = await app.inject({ method: 'POST', url: '/v1/policies', payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json(), JSON.stringify(payload)).toMatchObject({ code, field });
      expect(res.json().message).toContain(field);
    }
    const notJson = await app.inject({
      method: 'POST',
      url: '/v1/policies',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().stack).toBeUndefined();
  });

  it('applies an enabled policy to live traffic at once, and stops when it is disabled', async () => {
    // Setting a concept neuron of the user's code to 50 moves any user's list; the test checks it did.
    const user = bundle.dataset.users.ids[0];
    const url = `/v1/users/${user}/recommendations?k=10&compare=true`;
    const before = (await app.inject({ url })).json();
    const created = await createPolicy('live', boostNeuron());
    expect(created.statusCode).toBe(201);
    const during = (await app.inject({ url })).json();
    expect(during.policies).toEqual([{ id: created.json().id, name: 'live', version: 1 }]);
    expect(ids(during.unsteered)).toEqual(ids(before.items));
    expect(ids(during.items)).not.toEqual(ids(before.items));
    expect(during.comparison.rbo).toBeLessThan(0.95);

    await app.inject({ method: 'PATCH', url: '/v1/policies/live', payload: { enabled: false } });
    const after = (await app.inject({ url })).json();
    expect(after.policies).toEqual([]);
    expect(ids(after.items)).toEqual(ids(before.items));

    // A disabled policy still applies when a request names it.
    const named = (await app.inject({ url: `${url}&policy=live` })).json();
    expect(ids(named.items)).toEqual(ids(during.items));
    await app.inject({ method: 'DELETE', url: '/v1/policies/live' });
  });
});

describe('POST /v1/policies/preview', () => {
  it('dry-runs inline policies on sampled users with before/after lists and effect metrics', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: {
        policies: [{ kind: 'edit', side: 'user', op: 'set', value: 50, neuron: conceptNeuron, all: true }],
        sample: 8,
        k: 5,
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.users).toHaveLength(8);
    expect(body.effect.users).toBe(8);
    expect(body.effect.changedUsers).toBeGreaterThan(0);
    expect(body.effect.changedUsers).toBe(body.users.filter((u: { changed: boolean }) => u.changed).length);
    for (const u of body.users) {
      expect(u.before).toHaveLength(5);
      expect(u.after).toHaveLength(5);
    }
    expect(body.effect.entered.length).toBeGreaterThan(0);
    expect((await app.inject({ url: '/v1/policies' })).json().policies).toEqual([]);
  });

  it('previews stored policies on given users; 400s unknown users and missing policies', async () => {
    await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: { name: 'p1', enabled: false, policy: { kind: 'suppress', concept, strength: 1, all: true } },
    });
    const users = bundle.dataset.users.ids.slice(0, 3);
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policyIds: ['p1'], users },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().users.map((u: { userId: string }) => u.userId)).toEqual(users);

    const badUser = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policyIds: ['p1'], users: ['ghost'] },
    });
    expect(badUser.statusCode).toBe(400);
    expect(badUser.json()).toMatchObject({ code: 'UNKNOWN_USER', field: 'body.users' });
    const many = Array.from({ length: 201 }, (_, r) => bundle.dataset.users.ids[r % 10]).join(',');
    const tooMany = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policyIds: ['p1'], users: [many] },
    });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().field).toBe('body.users');
    const none = await app.inject({ method: 'POST', url: '/v1/policies/preview', payload: { users } });
    expect(none.statusCode).toBe(400);
    expect(none.json().field).toBe('body.policies');
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policyIds: ['nope'] },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'UNKNOWN_POLICY', field: 'body.policyIds[0]' });
    const badInline = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policies: [{ kind: 'boost', concept: 'No Such Genre', strength: 1, all: true }] },
    });
    expect(badInline.statusCode).toBe(400);
    expect(badInline.json()).toMatchObject({ code: 'UNKNOWN_CONCEPT', field: 'body.policies[0].concept' });
  });

  it('previews on top of the enabled policies: before is what users get now, after adds the preview', async () => {
    const user = bundle.dataset.users.ids[1];
    const live = await createPolicy('live-base', boostNeuron());
    expect(live.statusCode).toBe(201);
    await app.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: {
        name: 'candidate',
        enabled: false,
        policy: { kind: 'suppress', concept, strength: 1, all: true },
      },
    });
    const ids = (items: { itemId: string }[]) => items.map((i) => i.itemId);
    const now = (await app.inject({ url: `/v1/users/${user}/recommendations?k=10` })).json();
    const withCandidate = (
      await app.inject({ url: `/v1/users/${user}/recommendations?k=10&policy=candidate` })
    ).json();
    const res = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policyIds: ['candidate'], users: [user], k: 10 },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.basePolicies.map((p: { name: string }) => p.name)).toEqual(['live-base']);
    expect(body.users[0].before).toEqual(ids(now.items));
    expect(body.users[0].after).toEqual(ids(withCandidate.items));

    // Previewing the enabled policy itself: before leaves it out, after puts it in.
    const self = (
      await app.inject({
        method: 'POST',
        url: '/v1/policies/preview',
        payload: { policyIds: ['live-base'], users: [user], k: 10 },
      })
    ).json();
    expect(self.basePolicies).toEqual([]);
    expect(self.users[0].after).toEqual(ids(now.items));

    const both = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: {
        policyIds: ['candidate'],
        policies: [{ kind: 'suppress', concept, strength: 1, all: true }],
      },
    });
    expect(both.statusCode).toBe(400);
    expect(both.json().field).toBe('body.policyIds');
    for (const name of ['live-base', 'candidate'])
      await app.inject({ method: 'DELETE', url: `/v1/policies/${name}` });
  });

  it('previews a stored policy named twice (by name and by id) once, as live traffic applies it', async () => {
    const user = bundle.dataset.users.ids[3];
    // Strength 3 twice is a factor 4 on the neuron: applied twice, the list differs from applied once.
    const created = (
      await createPolicy(
        'named-twice',
        { kind: 'suppress', neuron: conceptNeuron, strength: 3, all: true },
        false,
      )
    ).json();
    const served = (
      await app.inject({ url: `/v1/users/${user}/recommendations?k=10&policy=named-twice,${created.id}` })
    ).json();
    expect(served.policies.map((p: { name: string }) => p.name)).toEqual(['named-twice']);
    const preview = await app.inject({
      method: 'POST',
      url: '/v1/policies/preview',
      payload: { policyIds: ['named-twice', created.id], users: [user], k: 10 },
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json().users[0].after).toEqual(ids(served.items));
    await app.inject({ method: 'DELETE', url: '/v1/policies/named-twice' });
  });

  it('resolves a policy by another spelling of its id, and one another process stored a moment ago', async () => {
    const user = bundle.dataset.users.ids[2];
    const created = (
      await app.inject({
        method: 'POST',
        url: '/v1/policies',
        payload: {
          name: 'spelled',
          enabled: false,
          policy: { kind: 'suppress', concept, strength: 1, all: true },
        },
      })
    ).json();
    const padded = await app.inject({ url: `/v1/users/${user}/recommendations?policy=0${created.id}` });
    expect(padded.statusCode, padded.body).toBe(200);
    expect(padded.json().policies.map((p: { name: string }) => p.name)).toEqual(['spelled']);
    // Written to the store directly, as another server process would: no invalidate() here.
    store.policies.create({
      name: 'elsewhere',
      enabled: false,
      policy: { kind: 'suppress', concept, strength: 0.5, all: true },
    });
    const fresh = await app.inject({ url: `/v1/users/${user}/recommendations?policy=elsewhere` });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json().policies.map((p: { name: string }) => p.name)).toEqual(['elsewhere']);
  });

  it('sets aside a policy naming a neuron by index on another model version until it is saved again', async () => {
    const user = bundle.dataset.users.ids[0];
    const policy = { kind: 'edit', side: 'user', op: 'scale', value: 0.5, neuron: conceptNeuron, all: true };
    const created = (await createPolicy('by-index', policy, false)).json();
    expect(created).toMatchObject({ modelId: TEMPLATE.active, applicable: true });
    try {
      expect(
        (await app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.other}/activate` })).statusCode,
      ).toBe(200);
      const other = (await app.inject(`/v1/policies/${created.id}`)).json();
      expect(other.applicable).toBe(false);
      expect(other.problem).toMatch(
        new RegExp(
          `neuron ${conceptNeuron} by index.*version ${TEMPLATE.active}.*active version ${TEMPLATE.other}`,
        ),
      );
      const used = await app.inject(`/v1/users/${user}/recommendations?policy=by-index`);
      expect(used.statusCode).toBe(400);
      expect(used.json().field).toBe('querystring.policy[0]');
      // Naming it again is answered from the snapshot, which knows why it does not apply (no re-read of
      // every stored policy per such request).
      const reads = vi.spyOn(store.policies, 'list');
      try {
        for (const ref of ['by-index', String(created.id), `0${created.id}`]) {
          const again = await app.inject(`/v1/users/${user}/recommendations?policy=${ref}`);
          expect(again.json()).toMatchObject({ statusCode: 400, code: 'BAD_POLICY' });
          expect(again.json().message).toMatch(/by index/);
        }
        expect(reads).not.toHaveBeenCalled();
      } finally {
        reads.mockRestore();
      }
      // Saving the body again binds the index to the active version.
      const saved = await app.inject({
        method: 'PATCH',
        url: `/v1/policies/${created.id}`,
        payload: { policy },
      });
      expect(saved.json()).toMatchObject({ modelId: TEMPLATE.other, applicable: true });
      expect((await app.inject(`/v1/users/${user}/recommendations?policy=by-index`)).statusCode).toBe(200);
      // A policy stored with no version (before any was active) is not bound: it applies wherever it validates.
      const unbound = store.policies.create({ name: 'unbound', policy, enabled: false });
      expect(unbound.modelId).toBeNull();
      expect((await app.inject('/v1/policies/unbound')).json().applicable).toBe(true);
      store.policies.delete(unbound.id);
      // A rename or an enable does not re-bind (the body was not re-validated).
      await app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` });
      const renamed = await app.inject({
        method: 'PATCH',
        url: `/v1/policies/${created.id}`,
        payload: { name: 'by-index-2' },
      });
      expect(renamed.json()).toMatchObject({ modelId: TEMPLATE.other, applicable: false });
    } finally {
      await app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` });
      await app.inject({ method: 'DELETE', url: `/v1/policies/${created.id}` });
    }
  });

  it("keeps it on a version that serves the same SAE (a label job reuses its base's artifacts)", async () => {
    const policy = { kind: 'edit', side: 'user', op: 'scale', value: 0.5, neuron: conceptNeuron, all: true };
    const created = (await createPolicy('by-index-relabelled', policy, false)).json();
    const base = store.models.get(TEMPLATE.active)!;
    const relabelled = store.models.create({
      kind: 'full',
      datasetSpec: base.datasetSpec,
      datasetName: base.datasetName,
      recommenderKind: base.recommenderKind,
      dim: base.dim,
      latents: base.latents,
      nUsers: base.nUsers,
      nItems: base.nItems,
      metrics: base.metrics,
      artifacts: base.artifacts,
      neurons: store.models.neurons(base.id),
      report: store.models.report(base.id),
      parentId: base.id,
    });
    try {
      expect(
        (await app.inject({ method: 'POST', url: `/v1/models/${relabelled.id}/activate` })).statusCode,
      ).toBe(200);
      expect((await app.inject(`/v1/policies/${created.id}`)).json()).toMatchObject({
        modelId: TEMPLATE.active,
        applicable: true,
      });
    } finally {
      await app.inject({ method: 'POST', url: `/v1/models/${TEMPLATE.active}/activate` });
      await app.inject({ method: 'DELETE', url: `/v1/policies/${created.id}` });
    }
  });
});
