import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.ts';
import { testApp } from './fixture.ts';

let app: Awaited<ReturnType<typeof testApp>>['app'];
let store: Store;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ app, store, close } = await testApp());
});
afterAll(() => close());

describe('a full disk', () => {
  it('refuses a write with 507 STORAGE_FULL, saves nothing, and serves on', async () => {
    // SQLite reports SQLITE_FULL once the file may not grow: what a full disk looks like to it. Policies
    // are posted until the free space left in the file's pages is used up.
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages}`);
    const concept = app.models.require().bundle.neurons.find((n) => n.kind === 'concept')?.label as string;
    let res = null;
    for (let n = 0; n < 2000; n++) {
      const before = store.policies.list().length;
      res = await app.inject({
        method: 'POST',
        url: '/v1/policies',
        payload: {
          name: `p${n}-${'x'.repeat(90)}`,
          enabled: false,
          policy: { kind: 'suppress', concept, strength: 1, all: true },
        },
      });
      if (res.statusCode !== 201) {
        expect(store.policies.list()).toHaveLength(before);
        break;
      }
    }
    expect(res?.statusCode).toBe(507);
    expect(res?.json()).toMatchObject({ code: 'STORAGE_FULL', statusCode: 507 });
    expect(res?.json().message).toMatch(/disk is full/);
    const user = app.models.require().bundle.dataset.users.ids[0];
    expect((await app.inject({ url: `/v1/users/${user}/recommendations?k=3` })).statusCode).toBe(200);
    store.db.pragma('max_page_count = 1073741823');
  });
});
