import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createJobRunner, type JobFinishedEvent, type JobRunner } from '../../src/jobs/index.ts';
import { type BuildAppOptions, buildApp } from '../../src/server/app.ts';
import { openStore } from '../../src/store/index.ts';
import type { Job, JobParams, Store } from '../../src/store/types.ts';
import { finished as jobFinished, SLOW, started } from '../jobs/helpers.ts';

/** A pipeline small enough to train in a couple of seconds (synthetic data with planted genres). */
export const SMALL: JobParams = {
  data: 'synthetic:users=200,items=100,genres=4,seed=1',
  dim: 8,
  epochs: 3,
  seed: 1,
  sae: { latents: 16, k: 4, epochs: 5 },
};

/** Model versions in the shared template database. */
export const TEMPLATE = {
  /** Active 'full' version (SMALL). */
  active: 1,
  /** A second 'full' version (other seed), not active. */
  other: 2,
  /** A recommender-only version (not activatable). */
  recommenderOnly: 3,
};

/** The jobs tests' helper, with a longer default wait (server tests share the machine with more work). */
export function finished(runner: JobRunner, jobId: number, timeoutMs = 60_000): Promise<JobFinishedEvent> {
  return jobFinished(runner, jobId, timeoutMs);
}

/**
 * The path of a database holding three small trained versions, built once per test run (by the real
 * job runner) and shared by every test file: the first file to need it builds it under a lock
 * directory, the others wait. Keyed on the vitest main process so each run trains afresh.
 */
export async function templateDb(): Promise<string> {
  const dir = join(tmpdir(), `prism-server-fixture-${process.ppid}`);
  const file = join(dir, 'template.db');
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'lock');
  try {
    mkdirSync(lock);
  } catch {
    const t0 = Date.now();
    while (!existsSync(file)) {
      if (Date.now() - t0 > 120_000) throw new Error('timed out waiting for the fixture database');
      // A lock left by a crashed builder (no progress for a minute) is taken over.
      if (Date.now() - statSync(lock).mtimeMs > 60_000) {
        rmSync(lock, { recursive: true, force: true });
        return templateDb();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return file;
  }
  const building = join(dir, `building-${process.pid}.db`);
  const store = openStore(building);
  const runner = createJobRunner({ store, instanceId: 'fixture', progressThrottleMs: 0 });
  runner.start();
  try {
    const a = runner.enqueue('pipeline', SMALL);
    const ea = await finished(runner, a.id);
    if (ea.job.status !== 'succeeded') throw new Error(`fixture pipeline failed: ${ea.job.error}`);
    const b = runner.enqueue('pipeline', { ...SMALL, seed: 7, activate: false });
    const c = runner.enqueue('train-recommender', { ...SMALL, seed: 3 });
    for (const j of [b, c]) {
      const e = await finished(runner, j.id);
      if (e.job.status !== 'succeeded') throw new Error(`fixture job ${j.type} failed: ${e.job.error}`);
    }
  } finally {
    await runner.close();
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    store.close();
  }
  renameSync(building, file);
  return file;
}

/** A private copy of the template database, opened. */
export async function copyOfTemplate(): Promise<{ store: Store; path: string }> {
  const src = await templateDb();
  const path = join(mkdtempSync(join(tmpdir(), 'prism-server-test-')), 'prism.db');
  copyFileSync(src, path);
  return { store: openStore(path), path };
}

/** An app over a private copy of the template (jobs not run unless asked). */
export async function testApp(
  opts: Omit<BuildAppOptions, 'store'> = {},
): Promise<{ app: FastifyInstance; store: Store; close: () => Promise<void> }> {
  const { store } = await copyOfTemplate();
  const app = await buildApp({ jobs: false, ...opts, store });
  return {
    app,
    store,
    close: async () => {
      await app.close();
      store.close();
    },
  };
}

/** A server on a copy of the template whose runner is running a slow pipeline job (not activating). */
export async function appRunningSlowJob(): Promise<{ app: FastifyInstance; store: Store; job: Job }> {
  const { store } = await copyOfTemplate();
  const app = await buildApp({ store, jobs: {}, config: { jobPriority: 'normal' } });
  const job = app.runner.enqueue('pipeline', { ...SLOW, activate: false });
  await started(app.runner, job.id);
  return { app, store, job };
}
