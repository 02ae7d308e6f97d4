/**
 * One NCF mini-batch's forward and backward pass (mean BCE with logits over the batch's samples).
 *
 * Layer 1 is split as W₁ᵤ·u + W₁ᵢ·i: both halves are computed once per distinct user and item in the
 * batch, each sample adds them and runs only the hidden layers, and the per-sample layer-1 deltas are
 * summed per distinct row, then turned into W₁/b₁ and embedding-row gradients once.
 */
import type { Rng } from '../../core/rng.ts';
import type { Csr } from '../../data/types.ts';
import { backwardToFirst, forwardFromFirst, type LayerGrads, MlpTape, zeroGrads } from '../../nn/mlp.ts';
import type { DenseLayer, NcfModel } from '../types.ts';

export class BatchKernel {
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
  private readonly userStamp: Int32Array; // batch number that last computed a user's half
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
    this.userStamp = new Int32Array(model.nUsers).fill(-1);
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
  }

  /** Adds explicit (user, item, label) samples. */
  addSamples(users: ArrayLike<number>, items: ArrayLike<number>, labels: ArrayLike<number>): void {
    for (let s = 0; s < users.length; s++) this.push(users[s], items[s], labels[s]);
  }

  private touchUser(u: number): void {
    if (this.userStamp[u] === this.batchNo) return;
    this.userStamp[u] = this.batchNo;
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
    for (let s = 0; s < n; s++) {
      this.touchUser(this.sampleUser[s]);
      this.touchItem(this.sampleItem[s]);
    }
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
