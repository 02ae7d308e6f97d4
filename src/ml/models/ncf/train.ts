/**
 * NCF training: BCE on each user's positives plus `negatives` uniformly sampled non-positives per
 * positive, Adam (lazy sparse rows for the embedding tables) or SGD, L2 on weights and touched rows.
 *
 * Mini-batches are whole users: a batch gathers consecutive users (shuffled each epoch) until it holds
 * about `batchSize` samples. Layer 1 is split as W₁ᵤ·u + W₁ᵢ·i, computed once per distinct user and item
 * in the batch; its gradients are accumulated per distinct row and applied once, so a sample costs only
 * the hidden layers.
 */
import { MlError } from '../../core/errors.ts';
import type { ProgressCallback } from '../../core/progress.ts';
import { Rng } from '../../core/rng.ts';
import type { Csr } from '../../data/types.ts';
import {
  backwardToFirst,
  forwardFromFirst,
  initMlp,
  type LayerGrads,
  MlpTape,
  zeroGrads,
} from '../../nn/mlp.ts';
import { Adam } from '../../optim/adam.ts';
import type { DenseLayer, NcfModel } from '../types.ts';

export interface NcfTrainOptions {
  dim: number;
  /** Hidden layer widths, default [64, 32, 16]. */
  hidden?: number[];
  epochs?: number; // default 4
  lr?: number; // default 3e-3 (Adam), 0.05 (SGD)
  /** Learning rate of the embedding tables, default lr. */
  embLr?: number;
  /** L2 coefficient on MLP weights (not biases) and on the embedding rows a batch touches. Default 0. */
  l2?: number;
  /** Sampled negatives per positive, default 2. */
  negatives?: number;
  /** Approximate samples per mini-batch (batches are whole users), default 4096. */
  batchSize?: number;
  optimizer?: 'adam' | 'sgd';
  seed?: number; // default 0
  /** Std of the random embedding init, default 0.1. Ignored when `init` is given. */
  initStd?: number;
  /** Starting embeddings (e.g. from a quickly trained MF — the NeuMF pre-training trick); copied. */
  init?: { userEmb: Float32Array; itemEmb: Float32Array };
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export function trainNcf(train: Csr, opts: NcfTrainOptions): NcfModel {
  const dim = opts.dim;
  const hidden = opts.hidden ?? [64, 32, 16];
  const epochs = opts.epochs ?? 4;
  const optimizer = opts.optimizer ?? 'adam';
  const lr = opts.lr ?? (optimizer === 'adam' ? 3e-3 : 0.05);
  const embLr = opts.embLr ?? lr;
  const l2 = opts.l2 ?? 0;
  const ratio = opts.negatives ?? 2;
  const batchSize = opts.batchSize ?? 4096;
  if (!(Number.isInteger(dim) && dim > 0))
    throw new MlError('BAD_CONFIG', `dim must be a positive integer, got ${dim}`, 'dim');
  if (!(Number.isInteger(epochs) && epochs >= 0))
    throw new MlError('BAD_CONFIG', `epochs must be an integer ≥ 0, got ${epochs}`, 'epochs');
  if (!(lr > 0)) throw new MlError('BAD_CONFIG', `lr must be > 0, got ${lr}`, 'lr');
  if (!(Number.isInteger(ratio) && ratio >= 0))
    throw new MlError('BAD_CONFIG', `negatives must be an integer ≥ 0, got ${ratio}`, 'negatives');
  if (hidden.length === 0 || hidden.some((h) => !(Number.isInteger(h) && h > 0)))
    throw new MlError('BAD_CONFIG', `hidden must be positive integers, got [${hidden}]`, 'hidden');

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
  const kernel = new BatchKernel(model);
  const started = performance.now();
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
      step(kernel);
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
  }
  return model;
}

/**
 * One mini-batch's forward/backward. Holds, for the batch's distinct users and items, the layer-1 halves
 * (user half includes b₁) and their accumulated deltas, then turns those into parameter gradients.
 */
