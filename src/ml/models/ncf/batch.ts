/**
 * One NCF mini-batch's forward and backward pass (mean BCE with logits over the batch's samples).
 *
 * Layer 1 is split as W₁ᵤ·u + W₁ᵢ·i: each half is computed once per distinct user / item of the batch
 * (one blocked product over the gathered rows), a sample adds its two halves and runs only the hidden
 * layers (blocked, `CHUNK` samples at a time on the loops; on a kernel that trains them, `TRAIN_ROWS`
 * samples a call), and the per-sample layer-1 deltas are summed per distinct row, then turned into W₁/b₁
 * and embedding-row gradients with two more blocked products. The three layer-1 products go to the kernel
 * too when it offers them (`DenseKernel.ab`, `atbAdd`).
 */
import type { Rng } from '../../core/rng.ts';
import type { Csr } from '../../data/types.ts';
import { type DenseKernel, jsKernel, type ReluMlpTrainer, TRAIN_ROWS } from '../../nn/dense-kernel.ts';
import { gemmAB, gemmABt, gemmAtBAdd } from '../../nn/gemm.ts';
import { type LayerGrads, zeroGrads } from '../../nn/mlp.ts';
import { MlpBatch } from '../../nn/mlp-batch.ts';
import type { DenseLayer, NcfModel } from '../types.ts';

/** Samples per blocked forward/backward (a chunk's activations stay in cache). */
const CHUNK = 128;

/**
 * The distinct rows (users or items) one side of a batch touches, with their layer-1 half and its
 * accumulated delta. `col` is where this side's block starts in W₁'s columns.
 */
class Side {
  readonly rows: number[] = [];
  readonly slot: Int32Array; // [n] slot of a row in this batch (valid when stamp matches)
  private readonly stamp: Int32Array; // [n]
  private readonly emb: Float32Array; // [n × dim] gathered rows
  readonly half: Float32Array; // [n × H] W₁-half · row (+ b₁ on the user side)
  readonly delta: Float32Array; // [n × H] Σ ∂loss/∂pre₁ over the row's samples
  private readonly w: Float32Array; // [H × dim] contiguous copy of this side's W₁ block
  private readonly gw: Float32Array; // [H × dim]
  private readonly gEmb: Float32Array; // [n × dim]

  private zeros: Float32Array | undefined; // [H] the item side's bias for a kernel's `linear`

  constructor(
    n: number,
    private readonly dim: number,
    private readonly H: number,
    private readonly col: number,
    /** Computes the three layer-1 products (gemm.ts's loops for jsKernel, bit for bit). */
    private readonly dense: DenseKernel,
  ) {
    this.slot = new Int32Array(n);
    this.stamp = new Int32Array(n).fill(-1);
    this.emb = new Float32Array(n * dim);
    this.half = new Float32Array(n * H);
    this.delta = new Float32Array(n * H);
    this.w = new Float32Array(H * dim);
    this.gw = new Float32Array(H * dim);
    this.gEmb = new Float32Array(n * dim);
  }

  touch(r: number, batchNo: number): void {
    if (this.stamp[r] === batchNo) return;
    this.stamp[r] = batchNo;
    this.slot[r] = this.rows.length;
    this.rows.push(r);
  }

  /** half = gathered rows · W-blockᵀ (+ bias), delta = 0. */
  forward(table: Float32Array, first: DenseLayer, bias: Float32Array | undefined): void {
    const { dim, H, col, rows, emb, w, dense } = this;
    const n = rows.length;
    for (let s = 0; s < n; s++) emb.set(table.subarray(rows[s] * dim, (rows[s] + 1) * dim), s * dim);
    for (let o = 0; o < H; o++)
      w.set(first.W.subarray(o * first.inDim + col, o * first.inDim + col + dim), o * dim);
    if (dense === jsKernel) gemmABt(emb, w, this.half, n, H, dim, bias);
    else dense.linear(emb, w, bias ?? (this.zeros ??= new Float32Array(H)), n, H, dim, this.half);
    this.delta.fill(0, 0, n * H);
  }

