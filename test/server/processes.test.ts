import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { copyOfTemplate } from './fixture.ts';

/** Two server processes' apps on one database file, as PRISM_PROCESSES runs them. */
const opened: { app: FastifyInstance; store: Store }[] = [];
let a: FastifyInstance;
let b: FastifyInstance;

beforeAll(async () => {
  const { store, path } = await copyOfTemplate();
  const config = { processes: 2, dbPath: path };
  a = await buildApp({ store, config, jobs: false });
  const other = openStore(path, { migrate: false });
  b = await buildApp({ store: other, config, jobs: false });
  opened.push({ app: a, store }, { app: b, store: other });
});
afterAll(async () => {
  for (const { app, store } of opened) {
    await app.close();
    store.close();
  }
});

describe('several server processes on one database', () => {
  it('a policy edit answered by one process applies to the very next request on the other', async () => {
    const bundle = a.models.require().bundle;
    const concept = bundle.neurons.find((n) => n.kind === 'concept' && n.label !== '')!.label;
    const user = bundle.dataset.users.ids[0];
    const url = `/v1/users/${user}/recommendations?k=10`;
    const applied = async (app: FastifyInstance) =>
      (await app.inject({ url })).json().policies.map((p: { name: string }) => p.name);
    expect(await applied(b)).toEqual([]); // b has read the revision (and may cache the response)
    const created = await a.inject({
      method: 'POST',
      url: '/v1/policies',
      payload: {
        name: 'everywhere',
        policy: { kind: 'suppress', concept, strength: 1, all: true },
        enabled: true,
      },
    });
    expect(created.statusCode).toBe(201);
    expect(await applied(b)).toEqual(['everywhere']);
    const id = created.json().id;
    expect(
      (await a.inject({ method: 'PATCH', url: `/v1/policies/${id}`, payload: { enabled: false } }))
        .statusCode,
    ).toBe(200);
    expect(await applied(b)).toEqual([]);
  });
});
