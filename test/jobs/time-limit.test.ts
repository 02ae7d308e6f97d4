import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner, type JobRunner } from '../../src/jobs/index.ts';
import { openStore } from '../../src/store/index.ts';
import type { ModelVersion, Store } from '../../src/store/types.ts';
import { insertFullVersion } from '../store/fixtures.ts';
import { finished, SLOW } from './helpers.ts';

let store: Store;
let runner: JobRunner;
let served: ModelVersion;

beforeAll(() => {
  store = openStore(':memory:');
  served = store.models.activate(insertFullVersion(store).id);
  runner = createJobRunner({ store, instanceId: 'test', maxSeconds: 1, cancelGraceMs: 60_000 });
  runner.start();
});
afterAll(async () => {
  await runner.close();
  store.close();
});

describe('PRISM_JOB_MAX_SECONDS', () => {
  it('stops a job that runs past its time limit at its next step; it fails saying why, and nothing changes', async () => {
    const job = runner.enqueue('pipeline', SLOW);
    const t0 = Date.now();
    const { job: done } = await finished(runner, job.id);
    expect(done.status).toBe('failed');
    // Stopped by its own signal check (the grace period is a minute), soon after the limit.
    expect(done.error).toBe('stopped after 1 s (PRISM_JOB_MAX_SECONDS)');
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(store.models.active()?.id).toBe(served.id);
    expect(runner.running()).toEqual([]);
  });
});
