import { MlError } from '../../core/errors.ts';
import type { ProgressCallback } from '../../core/progress.ts';
import { fillNormal, Rng } from '../../core/rng.ts';
import { NegativeSampler } from '../../data/negatives.ts';
import type { Csr } from '../../data/types.ts';
import { Adam } from '../../optim/adam.ts';
import type { MfModel } from '../types.ts';
import { emptyMfModel } from './model.ts';

/**
 * Logistic MF (the paper's objective): each training positive (label 1) and `negatives` sampled
 * non-positives (label 0) per positive, loss = mean BCE(σ(s_ui), label) + l2/2 · (‖u‖² + ‖i‖²) per
 * sample, s_ui = u·i + b_u + b_i + g. Mini-batches with Adam (lazy, touched rows only) or plain SGD.
 */
export interface LogisticOptions {
  dim: number;
  epochs: number;
  seed: number;
  lr: number;
  l2: number;
  negatives: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  initStd: number;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export const LOGISTIC_DEFAULTS: Omit<LogisticOptions, 'dim' | 'onProgress' | 'signal' | 'lr'> = {
  epochs: 10,
  seed: 0,
  l2: 1e-4,
  negatives: 4,
  batchSize: 256,
  optimizer: 'adam',
  initStd: 0.1,
};

/** Dense gradient buffers shaped like MfParams; rows a batch touches are zeroed after each step. */
export interface MfGrads {
  userEmb: Float32Array;
  itemEmb: Float32Array;
  userBias: Float32Array;
  itemBias: Float32Array;
  globalBias: Float32Array;
}

export function zeroGrads(model: MfModel): MfGrads {
  const p = model.params;
  return {
    userEmb: new Float32Array(p.userEmb.length),
    itemEmb: new Float32Array(p.itemEmb.length),
    userBias: new Float32Array(p.userBias.length),
    itemBias: new Float32Array(p.itemBias.length),
    globalBias: new Float32Array(1),
  };
}

/**
 * Mean logistic loss of a batch of (user, item, label) samples plus its L2 term; when `grads` is given,
 * adds the gradient of that loss to it (hand-derived: ∂/∂s BCE = σ(s) − label).
 */
export function logisticBatchLoss(
  model: MfModel,
  users: Int32Array,
  items: Int32Array,
  labels: Float32Array,
  n: number,
  l2: number,
  grads?: MfGrads,
): number {
  const { dim, params } = model;
  const { userEmb, itemEmb, userBias, itemBias, globalBias } = params;
  const inv = 1 / n;
  let loss = 0;
  for (let s = 0; s < n; s++) {
    const uo = users[s] * dim;
    const io = items[s] * dim;
    let z = globalBias[0] + userBias[users[s]] + itemBias[items[s]];
    let norm = 0;
    for (let k = 0; k < dim; k++) {
      z += userEmb[uo + k] * itemEmb[io + k];
      norm += userEmb[uo + k] * userEmb[uo + k] + itemEmb[io + k] * itemEmb[io + k];
    }
    const y = labels[s];
    // BCE with logits, stable: log(1 + e^z) − y·z
    loss += Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z))) + 0.5 * l2 * norm;
    if (!grads) continue;
    const g = (1 / (1 + Math.exp(-z)) - y) * inv;
    const r = l2 * inv;
    for (let k = 0; k < dim; k++) {
      const uk = userEmb[uo + k];
      const ik = itemEmb[io + k];
      grads.userEmb[uo + k] += g * ik + r * uk;
      grads.itemEmb[io + k] += g * uk + r * ik;
    }
    grads.userBias[users[s]] += g;
    grads.itemBias[items[s]] += g;
    grads.globalBias[0] += g;
  }
  return loss * inv;
}

