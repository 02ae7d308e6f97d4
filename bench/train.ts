/**
 * Recommender benchmark: MF (iALS) and NCF on ML-1M and Last.FM (hetrec, items with ≥ 5 listeners),
 * same protocol everywhere — seed 0, 5 held-out positives per user, full ranking over all items,
 * training positives excluded, all users with a test set.
 *
 *   npm run bench:train -- --data-root ../shared/data [--models mf,ncf] [--datasets ml-1m,lastfm]
 *
 * Each (dataset, model) runs `prism train` in its own process, so the peak RSS is that command's own
 * (target: ≤ 400 MB on ML-1M). Most-popular is measured in this process as the in-run baseline, and the
 * paper-code figures (measured on this machine with the same protocol, quoted from issue 2) are printed
 * beside ours. Wall seconds are inflated when the machine is shared; CPU seconds are printed too.
 * Writes bench/results/train.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainReport } from '../src/cli/commands/train.ts';
import { MlError } from '../src/ml/core/errors.ts';
import { loadDataset } from '../src/ml/data/load.ts';
import { splitHoldout } from '../src/ml/data/split.ts';
import { mostPopularBaseline } from '../src/ml/eval/baselines.ts';
import { evaluateRanking } from '../src/ml/eval/ranking.ts';
import { benchFlags, DATA_ROOT_FLAG, dataDir } from './common.ts';

const FLAG_SPEC = {
  'data-root': DATA_ROOT_FLAG,
  models: { type: 'string', default: 'mf,ncf', help: 'comma-separated models' },
  datasets: { type: 'string', default: 'ml-1m,lastfm', help: 'comma-separated datasets' },
} as const;
const flags = benchFlags('npm run bench:train -- [options]', FLAG_SPEC);
const root = resolve(flags['data-root']);
const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface Reference {
  source: string;
  hr: number;
  ndcg: number;
  train_s: number | null;
}
const DATASETS = {
  'ml-1m': {
    label: 'ML-1M',
    spec: `movielens-1m:${join(root, 'ml-1m')}`,
    refs: {
      mf: [
        { source: 'paper-code logistic MF (d=20, SGD, 10 ep)', hr: 0.575, ndcg: 0.147, train_s: 15.8 },
        { source: 'numpy implicit ALS (d=20)', hr: 0.629, ndcg: 0.166, train_s: 9 },
      ],
      ncf: [{ source: 'paper-code NCF (d=20, Adam, 30 ep)', hr: 0.567, ndcg: 0.145, train_s: 540 }],
      pop: [{ source: 'most-popular (same protocol)', hr: 0.323, ndcg: 0.069, train_s: null }],
    } as Record<string, Reference[]>,
  },
  lastfm: {
    label: 'Last.FM',
    spec: `lastfm-hetrec:${join(root, 'hetrec2011-lastfm-2k')}?minListeners=5`,
    refs: {
      mf: [{ source: 'paper-code logistic MF (d=100, 30 ep)', hr: 0.7, ndcg: 0.237, train_s: 12.1 }],
      ncf: [{ source: 'paper-code NCF (d=100)', hr: 0.534, ndcg: 0.153, train_s: 72 }],
      pop: [],
    } as Record<string, Reference[]>,
  },
} as const;

interface Row {
  dataset: string;
  model: string;
  dim: number | null;
  epochs: number | null;
  hr10: number;
  ndcg10: number;
  mrr10: number;
  load_s: number | null;
  train_s: number | null;
  eval_s: number | null;
  train_cpu_s: number | null;
  eval_cpu_s: number | null;
  peak_rss_mb: number | null;
  /** Item neighbourhood coherence, all centres / best 1 024 (the embedding-MS reference). */
  coherence: [number, number] | null;
  references: Reference[];
}