  /** Adds this side's W₁ (and b₁) gradient into `g0` and scatters its row gradients into gTable. */
  backward(g0: LayerGrads, first: DenseLayer, withBias: boolean, gTable: Float32Array): void {
    const { dim, H, col, rows, emb, w, gw, gEmb, delta } = this;
    const n = rows.length;
    gw.fill(0);
    (this.dense.atbAdd ?? gemmAtBAdd)(delta, emb, gw, n, H, dim);
    for (let o = 0; o < H; o++) {
      const row = o * first.inDim + col;
      for (let j = 0; j < dim; j++) g0.W[row + j] += gw[o * dim + j];
    }
    if (withBias) for (let s = 0; s < n; s++) for (let o = 0; o < H; o++) g0.b[o] += delta[s * H + o];
    (this.dense.ab ?? gemmAB)(delta, w, gEmb, n, H, dim);
    for (let s = 0; s < n; s++) {
      const t = rows[s] * dim;
      for (let j = 0; j < dim; j++) gTable[t + j] += gEmb[s * dim + j];
    }
  }
}

export class BatchKernel {
  private readonly H: number;
  private readonly layers: DenseLayer[];
  private readonly mlp: MlpBatch;
  /** The hidden layers on the kernel, when it trains them; else `mlp` (the loops). */
  private readonly trainer: ReluMlpTrainer | null;
  private readonly chunk: number; // samples a forward/backward
  private readonly pre: Float32Array; // [chunk × H] a chunk's layer-1 pre-activations
  private readonly logits: Float32Array; // [chunk] (trainer)
  private readonly dPre: Float32Array; // [chunk × H] ∂loss/∂pre (trainer)
  private readonly dLogits: Float32Array; // [chunk]
  private readonly userSide: Side;
  private readonly itemSide: Side;
  readonly grads: LayerGrads[];
  readonly gUser: Float32Array; // [nUsers × dim], only rows in `users` non-zero
  readonly gItem: Float32Array; // [nItems × dim], only rows in `items` non-zero
  private readonly posStamp: Int32Array; // [nItems] user+1 whose positives are marked
  private sampleUser = new Int32Array(1024);
  private sampleItem = new Int32Array(1024);
  private sampleLabel = new Uint8Array(1024);
  nSamples = 0;
  private batchNo = 0;

  constructor(
    private readonly model: NcfModel,
    dense: DenseKernel = jsKernel,
  ) {
    const { dim, nUsers, nItems } = model;
    this.layers = model.params.layers;
    this.H = this.layers[0].outDim;
    this.mlp = new MlpBatch(this.layers, CHUNK);
    this.trainer = dense.reluMlpTrainer?.(this.layers.slice(1)) ?? null;
    this.chunk = this.trainer ? TRAIN_ROWS : CHUNK;
    this.pre = this.trainer ? new Float32Array(this.chunk * this.H) : this.mlp.pre[0];
    this.logits = new Float32Array(this.trainer ? this.chunk : 0);
    this.dPre = new Float32Array(this.trainer ? this.chunk * this.H : 0);
    this.dLogits = new Float32Array(this.chunk);
    this.grads = zeroGrads(this.layers);
    this.gUser = new Float32Array(nUsers * dim);
    this.gItem = new Float32Array(nItems * dim);
    this.userSide = new Side(nUsers, dim, this.H, 0, dense);
    this.itemSide = new Side(nItems, dim, this.H, dim, dense);
    this.posStamp = new Int32Array(nItems);
  }

  /** Distinct users / items of the current batch (the embedding rows with gradients). */
  get users(): number[] {
    return this.userSide.rows;
  }
  get items(): number[] {
    return this.itemSide.rows;
  }

  begin(): void {
    this.batchNo++;
    this.userSide.rows.length = 0;
    this.itemSide.rows.length = 0;
    this.nSamples = 0;
  }

