/**
 * NCF training: BCE on each user's positives plus `negatives` uniformly sampled non-positives per
 * positive, Adam (lazy sparse rows for the embedding tables) or SGD, L2 on weights and touched rows.
 *
 * Mini-batches are whole users: a batch gathers consecutive users (shuffled each epoch) until it holds
 * about `batchSize` samples. Layer 1 is split as W₁ᵤ·u + W₁ᵢ·i, computed once per distinct user and item
 * in the batch; its gradients are accumulated per distinct row and applied once, so a sample costs only
 * the hidden layers.
 *
 * Recipe (why it is fast): the embeddings start from a ~2 s iALS MF of the same dim (the NeuMF
 * pre-training trick), so the MLP only has to learn to read good embeddings; then Adam at 6e-3 (embeddings
 * 6e-4) decaying linearly to 10 %, 2 negatives per positive, batches of ~4096 samples, a few epochs. A pure-JS MLP
 * step costs ~8 µs per sample, so on ML-1M (2.9M samples per epoch) the default 2 epochs take ~45 CPU
 * seconds and beat the paper code's 30 epochs (HR@10 0.567, NDCG@10 0.145).
 */
import { MlError } from '../../core/errors.ts';
import type { ProgressCallback } from '../../core/progress.ts';
import { Rng } from '../../core/rng.ts';
import type { Csr } from '../../data/types.ts';
import type { DenseKernel } from '../../nn/dense-kernel.ts';
import { initMlp } from '../../nn/mlp.ts';
import { Adam } from '../../optim/adam.ts';
import { type MfTrainOptions, trainMf } from '../mf/train.ts';
import type { NcfModel } from '../types.ts';
import { BatchKernel } from './batch.ts';
import { NCF_HIDDEN } from './scorer.ts';

/** With Adam and pre-trained embeddings, the default embedding learning rate is lr / this. */
const PRETRAINED_EMB_LR_DIVISOR = 10;

export interface NcfTrainOptions {
  dim: number;
  /** Hidden layer widths, default [64, 32, 16]. */
  hidden?: readonly number[];
  /**
   * Default: a budget of about 6M samples (positives plus their negatives) — an MLP step costs the same
   * on any dataset, so large datasets get few epochs and small ones more — clamped to [2, 4]. With MF
   * pre-training that is enough: ML-1M gets 2, Last.FM 4.
   */
  epochs?: number;
  lr?: number; // default 6e-3 (Adam), 0.05 (SGD)
  /**
   * Learning rate of the embedding tables. Default with Adam and pre-trained embeddings (MF
   * pre-training or `init`): lr / 10 — they are good already, and a slower rate lets the MLP learn to
   * read them without scrambling their geometry (ML-1M: HR@10 0.589 vs 0.593, NDCG@10 0.155 both, while
   * the 30-nearest-neighbour cosine coherence of the item embeddings, which bounds an SAE's
   * monosemanticity score, stays 0.81 instead of falling to 0.75). Otherwise lr. With SGD a row steps by
   * embLr × its summed per-sample gradient, dense layers by lr × the batch-mean gradient.
   */
  embLr?: number;
  /** L2 coefficient on MLP weights (not biases) and on the embedding rows a batch touches. Default 0. */
  l2?: number;
  /** Sampled negatives per positive, default 2. */
  negatives?: number;
  /** Approximate samples per mini-batch (batches are whole users), default 4096. */
  batchSize?: number;
  optimizer?: 'adam' | 'sgd';
  /** Learning-rate schedule: 'linear' (default) decays both rates linearly to 10% over training. */
  schedule?: 'constant' | 'linear';
  seed?: number; // default 0
  /** Std of the random embedding init, default 0.1. Ignored when `init` is given. */
  initStd?: number;
  /** Starting embeddings (e.g. from an MF model — the NeuMF pre-training trick); copied. */
  init?: { userEmb: Float32Array; itemEmb: Float32Array };
  /**
   * Without `init`: 'mf' (default) starts the embeddings from a quickly trained MF of the same dim
   * (`trainMf`, iALS, ~2 s on ML-1M), so the MLP only has to learn to read them; 'none' starts random.
   */
  pretrain?: 'mf' | 'none';
  /** Options for the MF pre-training (dim and seed come from these options). */
  mf?: Partial<MfTrainOptions>;
  onProgress?: ProgressCallback;
  /** Called after each epoch with the model being trained (e.g. to validate); must not modify it. */
  onEpochEnd?: (model: NcfModel, epoch: number) => void;
  signal?: AbortSignal;
  /** What runs the hidden layers' forward and backward (default the loops; a kernel that trains them). */
  kernel?: DenseKernel;
}