export function trainLogistic(train: Csr, opts: LogisticOptions): MfModel {
  const { dim, epochs, lr, l2, negatives, batchSize } = opts;
  if (!(lr > 0)) throw new MlError('BAD_CONFIG', `lr must be > 0, got ${lr}`, 'lr');
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new MlError('BAD_CONFIG', `batchSize must be a positive integer, got ${batchSize}`, 'batchSize');
  const rng = new Rng(opts.seed);
  const model = emptyMfModel(train.rows, train.cols, dim);
  const { params } = model;
  fillNormal(params.userEmb, rng, opts.initStd);
  fillNormal(params.itemEmb, rng, opts.initStd);
  const grads = zeroGrads(model);
  const tensors = [params.userEmb, params.itemEmb, params.userBias, params.itemBias, params.globalBias];
  const gradList = [grads.userEmb, grads.itemEmb, grads.userBias, grads.itemBias, grads.globalBias];
  const adam = opts.optimizer === 'adam' ? new Adam(tensors, { lr }) : null;
  const sampler = new NegativeSampler(train);
  const nnz = train.indptr[train.rows];
  const owner = new Int32Array(nnz); // user of each stored positive
  for (let u = 0; u < train.rows; u++) owner.fill(u, train.indptr[u], train.indptr[u + 1]);
  const order = Int32Array.from({ length: nnz }, (_, k) => k);
  const per = 1 + negatives;
  const cap = batchSize * per;
  const bu = new Int32Array(cap);
  const bi = new Int32Array(cap);
  const by = new Float32Array(cap);
  const userRows = new RowSet(train.rows, cap);
  const itemRows = new RowSet(train.cols, cap);
  const t0 = performance.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    opts.signal?.throwIfAborted();
    rng.shuffle(order);
    let total = 0;
    let batches = 0;
    for (let start = 0; start < nnz; start += batchSize) {
      const end = Math.min(nnz, start + batchSize);
      let n = 0;
      for (let q = start; q < end; q++) {
        const u = owner[order[q]];
        bu[n] = u;
        bi[n] = train.indices[order[q]];
        by[n++] = 1;
        for (let k = 0; k < negatives; k++) {
          bu[n] = u;
          bi[n] = sampler.sample(u, rng);
          by[n++] = 0;
        }
      }
      total += logisticBatchLoss(model, bu, bi, by, n, l2, grads);
      batches++;
      applyStep(adam, tensors, gradList, userRows.collect(bu, n), itemRows.collect(bi, n), dim, lr);
    }
    opts.onProgress?.({
      stage: 'recommender',
      epoch,
      epochs,
      loss: total / Math.max(1, batches),
      fraction: epoch / epochs,
      seconds: (performance.now() - t0) / 1000,
    });
  }
  return model;
}

/** The distinct rows a batch touched, without allocating per batch. */
class RowSet {
  private readonly seen: Uint8Array;
  private readonly buf: Int32Array;
  private n = 0;
  constructor(rows: number, cap: number) {
    this.seen = new Uint8Array(rows);
    this.buf = new Int32Array(Math.min(rows, cap));
  }
  collect(ids: Int32Array, count: number): Int32Array {
    for (let k = 0; k < this.n; k++) this.seen[this.buf[k]] = 0;
    this.n = 0;
    for (let k = 0; k < count; k++) {
      const id = ids[k];
      if (this.seen[id]) continue;
      this.seen[id] = 1;
      this.buf[this.n++] = id;
    }
    return this.buf.subarray(0, this.n);
  }
}

/** Updates only the rows the batch touched (each row once), then zeroes their gradients. */
function applyStep(
  adam: Adam | null,
  tensors: Float32Array[],
  grads: Float32Array[],
  uRows: Int32Array,
  iRows: Int32Array,
  dim: number,
  lr: number,
): void {
  const plan: [number, Int32Array, number][] = [
    [0, uRows, dim],
    [1, iRows, dim],
    [2, uRows, 1],
    [3, iRows, 1],
    [4, GLOBAL_ROW, 1],
  ];
  adam?.tick();
  for (const [k, rows, width] of plan) {
    const p = tensors[k];
    const g = grads[k];
    if (adam) adam.stepRows(k, g, rows, width);
    for (let r = 0; r < rows.length; r++) {
      const o = rows[r] * width;
      for (let c = 0; c < width; c++) {
        if (!adam) p[o + c] -= lr * g[o + c];
        g[o + c] = 0;
      }
    }
  }
}

const GLOBAL_ROW = Int32Array.of(0);
