import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataConfinement } from '../../src/jobs/data-root.ts';
import { createJobRunner, type JobRunner } from '../../src/jobs/index.ts';
import { ConfigError, parseConfig } from '../../src/server/config.ts';
import { twinVersion } from '../../src/store/twin.ts';
import type { Job, Store } from '../../src/store/types.ts';
import { copyOfTemplate, finished, testApp } from './fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'prism-data-root-'));
const outside = mkdtempSync(join(tmpdir(), 'prism-outside-'));
// A sibling whose name starts with the root's: a string-prefix check would let it through.
const sibling = `${root}-sibling`;
mkdirSync(sibling);
for (const dir of [root, outside, sibling])
  writeFileSync(join(dir, 'interactions.csv'), 'user,item\nu1,i1\nu2,i1\n');
mkdirSync(join(root, 'ml-1m'));
symlinkSync(outside, join(root, 'escape'));

let app: FastifyInstance;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ app, close } = await testApp({ config: { dataRoot: root }, jobs: false }));
});
afterAll(async () => {
  await close();
  for (const dir of [root, outside, sibling]) rmSync(dir, { recursive: true, force: true });
});

const enqueue = (data: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/jobs',
    payload: { type: 'pipeline', params: { data, activate: false } },
  });

describe('PRISM_DATA_ROOT', () => {
  it('refuses job data outside the root, symlinks resolved, naming the field', async () => {
    for (const data of [
      `csv:${join(outside, 'interactions.csv')}`,
      `movielens-1m:${outside}`,
      `csv:${root}/../${basename(outside)}/interactions.csv`,
      `csv:${join(sibling, 'interactions.csv')}`,
      `csv:${join(root, 'escape', 'interactions.csv')}`,
    ]) {
      const res = await enqueue(data);
      expect(res.statusCode, data).toBe(400);
      expect(res.json()).toMatchObject({ code: 'DATA_OUTSIDE_ROOT', field: 'body.params.data' });
    }
  });

  it('accepts data under the root, and synthetic data (no files)', async () => {
    expect((await enqueue(`csv:${join(root, 'interactions.csv')}`)).statusCode).toBe(202);
    expect((await enqueue('synthetic:users=50,items=30')).statusCode).toBe(202);
  });

  it('without a root, refuses every spec that names files, and still takes synthetic data', async () => {
    const { app: open, close: closeOpen } = await testApp({ jobs: false });
    try {
      for (const data of [
        `csv:${join(root, 'interactions.csv')}`,
        `movielens-1m:${root}`,
        'csv:/proc/self/environ',
      ]) {
        const res = await open.inject({
          method: 'POST',
          url: '/v1/jobs',
          payload: { type: 'pipeline', params: { data, activate: false } },
        });
        expect(res.statusCode, data).toBe(400);
        expect(res.json(), data).toMatchObject({ code: 'DATA_ROOT_UNSET', field: 'body.params.data' });
        expect(res.json().message).toContain('PRISM_DATA_ROOT');
      }
      const synthetic = await open.inject({
        method: 'POST',
        url: '/v1/jobs',
        payload: { type: 'pipeline', params: { data: 'synthetic:users=50,items=30', activate: false } },
      });
      expect(synthetic.statusCode).toBe(202);
    } finally {
      await closeOpen();
    }
  });

  it('refuses a file inside a dataset directory under the root that links out of it', async () => {
    const ml = join(root, 'ml-linked');
    mkdirSync(ml);
    symlinkSync(join(outside, 'interactions.csv'), join(ml, 'ratings.dat'));
    const res = await enqueue(`movielens-1m:${ml}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'DATA_OUTSIDE_ROOT', field: 'body.params.data' });
    expect(res.json().message).toContain('ratings.dat');
  });

  it('checks again as the job starts: a file swapped for a link out of the root after enqueue is not read', async () => {
    const file = join(root, 'swapped.csv');
    writeFileSync(file, 'user,item\nu1,i1\nu2,i1\n');
    const ended = await runOne({ root, exempt: 'synthetic' }, (runner) => {
      const job = runner.enqueue('pipeline', { data: `csv:${file}`, activate: false });
      rmSync(file);
      symlinkSync(join(outside, 'interactions.csv'), file);
      return job;
    });
    expect(ended.status).toBe('failed');
    expect(ended.error).toMatch(
      /^data, checked as the job started: .*swapped\.csv is outside PRISM_DATA_ROOT$/,
    );
  });

  it("checks a train-sae job's base version's data too (it reads that data again)", async () => {
    const file = join(root, 'based.csv');
    symlinkSync(join(outside, 'interactions.csv'), file); // swapped after the version was trained
    const ended = await runOne({ root, exempt: 'synthetic' }, (runner, store) => {
      const base = twinVersion(store, (store.models.active() as { id: number }).id);
      store.db.prepare('UPDATE models SET dataset_spec = ? WHERE id = ?').run(`csv:${file}`, base.id);
      return runner.enqueue('train-sae', { baseModelId: base.id, activate: false });
    });
    expect(ended.error).toMatch(
      /^data, checked as the job started: .*based\.csv is outside PRISM_DATA_ROOT$/,
    );
  });

  it("lets a job read the operator's bootstrap files at start, however its spec spells them", async () => {
    const exempt = `csv:${join(outside, 'interactions.csv')}`;
    // Queued under an earlier spelling of PRISM_BOOTSTRAP: the same file by another path.
    const other = `csv:${outside}/../${basename(outside)}/interactions.csv`;
    const ended = await runOne({ root: null, exempt }, (runner) =>
      runner.enqueue('pipeline', { data: other, activate: false }),
    );
    expect(ended.error ?? '').not.toMatch(/PRISM_DATA_ROOT/); // it ran (and failed on the two-row file itself)
  });

  it('must name an existing directory', () => {
    expect(parseConfig({ PRISM_DATA_ROOT: root }).dataRoot).toBe(root);
    expect(parseConfig({}).dataRoot).toBeNull();
    expect(() => parseConfig({ PRISM_DATA_ROOT: join(root, 'interactions.csv') })).toThrow(ConfigError);
  });
});

/** Runs the one job `enqueue` queues on a fresh runner with the given confinement; the job as it ended. */
async function runOne(
  dataRoot: DataConfinement,
  enqueue: (runner: JobRunner, store: Store) => Job,
): Promise<Job> {
  const { store } = await copyOfTemplate();
  const runner = createJobRunner({ store, instanceId: 'data-root', dataRoot });
  try {
    const job = enqueue(runner, store);
    const done = finished(runner, job.id);
    runner.start();
    return (await done).job;
  } finally {
    await runner.close();
    store.close();
  }
}