  private push(u: number, i: number, y: number): void {
    if (this.nSamples === this.sampleUser.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, b: T): T => {
        b.set(a);
        return b;
      };
      const cap = this.nSamples * 2;
      this.sampleUser = grow(this.sampleUser, new Int32Array(cap));
      this.sampleItem = grow(this.sampleItem, new Int32Array(cap));
      this.sampleLabel = grow(this.sampleLabel, new Uint8Array(cap));
    }
    this.sampleUser[this.nSamples] = u;
    this.sampleItem[this.nSamples] = i;
    this.sampleLabel[this.nSamples] = y;
    this.nSamples++;
  }

  /** Adds user u's positives and `ratio` uniformly sampled non-positives per positive. */
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
    if (b - a >= nI) return;
    const nNeg = (b - a) * ratio;
    for (let k = 0; k < nNeg; k++) {
      let j = rng.nextInt(nI);
      while (this.posStamp[j] === mark) j = rng.nextInt(nI);
      this.push(u, j, 0);
    }
  }

  /** Adds explicit (user, item, label) samples. */
  addSamples(users: ArrayLike<number>, items: ArrayLike<number>, labels: ArrayLike<number>): void {
    for (let s = 0; s < users.length; s++) this.push(users[s], items[s], labels[s]);
  }

  /** Forward/backward over the batch's samples (gradients of the mean BCE); returns the summed loss. */
  run(): number {
    const { H, grads, userSide, itemSide, dLogits, pre, chunk } = this;
    const first = this.layers[0];
    const n = this.nSamples;
    const scale = 1 / Math.max(1, n);
    for (let s = 0; s < n; s++) {
      userSide.touch(this.sampleUser[s], this.batchNo);
      itemSide.touch(this.sampleItem[s], this.batchNo);
    }
    userSide.forward(this.model.params.userEmb, first, first.b);
    itemSide.forward(this.model.params.itemEmb, first, undefined);
    const uHalf = userSide.half;
    const iHalf = itemSide.half;
    const uDelta = userSide.delta;
    const iDelta = itemSide.delta;
    let loss = 0;
    for (let c0 = 0; c0 < n; c0 += chunk) {
      const rows = Math.min(chunk, n - c0);
      for (let r = 0; r < rows; r++) {
        const uo = userSide.slot[this.sampleUser[c0 + r]] * H;
        const io = itemSide.slot[this.sampleItem[c0 + r]] * H;
        const po = r * H;
        for (let o = 0; o < H; o++) pre[po + o] = uHalf[uo + o] + iHalf[io + o];
      }
      const z = this.forward(rows);
      for (let r = 0; r < rows; r++) {
        const y = this.sampleLabel[c0 + r];
        const zr = z[r];
        // BCE with logits: softplus(z) − y·z, computed stably; d/dz = σ(z) − y.
        const ez = Math.exp(-Math.abs(zr));
        loss += Math.max(zr, 0) - y * zr + Math.log1p(ez);
        const sig = zr >= 0 ? 1 / (1 + ez) : ez / (1 + ez);
        dLogits[r] = (sig - y) * scale;
      }
      const d0 = this.backward(rows);
      for (let r = 0; r < rows; r++) {
        const uo = userSide.slot[this.sampleUser[c0 + r]] * H;
        const io = itemSide.slot[this.sampleItem[c0 + r]] * H;
        const po = r * H;
        for (let o = 0; o < H; o++) {
          const d = d0[po + o];
          uDelta[uo + o] += d;
          iDelta[io + o] += d;
        }
      }
    }
    userSide.backward(grads[0], first, true, this.gUser);
    itemSide.backward(grads[0], first, false, this.gItem);
    return loss;
  }

  /** The hidden layers on `pre`'s first `rows` rows: their logits. */
  private forward(rows: number): Float32Array {
    if (!this.trainer) return this.mlp.forward(rows);
    this.trainer.forward(this.pre, rows, this.logits);
    return this.logits;
  }

  /** From `dLogits`: the hidden layers' gradients into `grads`, and ∂loss/∂pre per row (returned). */
  private backward(rows: number): Float32Array {
    if (!this.trainer) return this.mlp.backward(rows, this.dLogits, this.grads);
    this.trainer.backward(this.dLogits, rows, this.grads.slice(1), this.dPre);
    return this.dPre;
  }
}
