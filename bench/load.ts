/**
 * Dataset loading benchmark: wall and CPU seconds to load ML-1M and Last.FM (hetrec, ≥ 5 listeners)
 * from disk, to generate the default synthetic dataset and to split each, plus the dataset stats.
 *
 *   npx tsx bench/load.ts [--data-root ../shared/data] [--repeat 3]
 *
 * Prints a table and writes bench/results/load.json (and load.txt). Target: ML-1M ≤ 2 s.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadDataset } from '../src/ml/data/load.ts';
import { splitHoldout } from '../src/ml/data/split.ts';
import { datasetStats } from '../src/ml/data/stats.ts';
import { benchFlags, DATA_ROOT_FLAG, dataDir } from './common.ts';

const FLAG_SPEC = {
  'data-root': DATA_ROOT_FLAG,
  repeat: { type: 'integer', default: 3, min: 1, help: 'runs per dataset' },
} as const;
const flags = benchFlags('npx tsx bench/load.ts [options]', FLAG_SPEC);
const dataRoot = resolve(flags['data-root']);
const repeat = flags.repeat;
// Both datasets are checked before any run: a wrong root must not replace the results with a partial table.
dataDir(dataRoot, 'ml-1m');
dataDir(dataRoot, 'hetrec2011-lastfm-2k');

function timed<T>(fn: () => T): { value: T; wall_s: number; cpu_s: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const wall_s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wall_s, cpu_s: (c.user + c.system) / 1e6 };
}

const sources = [
  { label: 'ML-1M', spec: `movielens-1m:${join(dataRoot, 'ml-1m')}`, dir: join(dataRoot, 'ml-1m') },
  {
    label: 'Last.FM (≥5 listeners)',
    spec: `lastfm-hetrec:${join(dataRoot, 'hetrec2011-lastfm-2k')}?minListeners=5&topTags=4`,
    dir: join(dataRoot, 'hetrec2011-lastfm-2k'),
  },
  { label: 'synthetic (default)', spec: 'synthetic', dir: null },
];

const rows = [];
for (const s of sources) {
  const runs = [];
  let stats = null;
  for (let r = 0; r < repeat; r++) {
    const t = timed(() => loadDataset(s.spec));
    stats = datasetStats(t.value);
    runs.push({ wall_s: t.wall_s, cpu_s: t.cpu_s });
  }
  const d = loadDataset(s.spec);
  const split = timed(() => splitHoldout(d.interactions, { perUser: 5, seed: 0 }));
  rows.push({
    source: s.label,
    spec: s.spec,
    load_first: runs[0],
    load_best: runs.reduce((a, b) => (b.wall_s < a.wall_s ? b : a)),
    split: { wall_s: split.wall_s, cpu_s: split.cpu_s, testUsers: split.value.testUsers.length },
    stats,
  });
}

const fmt = (x: number) => x.toFixed(3);
const lines = [
  `Dataset loading (${repeat} runs each; wall and CPU seconds; node ${process.version}; data root ${dataRoot})`,
  '',
  '| source | users | items | interactions | tagged items | load wall (first / best) | load CPU (first / best) | split wall / CPU | test users |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (r) =>
      `| ${r.source} | ${r.stats!.users} | ${r.stats!.items} | ${r.stats!.interactions} | ${r.stats!.itemsWithTags} | ` +
      `${fmt(r.load_first.wall_s)} / ${fmt(r.load_best.wall_s)} | ${fmt(r.load_first.cpu_s)} / ${fmt(r.load_best.cpu_s)} | ` +
      `${fmt(r.split.wall_s)} / ${fmt(r.split.cpu_s)} | ${r.split.testUsers} |`,
  ),
  '',
  `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
];
const ml = rows.find((r) => r.source === 'ML-1M');
if (ml)
  lines.push(
    `ML-1M load ≤ 2 s: ${ml.load_first.wall_s <= 2 ? 'met' : 'NOT met'} (first run ${fmt(ml.load_first.wall_s)} s wall)`,
  );
const text = lines.join('\n');
console.log(text);

const outDir = resolve('bench/results');
mkdirSync(outDir, { recursive: true });
const result = {
  bench: 'load',
  date: new Date().toISOString(),
  node: process.version,
  dataRoot,
  repeat,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  rows,
};
writeFileSync(join(outDir, 'load.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(outDir, 'load.txt'), `${text}\n`);
console.log(`\nwrote ${join(outDir, 'load.json')} and load.txt`);
