/**
 * Compute backends for SAE training, measured in one run: the Float32Array loops against tfjs's wasm
 * backend (and CUDA through tfjs-node-gpu where it is installed), on ML-1M and Last.FM MF with the
 * pipeline's default SAE setting:
 *   (1) SAE training end to end on the same recommender's embeddings, once per kernel: wall seconds, the
 *       ratio to the loops, and the held-out fidelity (RBO@30 / Kendall τ) each SAE reaches
 *   (2) the encoder product alone (`encodeSparse`: pre-activations + TopK) at the batch shapes (1) used:
 *       ms per batch and GFLOP/s of the product
 *   (3) not wired in yet, the next candidate: NCF's MLP hidden layers (64→32→16→1) scoring one user against
 *       the whole catalogue, as `scoreAll` runs them (blocks of 128 rows on the loops) and in one call a
 *       layer on each other kernel; freshly initialised weights (the shapes set the time, not the values)
 * JSON to bench/results/compute.json. This is the benchmark that decides where tfjs-wasm is used
 * (src/ml/nn/dense-kernel.ts): only in training's encoder products, where it wins.
 *
 *   npm run bench:compute -- --data-root ../shared/data [--datasets ml-1m,lastfm] [--repeat 20]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlError } from '../src/ml/core/errors.ts';
import { Rng } from '../src/ml/core/rng.ts';
import { type DenseKernel, jsKernel } from '../src/ml/nn/dense-kernel.ts';
import { initMlp } from '../src/ml/nn/mlp.ts';
import { MlpBatch } from '../src/ml/nn/mlp-batch.ts';
import { loadDenseKernel } from '../src/ml/nn/tfjs-kernel.ts';
import { chosenSaeOptions, sizedForCatalogue } from '../src/ml/pipeline/options.ts';
import { evaluateStage, loadStage, recommenderStage, saeStage } from '../src/ml/pipeline/stages.ts';
import { allocSparseCodes, encodeSparse, normaliseRows } from '../src/ml/sae/sparse.ts';
import type { Sae } from '../src/ml/sae/types.ts';
import { benchFlags, DATA_ROOT_FLAG, dataDir } from './common.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const flags = benchFlags('npm run bench:compute -- [options]', {
  'data-root': DATA_ROOT_FLAG,
  datasets: { type: 'string', default: 'ml-1m,lastfm', help: 'comma-separated: ml-1m, lastfm' },
  repeat: { type: 'integer', default: 20, min: 1, help: 'timed calls per batch shape in (2)' },
} as const);
const root = resolve(flags['data-root']);
const SPECS: Record<string, () => string> = {
  'ml-1m': () => `movielens-1m:${dataDir(root, 'ml-1m')}`,
  lastfm: () => `lastfm-hetrec:${dataDir(root, 'hetrec2011-lastfm-2k')}?minListeners=5&topTags=4`,
};
const names = flags.datasets.split(',').map((s) => s.trim());
for (const n of names)
  if (!SPECS[n])
    throw new MlError('BAD_CONFIG', `--datasets: unknown "${n}" (known: ml-1m, lastfm)`, 'datasets');
const specs = names.map((n) => SPECS[n]()); // every directory checked before any work

// Every kernel this machine has: the loops, wasm, and CUDA when tfjs-node-gpu is installed.
const fast = await loadDenseKernel('auto');
const kernels: DenseKernel[] = [
  jsKernel,
  ...(fast.name === 'wasm' ? [] : [await loadDenseKernel('wasm')]),
  fast,
];

interface TrainingRow {
  dataset: string;
  kernel: string;
  sae_s: number;
  ratio_to_js: number;
  'rbo@30': number;
  'kendall@30': number;
}
interface ProductRow {
  dataset: string;
  shape: string;
  batches_per_run: number;
  kernel: string;
  ms_per_batch: number;
  gflops: number;
}
interface MlpRow {
  dataset: string;
  items: number;
  kernel: string;
  ms_per_user: number;
}
const training: TrainingRow[] = [];
const products: ProductRow[] = [];
const mlp: MlpRow[] = [];

/** Fastest of `repeat` timed calls after one warm-up, in ms. */
function fastest(repeat: number, fn: () => void): number {
  fn();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

// (3) NCF's hidden layers for one user against every item, the first layer's output given (scoreAll
// computes it from cached halves): ReLU, then each layer's product, ReLU between them.
const relu = (a: Float32Array) => {
  for (let t = 0; t < a.length; t++) if (!(a[t] > 0)) a[t] = 0;
};
for (const spec of specs) {
  const data = loadStage(spec);
  const nItems = data.dataset.items.ids.length;
  const layers = initMlp(40, [64, 32, 16], new Rng(0));
  const first = new Rng(1);
  const h0 = Float32Array.from({ length: nItems * 64 }, () => first.nextFloat() - 0.5);
  const loops = new MlpBatch(layers, 128);
  const blocked = () => {
    for (let i0 = 0; i0 < nItems; i0 += 128) {
      const rows = Math.min(128, nItems - i0);
      loops.pre[0].set(h0.subarray(i0 * 64, (i0 + rows) * 64));
      loops.forward(rows);
    }
  };
  mlp.push({
    dataset: data.dataset.name,
    items: nItems,
    kernel: 'js',
    ms_per_user: fastest(flags.repeat, blocked),
  });
  const hidden = layers.slice(1);
  const acts = [new Float32Array(nItems * 64), ...hidden.map((l) => new Float32Array(nItems * l.outDim))];
  for (const kernel of kernels.filter((k) => k !== jsKernel)) {
    const oneCall = () => {
      acts[0].set(h0);
      relu(acts[0]);
      for (const [x, l] of hidden.entries()) {
        kernel.linear(acts[x], l.W, l.b, nItems, l.outDim, l.inDim, acts[x + 1]);
        if (x + 1 < hidden.length) relu(acts[x + 1]);
      }
    };
    mlp.push({
      dataset: data.dataset.name,
      items: nItems,
      kernel: kernel.name,
      ms_per_user: fastest(flags.repeat, oneCall),
    });
  }
}

for (const spec of specs) {
  const data = loadStage(spec);
  const name = data.dataset.name;
  const rec = recommenderStage(data, 'mf').recommender;
  const saeOpts = sizedForCatalogue(
    chosenSaeOptions('mf', name),
    'concepts',
    undefined,
    data.dataset.items.ids.length,
  );
  const shapes = new Map<string, { n: number; count: number }>();
  let jsSeconds = 0;
  let lastSae: Sae | null = null;
  for (const kernel of kernels) {
    // The loops run as training runs them (no kernel given); others through a wrapper noting the shapes.
    const recording: DenseKernel = {
      name: kernel.name,
      linear(A, B, bias, n, m, k, out) {
        const key = `${n}×${k}·${k}×${m}`;
        const s = shapes.get(key) ?? { n, count: 0 };
        s.count++;
        shapes.set(key, s);
        kernel.linear(A, B, bias, n, m, k, out);
      },
    };
    const trained = saeStage(data, rec, kernel === jsKernel ? saeOpts : { ...saeOpts, kernel: recording });
    if (kernel === jsKernel) jsSeconds = trained.seconds;
    const e = evaluateStage(data, rec, trained);
    training.push({
      dataset: name,
      kernel: trained.compute,
      sae_s: trained.seconds,
      ratio_to_js: jsSeconds / trained.seconds,
      'rbo@30': e.fidelity.rbo,
      'kendall@30': e.fidelity.kendall,
    });
    lastSae = trained.sae.item;
  }
  const runs = kernels.length - 1; // the runs that recorded shapes
  const sae = lastSae as Sae;
  const { inputDim: d, latents: m } = sae.config;
  for (const [shape, { n, count }] of [...shapes].sort((a, b) => b[1].count - a[1].count).slice(0, 3)) {
    const rows = Int32Array.from({ length: n }, (_, r) => r % rec.nItems);
    const xh = new Float32Array(n * d);
    normaliseRows(sae, rec.params.itemEmb, rows, xh);
    const codes = allocSparseCodes(n, sae);
    for (const kernel of kernels) {
      const best = fastest(flags.repeat, () => encodeSparse(sae, xh, n, codes, kernel));
      products.push({
        dataset: name,
        shape,
        batches_per_run: Math.round(count / runs),
        kernel: kernel.name,
        ms_per_batch: best,
        gflops: (2 * n * d * m) / best / 1e6,
      });
    }
  }
}

const f = (x: number, digits: number) => x.toFixed(digits);
console.log(`\n(1) SAE training, ML MF default setting (${cpus().length} CPUs)`);
console.log('dataset          kernel       SAE s   ×js    RBO@30  Kendall@30');
for (const r of training)
  console.log(
    `${r.dataset.padEnd(16)} ${r.kernel.padEnd(10)} ${f(r.sae_s, 1).padStart(7)} ${f(r.ratio_to_js, 2).padStart(5)}  ${f(r['rbo@30'], 4)}  ${f(r['kendall@30'], 4)}`,
  );
console.log('\n(2) encoder product + TopK per batch (fastest of --repeat)');
console.log('dataset          shape                 batches  kernel       ms     GFLOP/s');
for (const p of products)
  console.log(
    `${p.dataset.padEnd(16)} ${p.shape.padEnd(21)} ${String(p.batches_per_run).padStart(7)}  ${p.kernel.padEnd(10)} ${f(p.ms_per_batch, 2).padStart(6)} ${f(p.gflops, 1).padStart(8)}`,
  );
console.log(
  "\n(3) next candidate, not wired in: NCF's hidden layers, one user × every item (fastest of --repeat)",
);
console.log('dataset          items  kernel       ms');
for (const m of mlp)
  console.log(
    `${m.dataset.padEnd(16)} ${String(m.items).padStart(5)}  ${m.kernel.padEnd(10)} ${f(m.ms_per_user, 2).padStart(6)}`,
  );
const out = join(ROOT, 'bench/results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'compute.json'),
  `${JSON.stringify({ bench: 'compute', date: new Date().toISOString(), cpus: cpus().length, node: process.version, training, products, ncf_mlp: mlp }, null, 2)}\n`,
);
console.log('\nJSON: bench/results/compute.json');