const rows: Row[] = [];
const dsNames = flags.datasets.split(',') as (keyof typeof DATASETS)[];
// Every dataset named is checked before the first (long) run.
for (const ds of dsNames) {
  if (!DATASETS[ds])
    throw new MlError(
      'BAD_CONFIG',
      `--datasets: unknown dataset "${ds}" (known: ${Object.keys(DATASETS).join(', ')})`,
      'datasets',
    );
  dataDir(root, ds === 'ml-1m' ? 'ml-1m' : 'hetrec2011-lastfm-2k');
}
for (const ds of dsNames) {
  const def = DATASETS[ds];
  // In-run baseline.
  const data = loadDataset(def.spec);
  const split = splitHoldout(data.interactions, { perUser: 5, seed: 0 });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const pop = evaluateRanking(mostPopularBaseline(split.train), split);
  const c = process.cpuUsage(c0);
  rows.push({
    dataset: def.label,
    model: 'most-popular',
    dim: null,
    epochs: null,
    hr10: pop.hr,
    ndcg10: pop.ndcg,
    mrr10: pop.mrr,
    load_s: null,
    train_s: null,
    eval_s: (performance.now() - t0) / 1000,
    train_cpu_s: null,
    eval_cpu_s: (c.user + c.system) / 1e6,
    peak_rss_mb: null,
    coherence: null,
    references: def.refs.pop,
  });
  for (const model of flags.models.split(',')) {
    const out = mkdtempSync(join(tmpdir(), 'prism-bench-train-'));
    process.stderr.write(`\n== ${def.label} ${model}\n`);
    const res = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repo, 'src/cli/main.ts'),
        'train',
        '--data',
        def.spec,
        '--model',
        model,
        '--out',
        out,
      ],
      { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (res.status !== 0) throw new Error(`prism train ${def.label} ${model} failed (exit ${res.status})`);
    const r = JSON.parse(readFileSync(join(out, 'train.json'), 'utf8')) as TrainReport;
    rmSync(out, { recursive: true, force: true });
    rows.push({
      dataset: def.label,
      model,
      dim: r.dim,
      epochs: r.epochs,
      hr10: r.metrics['hr@10'],
      ndcg10: r.metrics['ndcg@10'],
      mrr10: r.metrics['mrr@10'],
      load_s: r.timings.load_s,
      train_s: r.timings.train_s,
      eval_s: r.timings.eval_s,
      train_cpu_s: r.timings.train_cpu_s,
      eval_cpu_s: r.timings.eval_cpu_s,
      peak_rss_mb: r.peak_rss_mb,
      coherence: [r.geometry.item_coherence, r.geometry.item_coherence_best],
      references: def.refs[model] ?? [],
    });
  }
}

const f = (x: number | null, d = 2): string => (x === null ? '—' : x.toFixed(d));
const header =
  '| dataset | model | d | ep | HR@10 | NDCG@10 | MRR@10 | load s | train s (CPU) | eval s (CPU) | peak RSS MB | vs most-popular HR | item coherence (all / best 1024) | reference (HR / NDCG / train s) |';
const lines = [header, `|${'---|'.repeat(14)}`];
for (const r of rows) {
  const base = rows.find((b) => b.dataset === r.dataset && b.model === 'most-popular');
  const refs = r.references.map(
    (x) => `${x.source}: ${x.hr.toFixed(3)} / ${x.ndcg.toFixed(3)} / ${f(x.train_s, 1)}`,
  );
  lines.push(
    `| ${r.dataset} | ${r.model} | ${r.dim ?? '—'} | ${r.epochs ?? '—'} | ${f(r.hr10, 4)} | ${f(r.ndcg10, 4)} | ${f(r.mrr10, 4)} | ${f(r.load_s)} | ${f(r.train_s)} (${f(r.train_cpu_s)}) | ${f(r.eval_s)} (${f(r.eval_cpu_s)}) | ${f(r.peak_rss_mb, 0)} | ${base ? `${(r.hr10 / base.hr10).toFixed(2)}×` : '—'} | ${r.coherence ? `${f(r.coherence[0], 3)} / ${f(r.coherence[1], 3)}` : '—'} | ${refs.join('; ') || '—'} |`,
  );
}
const table = lines.join('\n');
process.stdout.write(`\n${table}\n`);
mkdirSync(join(repo, 'bench/results'), { recursive: true });
const result = {
  protocol:
    'seed 0, 5 held-out positives per user, full ranking over all items, training positives excluded, all users with a test set, K = 10',
  machine: {
    cpus: (await import('node:os')).cpus().length,
    node: process.version,
    loadavg: (await import('node:os')).loadavg(),
  },
  rows,
};
writeFileSync(join(repo, 'bench/results/train.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(repo, 'bench/results/train.md'), `${table}\n`);
process.stdout.write('wrote bench/results/train.json and bench/results/train.md\n');