export function trainNcf(train: Csr, opts: NcfTrainOptions): NcfModel {
  const dim = opts.dim;
  const hidden = opts.hidden ?? NCF_HIDDEN;
  const optimizer = opts.optimizer ?? 'adam';
  const lr = opts.lr ?? (optimizer === 'adam' ? 6e-3 : 0.05);
  const pretrained = opts.init !== undefined || (opts.pretrain ?? 'mf') === 'mf';
  const embLr = opts.embLr ?? (pretrained && optimizer === 'adam' ? lr / PRETRAINED_EMB_LR_DIVISOR : lr);
  const l2 = opts.l2 ?? 0;
  const ratio = opts.negatives ?? 2;
  const batchSize = opts.batchSize ?? 4096;
  const schedule = opts.schedule ?? 'linear';
  const epochs = opts.epochs ?? defaultEpochs(train.indices.length * (1 + ratio));
  if (!(Number.isInteger(dim) && dim > 0))
    throw new MlError('BAD_CONFIG', `dim must be a positive integer, got ${dim}`, 'dim');
  if (!(Number.isInteger(epochs) && epochs >= 0))
    throw new MlError('BAD_CONFIG', `epochs must be an integer ≥ 0, got ${epochs}`, 'epochs');
  if (!(lr > 0)) throw new MlError('BAD_CONFIG', `lr must be > 0, got ${lr}`, 'lr');
  if (!(Number.isInteger(ratio) && ratio >= 0))
    throw new MlError('BAD_CONFIG', `negatives must be an integer ≥ 0, got ${ratio}`, 'negatives');
  if (hidden.length === 0 || hidden.some((h) => !(Number.isInteger(h) && h > 0)))
    throw new MlError('BAD_CONFIG', `hidden must be positive integers, got [${hidden}]`, 'hidden');

  const started = performance.now();
  const nU = train.rows;
  const nI = train.cols;
  const rng = new Rng(opts.seed ?? 0);
  const initRng = rng.fork();
  const sampleRng = rng.fork();

  let userEmb: Float32Array;
  let itemEmb: Float32Array;
  if (opts.init) {
    if (opts.init.userEmb.length !== nU * dim || opts.init.itemEmb.length !== nI * dim)
      throw new MlError(
        'BAD_CONFIG',
        `init embeddings must be [${nU} × ${dim}] and [${nI} × ${dim}]`,
        'init',
      );
    userEmb = Float32Array.from(opts.init.userEmb);
    itemEmb = Float32Array.from(opts.init.itemEmb);
  } else if ((opts.pretrain ?? 'mf') === 'mf') {
    opts.onProgress?.({
      stage: 'recommender',
      fraction: 0,
      seconds: 0,
      message: 'MF pre-training of the embeddings',
    });
    const mf = trainMf(train, { ...opts.mf, dim, seed: opts.seed ?? 0, signal: opts.signal });
    userEmb = mf.params.userEmb;
    itemEmb = mf.params.itemEmb;
  } else {
    const std = opts.initStd ?? 0.1;
    userEmb = new Float32Array(nU * dim);
    itemEmb = new Float32Array(nI * dim);
    for (let k = 0; k < userEmb.length; k++) userEmb[k] = initRng.normal() * std;
    for (let k = 0; k < itemEmb.length; k++) itemEmb[k] = initRng.normal() * std;
  }
  const layers = initMlp(2 * dim, hidden, initRng);
  const model: NcfModel = {
    kind: 'ncf',
    nUsers: nU,
    nItems: nI,
    dim,
    hidden: [...hidden],
    params: { userEmb, itemEmb, layers },
  };

  const step = makeStepper(model, optimizer, lr, embLr, l2);
  const kernel = new BatchKernel(model, opts.kernel);
  const users = new Int32Array(nU);
  let nActive = 0;
  for (let u = 0; u < nU; u++) if (train.indptr[u + 1] > train.indptr[u]) users[nActive++] = u;
  const order = users.subarray(0, nActive);

  for (let epoch = 0; epoch < epochs; epoch++) {
    opts.signal?.throwIfAborted();
    sampleRng.shuffle(order);
    let lossSum = 0;
    let samples = 0;
    let start = 0;
    while (start < order.length) {
      let end = start;
      let count = 0;
      while (end < order.length && count < batchSize) {
        const u = order[end++];
        count += (train.indptr[u + 1] - train.indptr[u]) * (1 + ratio);
      }
      kernel.begin();
      for (let k = start; k < end; k++) kernel.addUser(train, order[k], ratio, sampleRng);
      lossSum += kernel.run();
      samples += kernel.nSamples;
      const progress = (epoch + start / order.length) / epochs;
      step(kernel, schedule === 'linear' ? 1 - (1 - FINAL_RATE) * progress : 1);
      start = end;
    }
    opts.onProgress?.({
      stage: 'recommender',
      epoch: epoch + 1,
      epochs,
      loss: lossSum / Math.max(1, samples),
      fraction: (epoch + 1) / epochs,
      seconds: (performance.now() - started) / 1000,
    });
    opts.onEpochEnd?.(model, epoch + 1);
  }
  return model;
}

