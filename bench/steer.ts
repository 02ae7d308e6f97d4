/**
 * Per-request cost of the steering hot path on ML-1M MF (+ an SAE trained with the pipeline's defaults):
 * (a) plain top-10, (b) + explanations, (c) + one user-scope suppress policy, (d) + a global popularity
 * policy (item edits cached). µs/request, wall and CPU, ratios against (a); JSON to bench/results/steer.json.
 *
 *   npm run bench:steer -- --data-root ../shared/data [--requests 2000] [--cache /tmp/prism-steer]
 *
 * `--cache DIR` keeps the trained MF/SAE artifacts between runs (outside the repo: data licences).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatHelp, parseArgs } from '../src/cli/args.ts';
import type { ModelBundle } from '../src/ml/bundle.ts';
import type { Split } from '../src/ml/data/types.ts';
import { loadRecommender, saveRecommender } from '../src/ml/models/serialize.ts';
import type { Recommender } from '../src/ml/models/types.ts';
import { chosenSaeOptions } from '../src/ml/pipeline/options.ts';
import { labelStage, loadStage, makeBundle, recommenderStage, saeStage } from '../src/ml/pipeline/stages.ts';
import { encodeAll } from '../src/ml/sae/codes.ts';
import { loadSae, saveSae } from '../src/ml/sae/serialize.ts';
import type { SaePair } from '../src/ml/sae/types.ts';
import type { Policy } from '../src/ml/steer/policy.ts';
import { recommend } from '../src/ml/steer/recommend.ts';
import { dataDir } from './common.ts';

export interface BenchBundle {
  bundle: ModelBundle;
  split: Split;
  userCodes: Float32Array;
  itemCodes: Float32Array;
  seconds: { recommender: number; sae: number };
}

/**
 * The pipeline's own stages (src/ml/pipeline/stages.ts) with its default SAE setting: load + split,
 * recommender, SAE, codes, labels, bundle. `cacheDir` keeps the trained weights between runs.
 */
export function buildBundle(spec: string, kind: 'mf' | 'ncf', cacheDir?: string): BenchBundle {
  const data = loadStage(spec);
  const tag = `${data.dataset.name}-${kind}`;
  const cached = <T>(name: string, make: () => T, save: (x: T) => Uint8Array, load: (b: Uint8Array) => T) => {
    const path = cacheDir ? join(cacheDir, `${tag}.${name}.bin`) : null;
    if (path && existsSync(path)) return { value: load(new Uint8Array(readFileSync(path))), seconds: 0 };
    const t0 = performance.now();
    const value = make();
    const seconds = (performance.now() - t0) / 1000;
    if (path) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, save(value));
    }
    return { value, seconds };
  };
  const rec = cached<Recommender>(
    'recommender',
    () => recommenderStage(data, kind).recommender,
    saveRecommender,
    loadRecommender,
  );
  const model = rec.value;
  const sae = cached<SaePair>(
    'sae',
    () => saeStage(data, model, chosenSaeOptions(kind, data.dataset.name)).sae,
    saveSae,
    loadSae,
  );
  const { userEmb, itemEmb } = model.params;
  const codes = encodeAll(sae.value, userEmb, itemEmb, model.nUsers, model.nItems);
  const { analysis } = labelStage(data, sae.value, codes);
  return {
    bundle: makeBundle(data, model, sae.value, analysis.neurons),
    split: data.split,
    ...codes,
    seconds: { recommender: rec.seconds, sae: sae.seconds },
  };
}

const FLAG_SPEC = {
  'data-root': { type: 'string', default: '../shared/data', help: 'directory holding ml-1m/' },
  requests: { type: 'integer', default: 2000, min: 1, help: 'requests per case' },
  cache: {
    type: 'string',
    help: 'directory keeping the trained MF/SAE between runs (outside the repository)',
  },
} as const;

interface CaseResult {
  name: string;
  requests: number;
  wallUsPerRequest: number;
  cpuUsPerRequest: number;
  wallRatio: number;
  cpuRatio: number;
}

function timeCase(
  name: string,
  users: Int32Array,
  run: (u: number) => void,
): Omit<CaseResult, 'wallRatio' | 'cpuRatio'> {
  // Warm-up over the same users: JIT, the bundle's lazily built state (item codes, reference
  // activations, per-user memos) — the steady state a served model reaches after activation.
  for (const u of users) run(u);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const u of users) run(u);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    name,
    requests: users.length,
    wallUsPerRequest: wallUs / users.length,
    cpuUsPerRequest: (cpu.user + cpu.system) / users.length,
  };
}

