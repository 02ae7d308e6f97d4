import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner, type JobRunner } from '../../src/jobs/index.ts';
import { jobMemoryBudget } from '../../src/jobs/memory-budget.ts';
import { checkMemoryAtEnqueue } from '../../src/jobs/memory-check.ts';
import type { JobParamsError } from '../../src/jobs/params.ts';
import { openStore } from '../../src/store/index.ts';
import type { JobParams, Store } from '../../src/store/types.ts';
import { fixtureArtifacts } from '../store/fixtures.ts';
import { finished, SMALL } from './helpers.ts';

let store: Store;
let runner: JobRunner;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'prism-memory-'));
  store = openStore(join(dir, 'prism.db'));
  runner = createJobRunner({ store, instanceId: 'test', memoryMb: 64 });
  runner.start();
});
afterAll(async () => {
  await runner.close();
  store.close();
});

/** 65 536 latents: the SAE's training state alone takes ~200 MiB, over the 64 MiB budget. */
const WIDE = { ...SMALL.sae, latents: 65_536 };

function refusal(type: Parameters<JobRunner['enqueue']>[0], params: JobParams): JobParamsError {
  try {
    runner.enqueue(type, params);
  } catch (err) {
    return err as JobParamsError;
  }
  throw new Error('the job was enqueued');
}

describe('the job memory budget', () => {
  it('refuses at enqueue a job whose sizes are known (synthetic data, a stored version), naming the parameter', async () => {
    const before = store.jobs.list({}).length;
    const synthetic = refusal('pipeline', { ...SMALL, sae: WIDE });
    expect([synthetic.code, synthetic.field]).toEqual(['OVER_MEMORY_BUDGET', 'sae.latents']);
    expect(synthetic.message).toMatch(
      /^params\.sae\.latents: the job would need about [\d,]+ MiB \(largest part: an SAE of 65536 latents × dim 8\), more than the 64 MiB it may use \(PRISM_JOB_MEMORY_MB\); it needs a smaller sae\.latents/,
    );
    const { version } = await finished(runner, runner.enqueue('pipeline', SMALL).id);
    const onStored = refusal('train-sae', { baseModelId: version?.id, sae: WIDE });
    expect([onStored.code, onStored.field]).toEqual(['OVER_MEMORY_BUDGET', 'sae.latents']);
    expect(store.jobs.list({}).length).toBe(before + 1);
  });

  it('fails a job on a file dataset once its data is loaded, before it allocates, and serves what it served', async () => {
    const lines = ['user,item'];
    for (let u = 0; u < 200; u++) for (let n = 0; n < 12; n++) lines.push(`u${u},i${(u * 7 + n * 13) % 100}`);
    const file = join(dir, 'interactions.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const served = store.models.active()?.id;
    const wide = runner.enqueue('pipeline', { ...SMALL, data: `csv:${file}`, sae: WIDE });
    const { job, version } = await finished(runner, wide.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(
      /^the job would need about [\d,]+ MiB \(largest part: an SAE of 65536 latents × dim 8\), more than the 64 MiB it may use \(PRISM_JOB_MEMORY_MB\); it needs a smaller sae\.latents/,
    );
    expect(job.stage).toBe('load');
    expect(version).toBeNull();
    expect(store.models.active()?.id).toBe(served);
  });

  it('lets a job through that fits the same budget', async () => {
    const { job, version } = await finished(runner, runner.enqueue('pipeline', SMALL).id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(store.models.active()?.id).toBe(version?.id);
    // The result says what the check estimated and allowed (ops size PRISM_JOB_MEMORY_MB from it).
    const memory = (job.result as { memory: { estimateMiB: number; budgetMiB: number } }).memory;
    expect(memory.budgetMiB).toBe(64);
    expect(memory.estimateMiB).toBeGreaterThan(32);
    expect(memory.estimateMiB * 1.25).toBeLessThanOrEqual(64);
  });
});

describe('the check at enqueue on a stored version', () => {
  it('counts the training interactions of a recommender-only version too (its report names them elsewhere)', () => {
    const own = openStore(':memory:');
    try {
      const a = fixtureArtifacts();
      const sha = (kind: 'catalog' | 'recommender', bytes: Uint8Array) =>
        own.artifacts.put(kind, bytes).sha256;
      // A few users and items, but 2 M training interactions: ~76 MiB of data alone, over a 64 MiB budget.
      const version = own.models.create({
        kind: 'recommender',
        datasetSpec: 'synthetic',
        datasetName: a.dataset.name,
        recommenderKind: 'mf',
        dim: a.dim,
        nUsers: a.dataset.users.ids.length,
        nItems: a.dataset.items.ids.length,
        metrics: {},
        artifacts: { catalog: sha('catalog', a.catalog), recommender: sha('recommender', a.recommender) },
        report: { dataset: { trainPositives: 2_000_000 } },
      });
      let refused: JobParamsError | null = null;
      try {
        checkMemoryAtEnqueue(own, 'evaluate', { baseModelId: version.id }, 64, 'auto');
      } catch (err) {
        refused = err as JobParamsError;
      }
      expect([refused?.code, refused?.field]).toEqual(['OVER_MEMORY_BUDGET', 'baseModelId']);
      expect(refused?.message).toContain('2,000,000 interactions');
    } finally {
      own.close();
    }
  });
});

describe('jobMemoryBudget', () => {
  it('is the configured size, nothing at 0, else what is available now, in a container or not', () => {
    expect(jobMemoryBudget(64)).toEqual({
      bytes: 64 * 2 ** 20,
      source: 'PRISM_JOB_MEMORY_MB',
      measured: false,
    });
    expect(jobMemoryBudget(0)).toBeNull();
    const free = jobMemoryBudget(null);
    expect(free?.bytes).toBeGreaterThan(0);
    expect(free?.measured).toBe(true);
    expect(free?.source).toMatch(/free .*now; PRISM_JOB_MEMORY_MB sets it$/);
    const contained = jobMemoryBudget(null, () => ({ available: 300 * 2 ** 20, contained: true }));
    expect(contained).toEqual({
      bytes: 300 * 2 ** 20,
      source: 'what the container’s memory limit leaves free now; PRISM_JOB_MEMORY_MB sets it',
      measured: true,
    });
    expect(jobMemoryBudget(null, () => ({ available: -5, contained: true }))?.bytes).toBe(0);
  });
});
