/**
 * Compute backends, measured in one run: the Float32Array loops against tfjs's wasm backend (and CUDA
 * through tfjs-node-gpu where it is installed), on ML-1M and Last.FM, for SAE training on MF with the
 * pipeline's default SAE setting and for NCF's MLP:
 *   (1) SAE training end to end on the same recommender's embeddings, once per kernel: wall seconds, the
 *       ratio to the loops, and the held-out fidelity (RBO@30 / Kendall τ) each SAE reaches
 *   (2) the encoder product alone (`encodeSparse`: pre-activations + TopK) at the batch shapes (1) used:
 *       ms per batch and GFLOP/s of the product
 *   (3) NCF's MLP (hidden layers 64→32→16→1): one user scored against the whole catalogue (`scoreAll`) and
 *       one ~4096-sample training batch's forward and backward (`BatchKernel.run`, layer-1 halves
 *       included), each kernel on the same freshly initialised weights
 * JSON to bench/results/compute.json. This is the benchmark that decides where tfjs-wasm is used
 * (src/ml/pipeline/compute.ts): SAE training's encoder products and NCF's MLP, where it wins; serving
 * stays on the loops.
 *
 *   npm run bench:compute -- --data-root ../shared/data [--datasets ml-1m,lastfm] [--repeat 20]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlError } from '../src/ml/core/errors.ts';
import { Rng } from '../src/ml/core/rng.ts';
import { BatchKernel } from '../src/ml/models/ncf/batch.ts';
import { NCF_HIDDEN, ncfScorer } from '../src/ml/models/ncf/scorer.ts';
import { defaultDim } from '../src/ml/models/train.ts';
import type { NcfModel } from '../src/ml/models/types.ts';
import { type DenseKernel, jsKernel } from '../src/ml/nn/dense-kernel.ts';
import { initMlp } from '../src/ml/nn/mlp.ts';
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
  ms_per_batch: number;
  batch_samples: number;
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

// (3) NCF's MLP on each kernel, with freshly initialised weights of the dataset's shape (the shapes set the
// time, not the values): one user scored against every item (`scoreAll`), and one training batch's forward
// and backward (`BatchKernel.run`, whole users up to ~4096 samples, as trainNcf batches them).
for (const spec of specs) {
  const data = loadStage(spec);
  const { train } = data.split;
  const model = randomNcf(train.rows, train.cols, defaultDim(data.dataset.name));
  const user = model.params.userEmb.subarray(0, model.dim);
  const scores = new Float32Array(train.cols);
  for (const kernel of kernels) {
    const scorer = ncfScorer(model, kernel);
    const batch = new BatchKernel(model, kernel);
    const sampleRng = new Rng(2);
    const oneBatch = () => {
      batch.begin();
      for (let u = 0; u < train.rows && batch.nSamples < 4096; u++) batch.addUser(train, u, 2, sampleRng);
      batch.run();
    };
    mlp.push({
      dataset: data.dataset.name,
      items: train.cols,
      kernel: kernel.name,
      ms_per_user: fastest(flags.repeat, () => scorer.scoreAll(0, user, model.params.itemEmb, scores)),
      ms_per_batch: fastest(flags.repeat, oneBatch),
      batch_samples: batch.nSamples,
    });
  }
}

function randomNcf(nUsers: number, nItems: number, dim: number): NcfModel {
  const rng = new Rng(1);
  const emb = (rows: number) => Float32Array.from({ length: rows * dim }, () => 0.1 * rng.normal());
  const params = { userEmb: emb(nUsers), itemEmb: emb(nItems), layers: initMlp(2 * dim, NCF_HIDDEN, rng) };
  return { kind: 'ncf', nUsers, nItems, dim, hidden: [...NCF_HIDDEN], params };
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
console.log("\n(3) NCF's MLP: one user × every item, one training batch (fastest of --repeat)");
console.log('dataset          items  kernel     ms/user  batch  ms/batch');
for (const m of mlp)
  console.log(
    `${m.dataset.padEnd(16)} ${String(m.items).padStart(5)}  ${m.kernel.padEnd(10)} ${f(m.ms_per_user, 2).padStart(7)} ${String(m.batch_samples).padStart(6)} ${f(m.ms_per_batch, 2).padStart(9)}`,
  );
const out = join(ROOT, 'bench/results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'compute.json'),
  `${JSON.stringify({ bench: 'compute', date: new Date().toISOString(), cpus: cpus().length, node: process.version, training, products, ncf_mlp: mlp }, null, 2)}\n`,
);
console.log('\nJSON: bench/results/compute.json');