async function main(): Promise<void> {
  const { flags, help } = parseArgs(process.argv.slice(2), FLAG_SPEC);
  if (help) {
    process.stdout.write(formatHelp('npm run bench:steer -- [options]', FLAG_SPEC));
    return;
  }
  const dataRoot = resolve(flags['data-root']);
  const requests = flags.requests;
  const cacheDir = flags.cache;
  const setupCpu = process.cpuUsage();
  const setupT0 = performance.now();
  const { bundle, userCodes, seconds } = buildBundle(
    `movielens-1m:${dataDir(dataRoot, 'ml-1m')}`,
    'mf',
    cacheDir,
  );
  const setupWall = (performance.now() - setupT0) / 1000;
  const setupCpuS = (process.cpuUsage(setupCpu).user + process.cpuUsage(setupCpu).system) / 1e6;
  const nUsers = bundle.recommender.nUsers;
  const latents = bundle.sae.user.config.latents;
  const users = Int32Array.from({ length: requests }, (_, r) => (r * 7919) % nUsers);

  // The settings measured by measureInterventions on ML-1M MF (report's interventions section): suppress
  // "Horror" (every neuron labelled with it) at strength 4, for the requesting user (worst case: it
  // always applies); popularity dampened at −0.2 on users, and at −1 on items (cached item matrix).
  const concept = bundle.neurons.some((n) => n.concept === 'Horror')
    ? 'Horror'
    : (bundle.neurons.find((n) => n.kind === 'concept')?.concept ?? '');
  const suppressFor = (u: number): Policy[] => [
    { kind: 'suppress', concept, strength: 4, users: [bundle.dataset.users.ids[u]] },
  ];
  const hasPopularity = bundle.neurons.some((n) => n.kind === 'popularity');
  const popNeuron = hasPopularity ? {} : { neuron: strongestPopularityNeuron(bundle) };
  const popItems: Policy = {
    kind: 'popularity',
    strength: -1,
    on: 'items',
    id: 'pop-items',
    version: 1,
    ...popNeuron,
  };
  const popUsers: Policy = {
    kind: 'popularity',
    strength: -0.2,
    on: 'users',
    id: 'pop-users',
    version: 1,
    ...popNeuron,
  };
  // Policies arrive per request as fresh JSON in the service: no per-object compile cache helps them.
  const fresh = (p: Policy[]): Policy[] => JSON.parse(JSON.stringify(p));

  const cases = [
    timeCase('a: plain top-10', users, (u) => recommend(bundle, u, { k: 10 })),
    timeCase('b: + explanation (top-5 neurons per item)', users, (u) =>
      recommend(bundle, u, { k: 10, explain: true }),
    ),
    timeCase('c: + user-scope suppress policy', users, (u) =>
      recommend(bundle, u, { k: 10, policies: fresh(suppressFor(u)) }),
    ),
    timeCase('d: + global popularity policy on items (cached)', users, (u) =>
      recommend(bundle, u, { k: 10, policies: fresh([popItems]) }),
    ),
    timeCase("d': + global popularity policy on users", users, (u) =>
      recommend(bundle, u, { k: 10, policies: fresh([popUsers]) }),
    ),
    timeCase('e: c + d + explanation + unsteered comparison', users, (u) =>
      recommend(bundle, u, {
        k: 10,
        explain: true,
        compare: true,
        policies: fresh([...suppressFor(u), popItems]),
      }),
    ),
  ];
  const base = cases[0];
  const results: CaseResult[] = cases.map((c) => ({
    ...c,
    wallRatio: c.wallUsPerRequest / base.wallUsPerRequest,
    cpuRatio: c.cpuUsPerRequest / base.cpuUsPerRequest,
  }));
  const userActive = countActive(userCodes, latents);
  const report = {
    dataset: bundle.dataset.name,
    recommender: 'mf',
    users: nUsers,
    items: bundle.recommender.nItems,
    dim: bundle.recommender.dim,
    latents,
    meanActiveUserNeurons: userActive,
    policies: { suppress: suppressFor(0)[0], popularityOnItems: popItems, popularityOnUsers: popUsers },
    setup: {
      wallSeconds: setupWall,
      cpuSeconds: setupCpuS,
      trainSeconds: seconds,
      cached: Boolean(cacheDir),
    },
    cases: results,
    note: 'Machine shared by several concurrent jobs: wall times are inflated; CPU time is the steadier figure.',
  };
  console.log(
    `ML-1M MF, ${nUsers} users × ${bundle.recommender.nItems} items, dim ${bundle.recommender.dim}, ${latents} latents`,
  );
  console.log(
    'case                                               wall µs/req   CPU µs/req   ×(a) wall  ×(a) CPU',
  );
  for (const r of results)
    console.log(
      `${r.name.padEnd(50)} ${r.wallUsPerRequest.toFixed(1).padStart(11)} ${r.cpuUsPerRequest.toFixed(1).padStart(12)} ${r.wallRatio.toFixed(2).padStart(10)} ${r.cpuRatio.toFixed(2).padStart(9)}`,
    );
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'steer.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

/** Fallback when no neuron is labelled 'popularity': the neuron whose item activations best track popularity. */
function strongestPopularityNeuron(bundle: ModelBundle): number {
  let best = 0;
  let bestPurity = -1;
  for (const n of bundle.neurons)
    if (n.itemDensity > 0 && 100 - n.popPct20 > bestPurity) {
      bestPurity = 100 - n.popPct20;
      best = n.index;
    }
  return best;
}

function countActive(codes: Float32Array, latents: number): number {
  let nz = 0;
  for (let r = 0; r < codes.length; r++) if (codes[r] !== 0) nz++;
  return nz / (codes.length / latents);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
