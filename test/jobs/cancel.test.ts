import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitJobOutput } from '../../src/jobs/commit.ts';
import {
  createJobRunner,
  type JobParamsError,
  type JobRunner,
  normaliseJobParams,
} from '../../src/jobs/index.ts';
import type { WorkerOutput } from '../../src/jobs/protocol.ts';
import { openStore } from '../../src/store/index.ts';
import { twinVersion } from '../../src/store/twin.ts';
import type { ModelVersion, Store } from '../../src/store/types.ts';
import { insertFullVersion } from '../store/fixtures.ts';
import { artifactCount, finished, reachedStage, SLOW, SMALL } from './helpers.ts';

let store: Store;
let runner: JobRunner;
let served: ModelVersion;

beforeAll(() => {
  store = openStore(':memory:');
  served = store.models.activate(insertFullVersion(store).id);
  // A grace period longer than the test's wait: a job that only stopped because it was terminated fails the test.
  runner = createJobRunner({ store, instanceId: 'test', progressThrottleMs: 0, cancelGraceMs: 60_000 });
  runner.start();
});
afterAll(async () => {
  await runner.close();
  store.close();
});

const unchanged = () => {
  expect(store.models.active()?.id).toBe(served.id);
  expect(store.models.list().map((v) => v.id)).toEqual([served.id]);
  expect(artifactCount(store.db)).toBe(3);
};

