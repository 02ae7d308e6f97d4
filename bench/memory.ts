/**
 * How well `estimateJobMemory` (the job memory check, PRISM_JOB_MEMORY_MB) predicts a pipeline's real
 * peak: each configuration runs the pipeline in a fresh child process, which reports its resident memory
 * after loading its modules and its peak resident memory at the end; the growth between them is set beside
 * the estimate. The check refuses a job when estimate × MEMORY_MARGIN exceeds the budget, so every ratio
 * estimate / measured should be ≥ 1 / MEMORY_MARGIN (no job let through that overruns its budget) and not
 * far above 1 (no job refused that would have fitted). JSON to bench/results/memory.json.
 *
 *   npm run bench:memory -- [--data-root ../shared/data] [--synthetic-only]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchFlags, DATA_ROOT_FLAG, dataDir } from './common.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

interface Config {
  spec: string;
  model: 'mf' | 'ncf';
  dim?: number;
  sae?: Record<string, unknown>;
}

interface Measured {
  users: number;
  items: number;
  interactions: number;
  dim: number;
  latents: number;
  rssBeforeMb: number;
  peakMb: number;
  estimateMb: number;
  /** The estimate's largest term (codes, SAE training, recommender training, data). */
  largest: string;
}

/** Child: run one pipeline, print what it measured as one JSON line. */
async function child(config: Config): Promise<void> {
  const { runPipeline } = await import('../src/ml/pipeline/run.ts');
  const { estimateJobMemory } = await import('../src/ml/pipeline/memory.ts');
  const { SAE_DEFAULTS } = await import('../src/ml/sae/options.ts');
  const rssBefore = process.memoryUsage().rss;
  const r = await runPipeline(config.spec, { model: config.model, dim: config.dim, sae: config.sae });
  const peak = process.resourceUsage().maxRSS * 1024;
  const shape = {
    users: r.report.dataset.users,
    items: r.report.dataset.items,
    interactions: r.split.train.indices.length,
    dim: r.recommender.recommender.dim,
    latents: r.sae.sae.item.config.latents,
    saeBatch: r.sae.options.batchSize ?? SAE_DEFAULTS.batchSize,
    saes: r.sae.options.shared === false ? (2 as const) : (1 as const),
    saeEpochs: r.sae.options.epochs,
  };
  const estimate = estimateJobMemory(shape, { recommender: true, sae: true, codes: true });
  const largest = (['data', 'training', 'sae', 'codes'] as const).reduce((a, c) =>
    estimate[a] >= estimate[c] ? a : c,
  );
  const out: Measured = {
    ...shape,
    rssBeforeMb: rssBefore / 2 ** 20,
    peakMb: peak / 2 ** 20,
    estimateMb: estimate.bytes / 2 ** 20,
    largest,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function configs(dataRoot: string | null): Config[] {
  const list: Config[] = [
    { spec: 'synthetic', model: 'mf' },
    { spec: 'synthetic', model: 'mf', sae: { latents: 16384, epochs: 1, matryoshka: [256, 16384] } },
    { spec: 'synthetic', model: 'mf', sae: { latents: 32768, epochs: 1, matryoshka: [512, 32768] } },
    {
      spec: 'synthetic:users=3000,items=1200',
      model: 'mf',
      sae: { latents: 16384, epochs: 1, matryoshka: [256, 16384] },
    },
    { spec: 'synthetic', model: 'mf', dim: 400, sae: { latents: 4096, epochs: 1, matryoshka: [64, 4096] } },
    { spec: 'synthetic', model: 'ncf', sae: { latents: 8192, epochs: 1, matryoshka: [128, 8192] } },
    // The SAE's training state the largest term: a wide embedding, then one SAE per side.
    { spec: 'synthetic', model: 'mf', dim: 1000, sae: { latents: 8192, epochs: 1, matryoshka: [128, 8192] } },
    {
      spec: 'synthetic',
      model: 'mf',
      dim: 1000,
      sae: { latents: 8192, epochs: 1, matryoshka: [128, 8192], shared: false },
    },
  ];
  if (dataRoot) {
    const ml = `movielens-1m:${dataDir(dataRoot, 'ml-1m')}`;
    const fm = `lastfm-hetrec:${dataDir(dataRoot, 'hetrec2011-lastfm-2k')}`;
    list.push(
      { spec: ml, model: 'mf' },
      { spec: ml, model: 'mf', sae: { latents: 8192, epochs: 1, matryoshka: [128, 8192] } },
      { spec: fm, model: 'ncf' },
    );
  }
  return list;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(JSON.parse(process.argv[3]) as Config);
  const flags = benchFlags('npm run bench:memory -- [--data-root DIR] [--synthetic-only]', {
    'data-root': DATA_ROOT_FLAG,
    'synthetic-only': { type: 'boolean', default: false, help: 'skip ML-1M and Last.FM' },
  });
  const { MEMORY_MARGIN } = await import('../src/ml/pipeline/memory.ts');
  const rows: (Config & Measured & { ratio: number })[] = [];
  console.log(
    'config | users × items, dim, latents | largest term | measured growth MiB | estimate MiB | estimate / measured',
  );
  for (const config of configs(flags['synthetic-only'] ? null : flags['data-root'])) {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', JSON.stringify(config)],
      { encoding: 'utf8', maxBuffer: 1 << 26 },
    );
    if (run.status !== 0) throw new Error(`child failed for ${JSON.stringify(config)}:\n${run.stderr}`);
    const m = JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as Measured;
    const growth = m.peakMb - m.rssBeforeMb;
    const ratio = m.estimateMb / growth;
    rows.push({ ...config, ...m, ratio });
    const name = `${config.spec.split(':')[0]} ${config.model}${config.sae ? ` ${JSON.stringify(config.sae)}` : ''}`;
    console.log(
      `${name} | ${m.users} × ${m.items}, ${m.dim}, ${m.latents} | ${m.largest} | ${growth.toFixed(0)} | ${m.estimateMb.toFixed(0)} | ${ratio.toFixed(2)}`,
    );
  }
  const low = Math.min(...rows.map((r) => r.ratio));
  console.log(
    `lowest ratio ${low.toFixed(2)} (the check lets a job through up to 1/${MEMORY_MARGIN} = ${(1 / MEMORY_MARGIN).toFixed(2)}): ${low * MEMORY_MARGIN >= 1 ? 'every peak within its budget' : 'an estimate falls short'}`,
  );
  const out = resolve(HERE, 'results', 'memory.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify({ bench: 'memory', date: new Date().toISOString(), margin: MEMORY_MARGIN, rows }, null, 2)}\n`,
  );
  console.log(`wrote ${join('bench', 'results', 'memory.json')}`);
}

await main();