class BatchKernel {
  private readonly dim: number;
  private readonly H: number;
  private readonly layers: DenseLayer[];
  private readonly tape: MlpTape;
  readonly grads: LayerGrads[];
  readonly gUser: Float32Array; // [nUsers × dim], only touched rows non-zero
  readonly gItem: Float32Array; // [nItems × dim]
  readonly users: number[] = [];
  readonly items: number[] = [];
  private readonly uHalf: Float32Array; // [nUsers × H]
  private readonly iHalf: Float32Array; // [nItems × H]
  private readonly uDelta: Float32Array; // [nUsers × H]
  private readonly iDelta: Float32Array; // [nItems × H]
  private readonly itemStamp: Int32Array; // batch number that last computed an item's half
  private readonly posStamp: Int32Array; // user+1 whose positives are marked
  private sampleUser = new Int32Array(0);
  private sampleItem = new Int32Array(0);
  private sampleLabel = new Uint8Array(0);
  nSamples = 0;
  private batchNo = 0;

  constructor(private readonly model: NcfModel) {
    this.dim = model.dim;
    this.layers = model.params.layers;
    this.H = this.layers[0].outDim;
    this.tape = new MlpTape(this.layers);
    this.grads = zeroGrads(this.layers);
    this.gUser = new Float32Array(model.nUsers * this.dim);
    this.gItem = new Float32Array(model.nItems * this.dim);
    this.uHalf = new Float32Array(model.nUsers * this.H);
    this.iHalf = new Float32Array(model.nItems * this.H);
    this.uDelta = new Float32Array(model.nUsers * this.H);
    this.iDelta = new Float32Array(model.nItems * this.H);
    this.itemStamp = new Int32Array(model.nItems).fill(-1);
    this.posStamp = new Int32Array(model.nItems);
  }

  begin(): void {
    this.batchNo++;
    this.users.length = 0;
    this.items.length = 0;
    this.nSamples = 0;
  }

  private push(u: number, i: number, y: number): void {
    if (this.nSamples === this.sampleUser.length) {
      const cap = Math.max(1024, this.nSamples * 2);
      const su = new Int32Array(cap);
      su.set(this.sampleUser);
      const si = new Int32Array(cap);
      si.set(this.sampleItem);
      const sl = new Uint8Array(cap);
      sl.set(this.sampleLabel);
      this.sampleUser = su;
      this.sampleItem = si;
      this.sampleLabel = sl;
    }
    this.sampleUser[this.nSamples] = u;
    this.sampleItem[this.nSamples] = i;
    this.sampleLabel[this.nSamples] = y;
    this.nSamples++;
  }

  /** Adds user u's positives and `ratio` sampled negatives per positive to the batch. */
  addUser(train: Csr, u: number, ratio: number, rng: Rng): void {
    const { indptr, indices } = train;
    const a = indptr[u];
    const b = indptr[u + 1];
    const nI = train.cols;
    const mark = u + 1;
    for (let p = a; p < b; p++) {
      this.posStamp[indices[p]] = mark;
      this.push(u, indices[p], 1);
    }
    if (b - a < nI) {
      const nNeg = (b - a) * ratio;
      for (let k = 0; k < nNeg; k++) {
        let j = rng.nextInt(nI);
        while (this.posStamp[j] === mark) j = rng.nextInt(nI);
        this.push(u, j, 0);
      }
    }
    this.users.push(u);
    const { dim, H } = this;
    const { W, b: b0, inDim } = this.layers[0];
    const e = this.model.params.userEmb;
    const x = u * dim;
    const y = u * H;
    for (let o = 0; o < H; o++) {
      const row = o * inDim;
      let s = b0[o];
      for (let j = 0; j < dim; j++) s += W[row + j] * e[x + j];
      this.uHalf[y + o] = s;
      this.uDelta[y + o] = 0;
    }
  }

  private touchItem(i: number): void {
    if (this.itemStamp[i] === this.batchNo) return;
    this.itemStamp[i] = this.batchNo;
    this.items.push(i);
    const { dim, H } = this;
    const { W, inDim } = this.layers[0];
    const e = this.model.params.itemEmb;
    const x = i * dim;
    const y = i * H;
    for (let o = 0; o < H; o++) {
      const row = o * inDim + dim;
      let s = 0;
      for (let j = 0; j < dim; j++) s += W[row + j] * e[x + j];
      this.iHalf[y + o] = s;
      this.iDelta[y + o] = 0;
    }
  }

