import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner, type JobRunner, type ModelActivatedEvent } from '../../src/jobs/index.ts';
import { recommend } from '../../src/ml/steer/recommend.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { artifactCount, finished, SMALL } from './helpers.ts';

let store: Store;
let runner: JobRunner;
const activations: ModelActivatedEvent[] = [];
const stages: string[] = [];

beforeAll(() => {
  // A file database, as in production: workers read base versions and save results themselves.
  store = openStore(join(mkdtempSync(join(tmpdir(), 'prism-runner-')), 'prism.db'));
  runner = createJobRunner({ store, instanceId: 'test', workers: 2, progressThrottleMs: 0 });
  runner.on('model:activated', (e) => activations.push(e));
  runner.on('job:progress', (p) => stages.push(p.stage));
  runner.start();
});
afterAll(async () => {
  await runner.close();
  store.close();
});

describe('job runner on the real pipeline', () => {
  it('runs a pipeline job in a worker: progress, artifacts, a model version, activation', async () => {
    const job = runner.enqueue('pipeline', SMALL);
    expect(job.status).toBe('queued');
    const { job: done, version, seconds } = await finished(runner, job.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    expect(done.progress).toBe(1);
    expect(seconds).toBeGreaterThan(0);
    expect(Object.keys(done.timings)).toEqual(['load', 'recommender', 'sae', 'evaluate', 'label']);
    expect([...new Set(stages)]).toEqual(['load', 'recommender', 'sae', 'evaluate', 'label']);
    expect(done.result).toMatchObject({ modelId: version?.id, activated: true, latents: 16 });
    expect(version?.kind).toBe('full');
    expect(store.models.active()?.id).toBe(version?.id);
    expect(activations.map((a) => a.modelId)).toEqual([version?.id]);
    expect(artifactCount(store.db)).toBe(3);
    const metrics = store.models.get(version?.id as number)?.metrics as Record<
      string,
      { hr?: number; rbo?: number }
    >;
    expect(metrics.ranking.hr).toBeGreaterThan(0);
    expect(metrics.fidelity.rbo).toBeGreaterThan(0);
    const bundle = store.models.loadBundle(version?.id as number);
    expect(bundle.dataset.items.ids).toHaveLength(100);
    expect(bundle.sae.item.config.latents).toBe(16);
    expect(bundle.neurons).toHaveLength(16);
    expect(bundle.neurons.some((n) => n.label !== '')).toBe(true);
    // The catalogue holds training positives only (test positives are held out).
    const report = store.models.report(version?.id as number) as {
      dataset: { interactions: number };
      catalog: { trainPositives: number; testUsers: number };
      training: { seed: number };
      sae: { compute: string };
    };
    // The runner's default compute is 'auto', which keeps the loops for an SAE this small (AUTO_MIN_WORK).
    expect(report.sae.compute).toBe('js');
    expect(bundle.dataset.interactions.indices.length).toBe(report.catalog.trainPositives);
    expect(report.dataset.interactions - report.catalog.trainPositives).toBe(5 * report.catalog.testUsers);
    expect(report.training.seed).toBe(1);
  });

  it('train-sae on the active version reuses its catalogue and recommender by reference', async () => {
    const base = store.models.active();
    // A seed of its own is the SAE's: the base's data split (and so its test positives) must not move.
    const job = runner.enqueue('train-sae', {
      sae: { latents: 24, k: 4, epochs: 3 },
      activate: true,
      seed: 5,
    });
    expect(job.params.baseModelId).toBe(base?.id);
    const { job: done, version } = await finished(runner, job.id);
    expect(done.status).toBe('succeeded');
    expect(version).toMatchObject({ kind: 'full', latents: 24, parentId: base?.id, active: true });
    expect(version?.artifacts.catalog).toBe(base?.artifacts.catalog);
    expect(version?.artifacts.recommender).toBe(base?.artifacts.recommender);
    expect(version?.artifacts.sae).not.toBe(base?.artifacts.sae);
    expect(artifactCount(store.db)).toBe(4);
    expect(store.models.active()?.id).toBe(version?.id);
    const training = (
      store.models.report(version?.id as number) as { training: { seed: number; saeSeed: number } }
    ).training;
    expect([training.seed, training.saeSeed]).toEqual([1, 5]);
    // The same recommender on the same split: the ranking the new version reports is the base's.
    const ranking = (id: number) =>
      (store.models.get(id)!.metrics as { ranking: { hr: number; ndcg: number } }).ranking;
    expect(ranking(version?.id as number)).toEqual(ranking(base?.id as number));
  });

  it("train-sae does not read the base's SAE: a corrupt one does not stop the job that replaces it", async () => {
    const base = store.models.active() as NonNullable<ReturnType<Store['models']['active']>>;
    const sha = base.artifacts.sae as string;
    const bytes = store.db.prepare('SELECT bytes FROM artifacts WHERE sha256 = ?').pluck().get(sha) as Buffer;
    store.db.prepare('UPDATE artifacts SET bytes = ? WHERE sha256 = ?').run(Buffer.from('damaged'), sha);
    try {
      expect(() => store.artifacts.get(sha)).toThrow(/hash/);
      const job = runner.enqueue('train-sae', { sae: { latents: 16, k: 4, epochs: 2 }, activate: false });
      const { job: done } = await finished(runner, job.id);
      expect(done.error).toBeNull();
      expect(done.status).toBe('succeeded');
    } finally {
      store.db.prepare('UPDATE artifacts SET bytes = ? WHERE sha256 = ?').run(bytes, sha);
    }
  });

  it('evaluate re-measures a version without changing what is served; label makes a new unactivated version', async () => {
    const active = store.models.active();
    const rankingBefore = (active!.metrics as { ranking: unknown }).ranking;
    store.models.setMetrics(active?.id as number, { note: 'stale' });
    let concurrent = 0;
    let maxConcurrent = 0;
    const up = () => {
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
    };
    const down = () => concurrent--;
    runner.on('job:started', up).on('job:finished', down);
    const evJob = runner.enqueue('evaluate', {});
    const lbJob = runner.enqueue('label', {});
    const [ev, lb] = await Promise.all([finished(runner, evJob.id), finished(runner, lbJob.id)]);
    runner.off('job:started', up).off('job:finished', down);
    expect(maxConcurrent).toBe(2); // workers: 2 runs both at once
    expect(ev.job.status).toBe('succeeded');
    const metrics = store.models.get(active?.id as number)?.metrics as Record<string, unknown>;
    expect(metrics).toHaveProperty('note', 'stale');
    // Re-measured on the split the recommender was trained on (the version's SAE had a seed of its own).
    expect(metrics.ranking).toEqual(rankingBefore);
    expect(metrics).toHaveProperty('fidelity.rbo');
    expect(lb.job.status).toBe('succeeded');
    expect(lb.version?.artifacts).toEqual(active?.artifacts);
    expect(lb.version?.active).toBe(false);
    expect(store.models.neurons(lb.version?.id as number)).toHaveLength(24);
    expect(store.models.active()?.id).toBe(active?.id);
  });

  it('train-recommender records a recommender-only version that a train-sae job can start from', async () => {
    const rec = await finished(runner, runner.enqueue('train-recommender', { ...SMALL, model: 'mf' }).id);
    expect(rec.job.status).toBe('succeeded');
    expect(rec.version).toMatchObject({ kind: 'recommender', latents: null, active: false });
    expect(rec.version?.metrics).toHaveProperty('ranking.ndcg');
    const sae = await finished(
      runner,
      runner.enqueue('train-sae', { baseModelId: rec.version?.id, sae: SMALL.sae }).id,
    );
    expect(sae.job.status).toBe('succeeded');
    expect(sae.version).toMatchObject({ kind: 'full', parentId: rec.version?.id, active: false });
    expect(() => runner.enqueue('label', { baseModelId: rec.version?.id })).toThrow(/label needs an SAE/);
  });

  it('refuses bad parameters naming the field', () => {
    expect(() => runner.enqueue('pipeline', { dim: 0 })).toThrow(/params.dim/);
    expect(() => runner.enqueue('pipeline', { model: 'svd' as 'mf' })).toThrow(/params.model/);
    expect(() => runner.enqueue('pipeline', { sae: { bogus: 1 } as never })).toThrow(/sae.bogus/);
    expect(() => runner.enqueue('evaluate', { baseModelId: 999 })).toThrow(
      /model version 999, which does not exist/,
    );
    expect(() => runner.enqueue('nope' as 'pipeline', {})).toThrow(/unknown job type/);
  });

  it('a pipeline row without data (queued before data was required) fails instead of training the demo', async () => {
    const activeBefore = store.models.active()?.id ?? null;
    const job = store.jobs.enqueue('pipeline', {}); // the store does not check params; enqueue() would
    const done = finished(runner, job.id);
    runner.start();
    const { job: after } = await done;
    expect(after.status).toBe('failed');
    expect(after.error).toMatch(/params\.data is required/);
    expect(store.models.active()?.id ?? null).toBe(activeBefore);
  });

  it('a pipeline with the fidelity setting serves pursuit codes', async () => {
    const { job, version } = await finished(
      runner,
      runner.enqueue('pipeline', { ...SMALL, setting: 'fidelity', activate: false }).id,
    );
    expect(job.status, job.error ?? '').toBe('succeeded');
    const bundle = store.models.loadBundle(version?.id as number);
    // The setting's item pool is k + 2 for the job's k (4).
    expect(bundle.sae.item.config.pursuit).toEqual({ k: 4, pool: 6 });
    expect(bundle.sae.user.config.pursuit).toEqual({ k: 12, pool: 0 });
    expect(bundle.sae.item.config.matryoshka).toBeUndefined();
    // Explanations of a pursuit model still add up: contributions + other + base + residual = score.
    const rec = recommend(bundle, 0, { k: 5, explain: { topN: 3 } });
    for (const item of rec.items) {
      const e = item.explanation!;
      const sum = e.top.reduce((t, c) => t + c.value, 0) + e.other + e.base + e.residual;
      expect(sum).toBeCloseTo(item.score, 4);
    }
    expect(() => runner.enqueue('pipeline', { ...SMALL, setting: 'precise' as 'fidelity' })).toThrow(
      /setting/,
    );
  });
});

describe('PRISM_COMPUTE reaches the worker', () => {
  it("trains a job's SAE and scores NCF with the kernel the runner names, and the report says which", async () => {
    const own = openStore(':memory:');
    const wasmRunner = createJobRunner({
      store: own,
      instanceId: 'wasm',
      compute: 'wasm',
      progressThrottleMs: 0,
    });
    wasmRunner.start();
    try {
      const computes = async (params: typeof SMALL) => {
        const { job, version } = await finished(wasmRunner, wasmRunner.enqueue('pipeline', params).id);
        expect(job.status, job.error ?? '').toBe('succeeded');
        const report = own.models.report(version?.id as number) as {
          sae: { compute: string };
          recommender: { compute: string };
        };
        return { sae: report.sae.compute, scores: report.recommender.compute };
      };
      // NCF's full-catalogue scores go to the kernel too; MF's dot products stay on the loops.
      expect(await computes(SMALL)).toEqual({ sae: 'wasm', scores: 'js' });
      expect(await computes({ ...SMALL, model: 'ncf' })).toEqual({ sae: 'wasm', scores: 'wasm' });
    } finally {
      await wasmRunner.close();
      own.close();
    }
  });
});
