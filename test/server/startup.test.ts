import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/server/app.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { SLOW, started } from '../jobs/helpers.ts';
import { appRunningSlowJob, copyOfTemplate, finished, SMALL, TEMPLATE } from './fixture.ts';

const opened: { app?: FastifyInstance; store?: Store }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.app?.close();
    o.store?.close();
  }
});

/** What a SIGKILLed process leaves behind: a running row owned by a pid that no longer exists. */
function orphan(store: Store, id: number, attempts: number): void {
  store.db
    .prepare(`UPDATE jobs SET status = 'running', attempts = ?, owner_instance = 'dead', owner_pid = 2147483646,
      heartbeat_at = ?, started_at = ?, stage = 'sae', progress = 0.5 WHERE id = ?`)
    .run(attempts, new Date(Date.now() - 3_600_000).toISOString(), new Date().toISOString(), id);
}

describe('start-up', () => {
  it('on a fresh database: live at once, not ready until the bootstrap pipeline has trained a model', async () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'prism-fresh-')), 'nested', 'prism.db');
    const app = await buildApp({
      config: { dbPath, bootstrap: SMALL.data as string, jobPriority: 'normal' },
      jobs: { bootstrap: true },
    });
    opened.push({ app });
    const jobs = (await app.inject({ url: '/v1/jobs' })).json().jobs;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ type: 'pipeline', params: { data: SMALL.data, activate: true } });
    const done = finished(app.runner, jobs[0].id);

    expect((await app.inject({ url: '/health/live' })).statusCode).toBe(200);
    const notReady = await app.inject({ url: '/health/ready' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ status: 'not-ready', modelId: null });
    expect(notReady.json().reason).toContain(`pipeline job ${jobs[0].id} on synthetic data`);
    expect(notReady.json().reason).not.toContain(SMALL.data); // the spec's parameters (or a path) stay behind the jobs API
    const early = await app.inject({ url: '/v1/users/1/recommendations' });
    expect(early.statusCode).toBe(503);
    expect(early.json().code).toBe('NOT_READY');

    const { job } = await done;
    expect(job.status).toBe('succeeded');
    await app.models.settled(); // the new version warms up in slices after the job commits
    const ready = await app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', modelId: job.result?.modelId });
    const user = app.models.require().bundle.dataset.users.ids[0];
    const recs = await app.inject({ url: `/v1/users/${user}/recommendations?explain=true` });
    expect(recs.statusCode).toBe(200);
    const first = recs.json().items[0];
    expect(first.explanation.neurons.length).toBeGreaterThan(0);
    const explained = first.explanation.neurons.reduce(
      (sum: number, n: { contribution: number }) => sum + n.contribution,
      first.explanation.other + first.explanation.base + first.explanation.residual,
    );
    expect(explained).toBeCloseTo(first.score, 3);

    // Restarting on the same database serves at once and enqueues nothing…
    await app.close();
    opened.length = 0;
    const restart = async (bootstrap: string) => {
      const lines: string[] = [];
      const stream = new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      const next = await buildApp({
        config: { dbPath, bootstrap, jobPriority: 'normal' },
        jobs: { bootstrap: true },
        logger: { level: 'warn', stream },
      });
      opened.push({ app: next });
      return { next, warned: lines.some((l) => l.includes('PRISM_BOOTSTRAP is not used')) };
    };
    const same = await restart(SMALL.data as string);
    expect((await same.next.inject({ url: '/health/ready' })).statusCode).toBe(200);
    expect((await same.next.inject({ url: '/v1/jobs' })).json().total).toBe(1);
    expect(same.warned).toBe(false);
    await same.next.close();
    opened.length = 0;
    // …and naming other data for it changes nothing, which the log says.
    const other = await restart('synthetic:users=50,items=30');
    expect((await other.next.inject({ url: '/v1/jobs' })).json().total).toBe(1);
    expect(other.warned).toBe(true);
  });

  it('refuses to start when PRISM_BOOTSTRAP names a directory that does not exist, naming the variable', async () => {
    const store = openStore(':memory:');
    opened.push({ store });
    const starting = buildApp({
      store,
      config: { bootstrap: 'movielens-1m:/nonexistent/ml-1m', jobPriority: 'normal' },
      jobs: { bootstrap: true },
    });
    await expect(starting).rejects.toMatchObject({
      name: 'ConfigError',
      variable: 'PRISM_BOOTSTRAP',
      message: expect.stringContaining('/nonexistent/ml-1m'),
    });
    expect(store.jobs.list({})).toEqual([]);
  });

  it('refuses to start on a PRISM_DB it cannot open, naming the variable and the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-db-is-a-dir-'));
    await expect(buildApp({ config: { dbPath: dir }, jobs: false })).rejects.toMatchObject({
      name: 'ConfigError',
      variable: 'PRISM_DB',
      message: expect.stringContaining(dir),
    });
  });

  it('recovers jobs left running by a killed process: retried while attempts remain, else failed with the reason', async () => {
    const { store, path } = await copyOfTemplate();
    const retried = store.jobs.enqueue('pipeline', { ...SMALL, activate: false });
    const spent = store.jobs.enqueue('pipeline', { ...SMALL, activate: false }, { maxAttempts: 1 });
    orphan(store, retried.id, 1);
    orphan(store, spent.id, 1);
    store.close();

    const reopened = openStore(path);
    const app = await buildApp({ store: reopened, jobs: {}, config: { jobPriority: 'normal' } });
    opened.push({ app, store: reopened });
    const failed = (await app.inject({ url: `/v1/jobs/${spent.id}` })).json();
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/interrupted: instance dead .*no attempts left/);

    const current = app.runner.get(retried.id);
    if (current?.status !== 'succeeded') await finished(app.runner, retried.id);
    const ok = (await app.inject({ url: `/v1/jobs/${retried.id}` })).json();
    expect(ok).toMatchObject({ status: 'succeeded', attempts: 2 });
    // The recovered job produced a version but did not take over serving.
    expect((await app.inject({ url: '/health/ready' })).json().modelId).toBe(TEMPLATE.active);
  });

  it('a bootstrap pipeline left running with no attempts is failed, and a new one is enqueued', async () => {
    const dbPath = join(mkdtempSync(join(tmpdir(), 'prism-orphan-')), 'prism.db');
    const store = openStore(dbPath);
    const spent = store.jobs.enqueue('pipeline', { data: SMALL.data, activate: true }, { maxAttempts: 1 });
    orphan(store, spent.id, 1);
    const app = await buildApp({
      store,
      config: { bootstrap: SMALL.data as string, jobPriority: 'normal' },
      jobs: { bootstrap: true },
    });
    opened.push({ app, store });
    expect(store.jobs.get(spent.id)?.status).toBe('failed');
    const pending = store.jobs.list({ status: ['queued', 'running'] });
    expect(pending.map((j) => j.id)).not.toContain(spent.id);
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ type: 'pipeline', params: { data: SMALL.data, activate: true } });
  });

  it('on close, requeues the job it was running (graceful shutdown)', async () => {
    const { store } = await copyOfTemplate();
    const app = await buildApp({ store, jobs: {}, config: { jobPriority: 'normal' } });
    const slow = { ...SLOW, activate: false };
    const job = (
      await app.inject({ method: 'POST', url: '/v1/jobs', payload: { type: 'pipeline', params: slow } })
    ).json();
    await started(app.runner, job.id);
    await app.close();
    const after = store.jobs.get(job.id);
    // The next server shows why the attempt ended, and keeps it once the job runs again.
    const next = await buildApp({ store, jobs: false });
    const shown = (await next.inject({ method: 'GET', url: `/v1/jobs/${job.id}` })).json();
    await next.close();
    store.close();
    expect(after).toMatchObject({ status: 'queued', attempts: 0 });
    expect(after?.error).toMatch(/shut down/);
    expect(shown.requeues).toEqual([after?.error]);
  });

  it('a job whose cancel was requested (by another process) is cancelled at shutdown, not requeued', async () => {
    const { app, store, job } = await appRunningSlowJob();
    // The flag as another server process sets it: in the store only, before this one's heartbeat reads it.
    store.jobs.requestCancel(job.id);
    await app.close();
    const after = store.jobs.get(job.id);
    store.close();
    expect(after).toMatchObject({ status: 'cancelled', cancelRequested: true });
  });

  it('a failing bootstrap pipeline is tried again a bounded number of times', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-bad-bootstrap-'));
    const file = join(dir, 'ratings.csv');
    writeFileSync(file, 'u1,i1\nnot a rating line at all\n');
    const store = openStore(':memory:');
    const failures: number[] = [];
    const app = await buildApp({
      store,
      config: { bootstrap: `csv:${file}`, jobPriority: 'normal' },
      jobs: { bootstrap: true },
    });
    opened.push({ app, store });
    await new Promise<void>((resolve) => {
      app.runner.on('job:finished', ({ job }) => {
        if (job.status === 'failed') failures.push(job.id);
        if (failures.length === 3) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 300)); // room for a fourth, which must not come
    const pipelines = store.jobs.list({ type: 'pipeline' });
    expect(pipelines).toHaveLength(3);
    expect(pipelines.every((j) => j.status === 'failed' && /line 2/.test(j.error ?? ''))).toBe(true);
    const ready = await app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(503);
    // Readiness points at the failed pipeline; its error (file and line) stays behind the jobs API.
    expect(ready.json().reason).toContain(
      `pipeline job ${pipelines[0].id} failed (GET /v1/jobs/${pipelines[0].id}`,
    );
    expect(ready.json().reason).not.toContain('ratings.csv');
  });
});