  /** Forward/backward over the batch's samples (mean BCE); returns the summed loss. */
  run(): number {
    const { H, layers, tape, grads } = this;
    const n = this.nSamples;
    const scale = 1 / Math.max(1, n);
    const pre = tape.pre[0];
    let loss = 0;
    for (let s = 0; s < n; s++) this.touchItem(this.sampleItem[s]);
    for (let s = 0; s < n; s++) {
      const uo = this.sampleUser[s] * H;
      const io = this.sampleItem[s] * H;
      for (let o = 0; o < H; o++) pre[o] = this.uHalf[uo + o] + this.iHalf[io + o];
      const z = forwardFromFirst(layers, tape);
      const y = this.sampleLabel[s];
      // BCE with logits: softplus(z) − y·z, computed stably; d/dz = σ(z) − y.
      const ez = Math.exp(-Math.abs(z));
      loss += Math.max(z, 0) - y * z + Math.log1p(ez);
      const sig = z >= 0 ? 1 / (1 + ez) : ez / (1 + ez);
      const d0 = backwardToFirst(layers, tape, (sig - y) * scale, grads);
      for (let o = 0; o < H; o++) {
        const d = d0[o];
        if (d === 0) continue;
        this.uDelta[uo + o] += d;
        this.iDelta[io + o] += d;
      }
    }
    this.firstLayerGrads();
    return loss;
  }

  /** Turns per-row layer-1 deltas into W₁/b₁ gradients and embedding-row gradients. */
  private firstLayerGrads(): void {
    const { dim, H } = this;
    const { W, inDim } = this.layers[0];
    const gW = this.grads[0].W;
    const gb = this.grads[0].b;
    const rowsOf = (
      rows: number[],
      emb: Float32Array,
      delta: Float32Array,
      gEmb: Float32Array,
      off: number,
      bias: boolean,
    ) => {
      for (const r of rows) {
        const x = r * dim;
        const y = r * H;
        for (let o = 0; o < H; o++) {
          const d = delta[y + o];
          if (d === 0) continue;
          if (bias) gb[o] += d;
          const row = o * inDim + off;
          for (let j = 0; j < dim; j++) {
            gW[row + j] += d * emb[x + j];
            gEmb[x + j] += d * W[row + j];
          }
        }
      }
    };
    rowsOf(this.users, this.model.params.userEmb, this.uDelta, this.gUser, 0, true);
    rowsOf(this.items, this.model.params.itemEmb, this.iDelta, this.gItem, dim, false);
  }
}

type Stepper = (kernel: BatchKernel) => void;

/** Applies one optimiser step from the kernel's gradients (adding L2), then zeroes them. */
function makeStepper(model: NcfModel, kind: 'adam' | 'sgd', lr: number, embLr: number, l2: number): Stepper {
  const { layers, userEmb, itemEmb } = model.params;
  const dim = model.dim;
  const dense = layers.flatMap((l) => [l.W, l.b]);
  const denseAdam = kind === 'adam' ? new Adam(dense, { lr }) : null;
  const embAdam = kind === 'adam' ? new Adam([userEmb, itemEmb], { lr: embLr }) : null;
  const addRowL2 = (g: Float32Array, p: Float32Array, rows: number[]) => {
    if (l2 === 0) return;
    for (const r of rows) for (let j = r * dim; j < (r + 1) * dim; j++) g[j] += l2 * p[j];
  };
  const clearRows = (g: Float32Array, rows: number[]) => {
    for (const r of rows) g.fill(0, r * dim, (r + 1) * dim);
  };
  const sgdRows = (p: Float32Array, g: Float32Array, rows: number[]) => {
    for (const r of rows) for (let j = r * dim; j < (r + 1) * dim; j++) p[j] -= embLr * g[j];
  };
  return (k) => {
    const gDense = k.grads.flatMap((g) => [g.W, g.b]);
    if (l2 !== 0)
      for (let l = 0; l < layers.length; l++) {
        const W = layers[l].W;
        const g = k.grads[l].W;
        for (let j = 0; j < W.length; j++) g[j] += l2 * W[j];
      }
    addRowL2(k.gUser, userEmb, k.users);
    addRowL2(k.gItem, itemEmb, k.items);
    if (denseAdam && embAdam) {
      denseAdam.step(gDense);
      embAdam.tick();
      embAdam.stepRows(0, k.gUser, k.users, dim);
      embAdam.stepRows(1, k.gItem, k.items, dim);
    } else {
      for (let t = 0; t < dense.length; t++) {
        const p = dense[t];
        const g = gDense[t];
        for (let j = 0; j < p.length; j++) p[j] -= lr * g[j];
      }
      sgdRows(userEmb, k.gUser, k.users);
      sgdRows(itemEmb, k.gItem, k.items);
    }
    for (const g of gDense) g.fill(0);
    clearRows(k.gUser, k.users);
    clearRows(k.gItem, k.items);
  };
}