describe('cancellation and failure never change what is served', () => {
  it('cancels a running job between steps and a queued one before it starts', async () => {
    const running = runner.enqueue('pipeline', SLOW);
    const queued = runner.enqueue('pipeline', SLOW);
    await reachedStage(runner, running.id, 'recommender');
    expect(runner.cancel(queued.id)?.status).toBe('cancelled');
    expect(runner.cancel(running.id)).toMatchObject({ status: 'running', cancelRequested: true });
    const { job } = await finished(runner, running.id);
    expect(job.status).toBe('cancelled');
    // Stopped by the ML code's own signal check, not terminated after the grace period.
    expect(job.error).toBe('cancelled while running');
    expect(store.jobs.get(queued.id)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(runner.running()).toEqual([]);
    unchanged();
  });

  it('a cancel whose write fails still stops the job (the worker is stopped before the write)', async () => {
    const own = openStore(':memory:');
    own.models.activate(insertFullVersion(own).id);
    const before = own.models.active()?.id;
    const full = new Error('SQLITE_FULL: database or disk is full');
    // The store as the runner sees it, with the cancel flag's write failing (a full disk, a locked file).
    const failing = {
      ...own,
      jobs: {
        ...own.jobs,
        requestCancel: () => {
          throw full;
        },
      },
    };
    const r = createJobRunner({ store: failing, instanceId: 'full-disk', progressThrottleMs: 0 });
    r.start();
    try {
      const job = r.enqueue('pipeline', { ...SLOW, activate: true });
      await reachedStage(r, job.id, 'recommender');
      expect(() => r.cancel(job.id)).toThrow(full);
      const { job: after } = await finished(r, job.id);
      expect(after.status).toBe('cancelled');
      expect(own.models.active()?.id).toBe(before);
    } finally {
      await r.close();
      own.close();
    }
  });

  it('a worker that does not stop within the grace period is terminated, and the error says so', async () => {
    // No grace at all: the kill timer fires before the worker can reach its next step and exit.
    const impatient = createJobRunner({
      store,
      instanceId: 'impatient',
      progressThrottleMs: 0,
      cancelGraceMs: 0,
    });
    impatient.start();
    try {
      const job = impatient.enqueue('pipeline', SLOW);
      await reachedStage(impatient, job.id, 'recommender');
      impatient.cancel(job.id);
      const done = await finished(impatient, job.id);
      expect(done.job).toMatchObject({
        status: 'cancelled',
        error: 'cancelled while running; terminated after the 0 ms grace period',
      });
      unchanged();
    } finally {
      await impatient.close();
    }
  });

  it('a job past PRISM_JOB_MAX_SECONDS is stopped at its next step and fails saying why', async () => {
    // A grace period of a minute: the job must stop by its own signal check, soon after the limit.
    const limited = createJobRunner({ store, instanceId: 'limited', maxSeconds: 1, cancelGraceMs: 60_000 });
    limited.start();
    try {
      const job = limited.enqueue('pipeline', SLOW);
      const t0 = Date.now();
      const { job: done } = await finished(limited, job.id);
      expect(done).toMatchObject({ status: 'failed', error: 'stopped after 1 s (PRISM_JOB_MAX_SECONDS)' });
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(limited.running()).toEqual([]);
      unchanged();
    } finally {
      await limited.close();
    }
  });

  it('cancelling a queued job reports it finished once, however often it is cancelled', async () => {
    const held = createJobRunner({ store, instanceId: 'held', progressThrottleMs: 0 }); // never started
    const events: number[] = [];
    held.on('job:finished', ({ job }) => events.push(job.id));
    const job = held.enqueue('pipeline', SLOW);
    for (let n = 0; n < 3; n++) expect(held.cancel(job.id)?.status).toBe('cancelled');
    expect(events).toEqual([job.id]);
    await held.close();
    unchanged();
  });

  it('a job that fails (bad data) is failed with the reason and writes nothing', async () => {
    // The file exists (so the request is accepted) but its contents only fail once the worker parses it.
    const file = join(mkdtempSync(join(tmpdir(), 'prism-bad-data-')), 'ratings.csv');
    writeFileSync(file, 'u1,i1,5\nthis line is not a rating\n');
    const job = runner.enqueue('pipeline', { data: `csv:${file}` });
    const { job: done } = await finished(runner, job.id);
    expect(done.status).toBe('failed');
    expect(done.error).toContain(`${file}, line 2`);
    unchanged();
  });

  it('refuses at once a request the worker could only fail on, naming the field', () => {
    const refused = (params: object) => {
      try {
        runner.enqueue('pipeline', params);
      } catch (err) {
        return (err as JobParamsError).field;
      }
      return null;
    };
    expect(refused({ data: 'bogus' })).toBe('data');
    expect(refused({ data: 'synthetic:users=-5' })).toBe('data');
    expect(refused({ data: 'csv:/nonexistent/ratings.csv' })).toBe('data');
    expect(refused({ data: 'movielens-1m:/nonexistent/dir' })).toBe('data');
    expect(refused({ ...SMALL, sae: { latents: 16, k: 32 } })).toBe('sae.k');
    expect(refused({ ...SMALL, sae: { latents: 16, matryoshka: [8, 4] } })).toBe('sae.matryoshka');
    expect(normaliseJobParams(store, 'pipeline', SMALL)).toEqual(SMALL); // the same checks pass it
    expect(store.jobs.list({ status: ['queued', 'running'] })).toEqual([]);
    unchanged();
  });

  it('the commit is one transaction: a failure part-way stores none of the artifacts', () => {
    const job = store.jobs.enqueue('pipeline', {});
    store.jobs.claimNext({ instanceId: 'test', pid: process.pid });
    // 'svd' violates the models CHECK after the artifacts are inserted.
    const output = workerOutput(1, 'svd' as 'mf');
    expect(() => commitJobOutput(store, store.jobs.get(job.id) as never, output)).toThrow(/CHECK/);
    expect(store.jobs.get(job.id)?.status).toBe('running');
    store.jobs.finish(job.id, { status: 'failed', error: 'test' });
    unchanged();
  });

  it('a job that finishes after a later-enqueued one has activated does not take serving back', () => {
    const own = openStore(':memory:');
    try {
      const older = own.jobs.enqueue('pipeline', { data: 'synthetic' });
      const newer = own.jobs.enqueue('pipeline', { data: 'synthetic' });
      own.jobs.claimNext({ instanceId: 'w1', pid: process.pid });
      own.jobs.claimNext({ instanceId: 'w2', pid: process.pid });
      const first = commitJobOutput(own, own.jobs.get(newer.id) as never, workerOutput(7));
      expect(first.activated).toBe(true);
      // Cleaning up the finished job (DELETE /v1/jobs/{id}) clears the version's jobId, not its ordering.
      expect(own.jobs.delete(newer.id)).toBe('deleted');
      expect(own.models.get(first.version?.id as number)).toMatchObject({
        jobId: null,
        sourceJobId: newer.id,
      });
      const late = commitJobOutput(own, own.jobs.get(older.id) as never, workerOutput(8));
      expect(late.activated).toBe(false);
      expect(late.job.result?.activated).toBe(false);
      expect(own.models.active()?.id).toBe(first.version?.id);
    } finally {
      own.close();
    }
  });

  it('a job enqueued before a rollback through the API does not take serving back; one enqueued after does', () => {
    const own = openStore(':memory:');
    try {
      const first = own.jobs.enqueue('pipeline', { data: 'synthetic' });
      own.jobs.claimNext({ instanceId: 'w1', pid: process.pid });
      const good = commitJobOutput(own, own.jobs.get(first.id) as never, workerOutput(3)).version;
      const before = own.jobs.enqueue('pipeline', { data: 'synthetic' });
      own.jobs.claimNext({ instanceId: 'w2', pid: process.pid });
      const bad = twinVersion(own, good?.id as number);
      own.models.activate(bad.id);
      own.models.activate(good?.id as number); // the operator's rollback, after `before` was enqueued
      const late = commitJobOutput(own, own.jobs.get(before.id) as never, workerOutput(4));
      expect(late.activated).toBe(false);
      expect(own.models.active()?.id).toBe(good?.id);
      const after = own.jobs.enqueue('pipeline', { data: 'synthetic' });
      own.jobs.claimNext({ instanceId: 'w3', pid: process.pid });
      const next = commitJobOutput(own, own.jobs.get(after.id) as never, workerOutput(5));
      expect(next.activated).toBe(true);
      expect(own.models.active()?.id).toBe(next.version?.id);
    } finally {
      own.close();
    }
  });

  it('an in-memory store gets results back from the worker and saves them on the main thread', async () => {
    const job = runner.enqueue('pipeline', { ...SMALL, activate: false });
    const { job: done, version } = await finished(runner, job.id);
    expect(done.status).toBe('succeeded');
    expect(version).toMatchObject({ kind: 'full', active: false, jobId: job.id });
    expect(artifactCount(store.db)).toBe(6);
    expect(store.models.active()?.id).toBe(served.id);
    const evaluated = await finished(runner, runner.enqueue('evaluate', { baseModelId: version?.id }).id);
    expect(evaluated.job.status).toBe('succeeded');
    expect(store.models.get(version?.id as number)?.metrics).toHaveProperty('fidelity.rbo');
  });
});

/** What a worker hands back for a full model: tiny artifacts whose bytes differ by `seed`. */
function workerOutput(seed: number, recommenderKind: 'mf' | 'ncf' = 'mf'): WorkerOutput {
  return {
    version: {
      kind: 'full',
      datasetSpec: 'x',
      datasetName: 'x',
      recommenderKind,
      dim: 1,
      latents: 1,
      nUsers: 1,
      nItems: 1,
      neuronsJson: '[]',
      reportJson: '{}',
    },
    artifacts: {
      catalog: Uint8Array.of(seed),
      recommender: Uint8Array.of(seed, 4),
      sae: Uint8Array.of(seed, 5),
    },
    metrics: {},
    summary: {},
    timings: {},
  };
}
