import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createCancelFlag, raiseCancelFlag, signalFromFlag } from '../../src/jobs/cancel-flag.ts';
import { createJobRunner, ensureBootstrapModel, type JobRunner } from '../../src/jobs/index.ts';
import { recoverInterrupted } from '../../src/jobs/recovery.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { finished, SLOW, SMALL } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./fixtures/run-until-killed.ts', import.meta.url));
const open: { store: Store; runner?: JobRunner }[] = [];

afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.runner?.close();
    o.store.close();
  }
});

const tempDb = () => join(mkdtempSync(join(tmpdir(), 'prism-jobs-')), 'prism.db');

/** Pretends a process that no longer exists claimed the job: the row a SIGKILL leaves behind. */
function orphan(store: Store, id: number, attempts: number) {
  store.db
    .prepare(`UPDATE jobs SET status = 'running', attempts = ?, owner_instance = 'dead', owner_pid = 2147483646,
      heartbeat_at = ?, started_at = ?, stage = 'sae', progress = 0.5 WHERE id = ?`)
    .run(attempts, new Date(Date.now() - 3_600_000).toISOString(), new Date().toISOString(), id);
}

describe('crash recovery at start-up', () => {
  it('requeues a job whose process was SIGKILLed mid-run, then runs it to success', async () => {
    const path = tempDb();
    const seed = openStore(path);
    const job = seed.jobs.enqueue('pipeline', SLOW);
    seed.close();

    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes(`running ${job.id}`)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const store = openStore(path);
    const left = store.jobs.get(job.id);
    expect(left).toMatchObject({
      status: 'running',
      ownerInstance: `${hostname()}/doomed`,
      ownerPid: child.pid,
      attempts: 1,
    });
    const runner = createJobRunner({ store, instanceId: `${hostname()}/survivor` });
    open.push({ store, runner });
    const report = runner.recoverInterrupted();
    expect(report.requeued.map((j) => j.id)).toEqual([job.id]);
    const requeued = store.jobs.get(job.id);
    expect(requeued).toMatchObject({ status: 'queued', attempts: 1, ownerInstance: null });
    expect(requeued?.error).toMatch(/interrupted: instance .*\/doomed \(pid \d+\).*attempt 1\/3; requeued/);
    // Re-run it small so the test stays fast: what matters is that the requeued row is claimed again.
    store.db.prepare('UPDATE jobs SET params = ? WHERE id = ?').run(JSON.stringify(SMALL), job.id);
    const done = finished(runner, job.id);
    runner.start();
    const { job: after } = await done;
    expect(after.error).toBeNull();
    expect(after).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      ownerInstance: `${hostname()}/survivor`,
    });
    // The first attempt's fate stays on the row after the second one succeeds.
    expect(after.requeues).toEqual([requeued?.error]);
    expect(store.models.active()?.jobId).toBe(job.id);
  });

  it('fails an orphaned job with the reason once its attempts are used up, and leaves live owners alone', () => {
    const store = openStore(':memory:');
    open.push({ store });
    const spent = store.jobs.enqueue('pipeline', SMALL, { maxAttempts: 2 });
    const live = store.jobs.enqueue('pipeline', SMALL);
    const cancelled = store.jobs.enqueue('pipeline', SMALL);
    orphan(store, spent.id, 2);
    orphan(store, cancelled.id, 1);
    store.db.prepare('UPDATE jobs SET cancel_requested = 1 WHERE id = ?').run(cancelled.id);
    // A job held by another live process with a fresh heartbeat is not touched.
    store.jobs.claimNext({ instanceId: 'other', pid: process.ppid });
    const runner = createJobRunner({ store, instanceId: 'me' });
    const report = runner.recoverInterrupted();
    expect(report.failed.map((j) => j.id)).toEqual([spent.id]);
    expect(report.cancelled.map((j) => j.id)).toEqual([cancelled.id]);
    expect(report.requeued).toEqual([]);
    expect(store.jobs.get(spent.id)?.error).toMatch(/attempt 2\/2; no attempts left/);
    expect(store.jobs.get(live.id)).toMatchObject({ status: 'running', ownerInstance: 'other' });
    expect(runner.recoverInterrupted()).toEqual({ requeued: [], failed: [], cancelled: [] });
  });

  it('judges an owner on another host (another pid namespace) by its heartbeat only, not its pid', () => {
    const store = openStore(':memory:');
    open.push({ store });
    const job = store.jobs.enqueue('pipeline', SMALL);
    // Another container, also pid 1 (or any pid this host does not have), heartbeat fresh: alive.
    store.jobs.claimNext({ instanceId: 'container-b/1234', pid: 1 });
    const here = createJobRunner({ store, instanceId: 'container-a/5678', isPidAlive: () => false });
    expect(here.recoverInterrupted().requeued).toEqual([]);
    expect(store.jobs.get(job.id)).toMatchObject({ status: 'running', ownerInstance: 'container-b/1234' });
    // Its heartbeat goes stale: now it is gone.
    store.db.prepare('UPDATE jobs SET heartbeat_at = ? WHERE id = ?').run(new Date(0).toISOString(), job.id);
    expect(here.recoverInterrupted().requeued.map((j) => j.id)).toEqual([job.id]);
    // On the same host a dead pid still counts at once.
    store.jobs.claimNext({ instanceId: 'container-a/9999', pid: 2147483646 });
    expect(here.recoverInterrupted().requeued.map((j) => j.id)).toEqual([job.id]);
    // An id that names no host (a runner from before ids named it) is judged by its heartbeat too, even
    // with our own pid: during the first rolling deploy it may be another container's pid 1.
    store.jobs.claimNext({ instanceId: 'legacy', pid: process.pid });
    expect(here.recoverInterrupted().requeued).toEqual([]);
  });

  it('a runner that lost its job to another instance leaves the row alone (requeue, progress, heartbeat)', () => {
    const store = openStore(':memory:');
    open.push({ store });
    const job = store.jobs.enqueue('pipeline', SMALL);
    store.jobs.claimNext({ instanceId: 'h/old', pid: process.pid });
    // Taken over: recovered (requeued) and claimed again by another instance.
    store.jobs.requeue(job.id, 'stale heartbeat; requeued', { owner: 'h/old' });
    store.jobs.claimNext({ instanceId: 'h/new', pid: process.pid });
    store.jobs.updateProgress(job.id, { stage: 'sae', progress: 0.5 }, 'h/new');
    const before = store.jobs.get(job.id);
    store.jobs.updateProgress(job.id, { stage: 'load', progress: 0.1 }, 'h/old');
    store.jobs.heartbeat([job.id], 'h/old');
    expect(() => store.jobs.requeue(job.id, 'shutdown', { refundAttempt: true, owner: 'h/old' })).toThrow(
      /not running under instance h\/old/,
    );
    expect(() => store.jobs.finish(job.id, { status: 'failed', error: 'x' }, { owner: 'h/old' })).toThrow();
    expect(store.jobs.get(job.id)).toEqual(before);
    expect(before).toMatchObject({ status: 'running', ownerInstance: 'h/new', stage: 'sae', progress: 0.5 });
  });

  it('a requeued row drops the old attempt timings; a job finished by recovery reports no duration', () => {
    const store = openStore(':memory:');
    open.push({ store });
    const job = store.jobs.enqueue('pipeline', SMALL);
    store.jobs.claimNext({ instanceId: 'h/a', pid: process.pid });
    store.jobs.updateProgress(job.id, { stage: 'sae', timings: { load: 0.1, recommender: 2 } });
    expect(store.jobs.requeue(job.id, 'shutdown', { owner: 'h/a' }).timings).toEqual({});
    const spent = store.jobs.enqueue('pipeline', SMALL, { maxAttempts: 1 });
    orphan(store, job.id, 1);
    orphan(store, spent.id, 1);
    const runner = createJobRunner({ store, instanceId: 'h/me' });
    const seconds: (number | null)[] = [];
    runner.on('job:finished', (e) => seconds.push(e.seconds));
    expect(runner.recoverInterrupted().failed.map((j) => j.id)).toEqual([spent.id]);
    expect(seconds).toEqual([null]);
  });

  it('recovery reports a storage error (not "someone else settled it") through its error callback', () => {
    const store = openStore(':memory:');
    open.push({ store });
    const job = store.jobs.enqueue('pipeline', SMALL);
    orphan(store, job.id, 1);
    const full = new Error('SQLITE_FULL: database or disk is full');
    const jobs = {
      ...store.jobs,
      requeue: () => {
        throw full;
      },
    };
    const seen: unknown[] = [];
    const report = recoverInterrupted(
      { ...store, jobs },
      { instanceId: 'h/me', pid: process.pid },
      { staleMs: 1000 },
      (err) => seen.push(err),
    );
    expect(report.requeued).toEqual([]);
    expect(seen).toEqual([full]);
    expect(store.jobs.get(job.id)?.status).toBe('running'); // left for the next recovery, not lost
  });

  it('recovers a job left running under its own fixed instance id by a previous incarnation', () => {
    const store = openStore(':memory:');
    open.push({ store });
    const job = store.jobs.enqueue('pipeline', SMALL);
    store.jobs.claimNext({ instanceId: 'host-1', pid: process.pid });
    const runner = createJobRunner({ store, instanceId: 'host-1' });
    expect(runner.recoverInterrupted().requeued.map((j) => j.id)).toEqual([job.id]);
  });

  it('close() requeues the running job with its attempt refunded, so a restart re-runs it', async () => {
    const store = openStore(':memory:');
    const runner = createJobRunner({ store, instanceId: 'a', progressThrottleMs: 0 });
    open.push({ store });
    const job = runner.enqueue('pipeline', SLOW);
    const started = new Promise<void>((r) =>
      runner.on('job:progress', (p) => p.stage === 'recommender' && r()),
    );
    runner.start();
    await started;
    await runner.close();
    expect(store.jobs.get(job.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(store.jobs.get(job.id)?.error).toMatch(/shut down/);
    expect(store.models.active()).toBeNull();
  });

  it('bootstraps a pipeline only when nothing is active or pending', () => {
    const store = openStore(':memory:');
    const runner = createJobRunner({ store, instanceId: 'b' });
    open.push({ store, runner });
    const job = ensureBootstrapModel(runner, store, 'synthetic:users=50,items=30');
    expect(job).toMatchObject({
      type: 'pipeline',
      params: { data: 'synthetic:users=50,items=30', activate: true },
    });
    expect(ensureBootstrapModel(runner, store, 'synthetic')?.id).toBe(job?.id);
    expect(store.jobs.count()).toBe(1);
    // A pending pipeline someone asked to cancel will not activate anything: a new one is enqueued.
    orphan(store, job?.id as number, 1);
    store.jobs.requestCancel(job?.id as number);
    const next = ensureBootstrapModel(runner, store, 'synthetic');
    expect(next?.id).not.toBe(job?.id);
    expect(store.jobs.count()).toBe(2);
  });

  it('a raised cancel flag aborts the worker-side signal on its next check', () => {
    const flag = createCancelFlag();
    const { signal } = signalFromFlag(flag);
    expect(() => signal.throwIfAborted()).not.toThrow();
    expect(signal.aborted).toBe(false);
    raiseCancelFlag(flag);
    expect(signal.aborted).toBe(true);
    expect(() => signal.throwIfAborted()).toThrow(/cancelled/);
  });
});