const SAMPLE_BUDGET = 6e6;
const FINAL_RATE = 0.1;

/** Epochs that fit SAMPLE_BUDGET samples, clamped to [2, 4]. */
export function defaultEpochs(samplesPerEpoch: number): number {
  return Math.max(2, Math.min(4, Math.round(SAMPLE_BUDGET / Math.max(1, samplesPerEpoch))));
}

/** One optimiser step; `rate` (0–1] scales both learning rates (the schedule). */
type Stepper = (kernel: BatchKernel, rate: number) => void;

/** Applies one optimiser step from the kernel's gradients (adding L2), then zeroes them. */
function makeStepper(model: NcfModel, kind: 'adam' | 'sgd', lr: number, embLr: number, l2: number): Stepper {
  const { layers, userEmb, itemEmb } = model.params;
  const dim = model.dim;
  const dense = layers.flatMap((l) => [l.W, l.b]);
  const denseAdam = kind === 'adam' ? new Adam(dense, { lr }) : null;
  const embAdam = kind === 'adam' ? new Adam([userEmb, itemEmb], { lr: embLr }) : null;
  // Row gradients: the batch-mean loss gradient × scale, plus L2 on the row.
  const finishRowGrads = (g: Float32Array, p: Float32Array, rows: number[], scale: number) => {
    if (l2 === 0 && scale === 1) return;
    for (const r of rows) for (let j = r * dim; j < (r + 1) * dim; j++) g[j] = g[j] * scale + l2 * p[j];
  };
  const clearRows = (g: Float32Array, rows: number[]) => {
    for (const r of rows) g.fill(0, r * dim, (r + 1) * dim);
  };
  const sgdRows = (p: Float32Array, g: Float32Array, rows: number[], rate: number) => {
    for (const r of rows) for (let j = r * dim; j < (r + 1) * dim; j++) p[j] -= rate * embLr * g[j];
  };
  return (k, rate) => {
    const gDense = k.grads.flatMap((g) => [g.W, g.b]);
    if (l2 !== 0)
      for (let l = 0; l < layers.length; l++) {
        const W = layers[l].W;
        const g = k.grads[l].W;
        for (let j = 0; j < W.length; j++) g[j] += l2 * W[j];
      }
    // SGD steps embedding rows by their summed per-sample gradient (as per-sample SGD would; with the
    // batch mean, rows seen a few times per batch would barely move); Adam normalises scale away.
    const rowScale = kind === 'sgd' ? k.nSamples : 1;
    finishRowGrads(k.gUser, userEmb, k.users, rowScale);
    finishRowGrads(k.gItem, itemEmb, k.items, rowScale);
    if (denseAdam && embAdam) {
      denseAdam.step(gDense, rate * lr);
      embAdam.tick();
      embAdam.stepRows(0, k.gUser, k.users, dim, rate * embLr);
      embAdam.stepRows(1, k.gItem, k.items, dim, rate * embLr);
    } else {
      for (let t = 0; t < dense.length; t++) {
        const p = dense[t];
        const g = gDense[t];
        for (let j = 0; j < p.length; j++) p[j] -= rate * lr * g[j];
      }
      sgdRows(userEmb, k.gUser, k.users, rate);
      sgdRows(itemEmb, k.gItem, k.items, rate);
    }
    for (const g of gDense) g.fill(0);
    clearRows(k.gUser, k.users);
    clearRows(k.gItem, k.items);
  };
}
