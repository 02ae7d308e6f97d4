import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner, type JobRunner } from '../../src/jobs/index.ts';
import { jobMemoryBudget } from '../../src/jobs/memory-budget.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { finished, SMALL } from './helpers.ts';

let store: Store;
let runner: JobRunner;

beforeAll(() => {
  store = openStore(join(mkdtempSync(join(tmpdir(), 'prism-memory-')), 'prism.db'));
  runner = createJobRunner({ store, instanceId: 'test', memoryMb: 64 });
  runner.start();
});
afterAll(async () => {
  await runner.close();
  store.close();
});

describe('the job memory budget', () => {
  it('fails a job whose estimate does not fit, before it allocates, and changes nothing served', async () => {
    // 65 536 latents: dense codes of 300 users and items alone take ~100 MB, over the 64 MB budget.
    const wide = runner.enqueue('pipeline', { ...SMALL, sae: { ...SMALL.sae, latents: 65_536 } });
    const { job, version } = await finished(runner, wide.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(
      /^the job would need about [\d,]+ MB \(65536 latents × 300 users and items\), more than the 64 MB it may use \(PRISM_JOB_MEMORY_MB\); lower sae\.latents/,
    );
    expect(job.stage).toBe('load');
    expect(version).toBeNull();
    expect(store.models.list()).toHaveLength(0);
  });

  it('lets a job through that fits the same budget', async () => {
    const small = runner.enqueue('pipeline', SMALL);
    const { job, version } = await finished(runner, small.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(store.models.active()?.id).toBe(version?.id);
  });
});

describe('jobMemoryBudget', () => {
  it('is the configured size, nothing at 0, else what is free now', () => {
    expect(jobMemoryBudget(64)).toEqual({ bytes: 64 * 2 ** 20, source: 'PRISM_JOB_MEMORY_MB' });
    expect(jobMemoryBudget(0)).toBeNull();
    const free = jobMemoryBudget(null);
    expect(free?.bytes).toBeGreaterThan(0);
    expect(free?.source).toMatch(/free .*; PRISM_JOB_MEMORY_MB sets it$/);
  });
});
