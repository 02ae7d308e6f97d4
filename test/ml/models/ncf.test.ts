import { describe, expect, it } from 'vitest';
import { MlError } from '../../../src/ml/core/errors.ts';
import { gradCheck } from '../../../src/ml/core/gradcheck.ts';
import { Rng } from '../../../src/ml/core/rng.ts';
import type { Csr } from '../../../src/ml/data/types.ts';
import { trainMf } from '../../../src/ml/models/mf/train.ts';
import { BatchKernel } from '../../../src/ml/models/ncf/batch.ts';
import { ncfScorer } from '../../../src/ml/models/ncf/scorer.ts';
import { defaultEpochs, trainNcf } from '../../../src/ml/models/ncf/train.ts';
import { trainRecommender } from '../../../src/ml/models/train.ts';
import type { NcfModel } from '../../../src/ml/models/types.ts';
import { type DenseKernel, KERNEL_ROWS, TRAIN_ROWS } from '../../../src/ml/nn/dense-kernel.ts';
import { initMlp } from '../../../src/ml/nn/mlp.ts';
import { loadDenseKernel } from '../../../src/ml/nn/tfjs-kernel.ts';
import { mlpCompute } from '../../../src/ml/pipeline/compute.ts';

function randomModel(seed: number, nUsers = 4, nItems = 6, dim = 3, hidden = [8, 5, 4]): NcfModel {
  const rng = new Rng(seed);
  const userEmb = new Float32Array(nUsers * dim).map(() => rng.normal() * 0.8);
  const itemEmb = new Float32Array(nItems * dim).map(() => rng.normal() * 0.8);
  const layers = initMlp(2 * dim, hidden, rng);
  for (const l of layers) for (let k = 0; k < l.b.length; k++) l.b[k] = rng.normal() * 0.2;
  return { kind: 'ncf', nUsers, nItems, dim, hidden, params: { userEmb, itemEmb, layers } };
}

/** Slow float64 reference logit of MLP(concat(u, i)). */
function refLogit(model: NcfModel, u: ArrayLike<number>, i: ArrayLike<number>): number {
  let x = [...Array.from(u), ...Array.from(i)];
  const { layers } = model.params;
  for (let l = 0; l < layers.length; l++) {
    const { W, b, inDim, outDim } = layers[l];
    const y: number[] = [];
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let j = 0; j < inDim; j++) s += W[o * inDim + j] * x[j];
      y.push(l < layers.length - 1 ? Math.max(0, s) : s);
    }
    x = y;
  }
  return x[0];
}

const row = (a: Float32Array, r: number, dim: number) => a.subarray(r * dim, (r + 1) * dim);

function bce(z: number, y: number): number {
  return Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
}

/** Small implicit-feedback matrix with two user groups that like disjoint item halves. */
function blockCsr(nUsers: number, nItems: number): Csr {
  const indptr = new Int32Array(nUsers + 1);
  const indices: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const half = u % 2;
    for (let i = 0; i < nItems; i++) if (i % 2 === half && (i + u) % 3 !== 0) indices.push(i);
    indptr[u + 1] = indices.length;
  }
  return { rows: nUsers, cols: nItems, indptr, indices: Int32Array.from(indices) };
}

describe('ncfScorer', () => {
  it('score is the pre-sigmoid logit of MLP(concat(u, i)); scoreAll agrees with score', () => {
    const m = randomModel(1);
    const s = ncfScorer(m);
    const { userEmb, itemEmb } = m.params;
    const out = new Float32Array(m.nItems);
    for (let u = 0; u < m.nUsers; u++) {
      s.scoreAll(u, row(userEmb, u, m.dim), itemEmb, out);
      for (let i = 0; i < m.nItems; i++) {
        const ref = refLogit(m, row(userEmb, u, m.dim), row(itemEmb, i, m.dim));
        expect(s.score(u, i, row(userEmb, u, m.dim), row(itemEmb, i, m.dim))).toBeCloseTo(ref, 5);
        expect(out[i]).toBeCloseTo(ref, 5);
      }
    }
  });

  it('scoreAll keeps a NaN embedding NaN (never ranked) instead of scoring it as the output bias', () => {
    const m = randomModel(4);
    const s = ncfScorer(m);
    const items = Float32Array.from(m.params.itemEmb);
    items[3 * m.dim] = Number.NaN;
    const out = new Float32Array(m.nItems);
    s.scoreAll(0, row(m.params.userEmb, 0, m.dim), items, out);
    expect(Number.isNaN(out[3])).toBe(true);
    expect(Number.isNaN(s.score(0, 3, row(m.params.userEmb, 0, m.dim), row(items, 3, m.dim)))).toBe(true);
    for (const i of [0, 1, 2, 4, 5]) expect(Number.isFinite(out[i])).toBe(true);
  });

  it('scoreAll notices in-place edits of the item table it cached', () => {
    const m = randomModel(2);
    const s = ncfScorer(m);
    const items = Float32Array.from(m.params.itemEmb);
    const u = row(m.params.userEmb, 0, m.dim);
    const out = new Float32Array(m.nItems);
    s.scoreAll(0, u, items, out);
    items[2 * m.dim] += 1.5;
    s.scoreAll(0, u, items, out);
    expect(out[2]).toBeCloseTo(refLogit(m, u, row(items, 2, m.dim)), 5);
  });

  it('scoreWithGrad accumulates dScore·∂logit/∂u and ∂logit/∂i exactly (finite differences)', () => {
    const m = randomModel(3);
    const s = ncfScorer(m);
    let checkedNonZero = 0;
    for (let u = 0; u < m.nUsers; u++) {
      for (let i = 0; i < m.nItems; i++) {
        const uVec = Float32Array.from(row(m.params.userEmb, u, m.dim));
        const iVec = Float32Array.from(row(m.params.itemEmb, i, m.dim));
        const gU = new Float32Array(m.dim).fill(0.25); // accumulates onto what is there
        const gI = new Float32Array(m.dim).fill(-0.5);
        const dScore = -1.7;
        const z = s.scoreWithGrad(u, i, uVec, iVec, dScore, gU, gI);
        expect(z).toBeCloseTo(refLogit(m, uVec, iVec), 5);
        const loss = () => dScore * refLogit(m, uVec, iVec);
        const gUOwn = gU.map((v) => v - 0.25);
        const gIOwn = gI.map((v) => v + 0.5);
        expect(gradCheck(uVec, gUOwn, loss, { eps: 1e-3 }).maxAbsError).toBeLessThan(2e-3);
        expect(gradCheck(iVec, gIOwn, loss, { eps: 1e-3 }).maxAbsError).toBeLessThan(2e-3);
        if (gUOwn.some((v) => v !== 0)) checkedNonZero++;
      }
    }
    expect(checkedNonZero).toBeGreaterThan(5);
  });
});

describe('ncfScorer on a kernel that chains the hidden layers (wasm)', () => {
  /** The wasm kernel, noting the rows of each chained call. */
  async function recordingWasm() {
    const wasm = await loadDenseKernel('wasm');
    const rows: number[] = [];
    const kernel: DenseKernel = {
      ...wasm,
      reluMlp(X, layers, n, out, shift) {
        rows.push(n);
        wasm.reluMlp?.(X, layers, n, out, shift);
      },
    };
    return { kernel, rows };
  }

  const scores = (m: NcfModel, kernel: DenseKernel | undefined, items: Float32Array, u = 0) => {
    const out = new Float32Array(items.length / m.dim);
    ncfScorer(m, kernel).scoreAll(u, row(m.params.userEmb, u, m.dim), items, out);
    return out;
  };

  it('scores every item as the loops do, in calls of at most KERNEL_ROWS items', async () => {
    const { kernel, rows } = await recordingWasm();
    const m = randomModel(11, 2, 2 * KERNEL_ROWS + 7, 5, [16, 8, 4]);
    const got = scores(m, kernel, m.params.itemEmb);
    const want = scores(m, undefined, m.params.itemEmb);
    expect(rows).toEqual([KERNEL_ROWS, KERNEL_ROWS, 7]);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThan(1e-5);
    expect(mlpCompute(m, kernel)).toBe('wasm');
    expect(mlpCompute(m)).toBe('js');
  });

  it('scores items with a non-finite pre-activation on the loops, so NaN stays NaN (wasm ReLU gives 0)', async () => {
    const { kernel } = await recordingWasm();
    const m = randomModel(12, 2, 40, 3);
    const items = Float32Array.from(m.params.itemEmb);
    items[5 * m.dim] = Number.NaN;
    items.fill(Number.POSITIVE_INFINITY, 9 * m.dim, 10 * m.dim); // layer 1: ±Infinity or NaN
    const got = scores(m, kernel, items);
    const want = scores(m, undefined, items);
    expect(Number.isNaN(got[5])).toBe(true);
    expect([got[5], got[9]]).toEqual([want[5], want[9]]);
    expect(Number.isFinite(want[9])).toBe(false);
    for (const i of [0, 1, 8, 39]) expect(got[i]).toBeCloseTo(want[i], 5);
  });

  it('finds the non-finite items again when the item table is edited in place, and a NaN user is NaN', async () => {
    const { kernel } = await recordingWasm();
    const m = randomModel(14, 2, 20, 3);
    const items = Float32Array.from(m.params.itemEmb);
    const scorer = ncfScorer(m, kernel);
    const u = row(m.params.userEmb, 0, m.dim);
    const out = new Float32Array(20);
    scorer.scoreAll(0, u, items, out);
    expect(out.every(Number.isFinite)).toBe(true);
    items[7 * m.dim] = Number.NaN; // same array: the scorer's fingerprint notices, and so must the kernel path
    scorer.scoreAll(0, u, items, out);
    expect(Number.isNaN(out[7])).toBe(true);
    expect(out.filter(Number.isNaN).length).toBe(1);
    scorer.scoreAll(0, Float32Array.from(u).fill(Number.NaN, 0, 1), items, out);
    expect(out.every(Number.isNaN)).toBe(true);
  });

  it('leaves the whole catalogue to the loops when a hidden weight is not finite', async () => {
    const { kernel, rows } = await recordingWasm();
    const m = randomModel(13, 2, 30, 3);
    m.params.layers[1].W[0] = Number.NaN;
    const got = scores(m, kernel, m.params.itemEmb);
    expect(rows).toEqual([]);
    expect(Array.from(got)).toEqual(Array.from(scores(m, undefined, m.params.itemEmb)));
    expect(got.every(Number.isNaN)).toBe(true);
  });
});

describe('NCF batch gradients', () => {
  const rng = new Rng(11);
  const many = Array.from({ length: 300 }, () => [rng.nextInt(4), rng.nextInt(6), rng.nextInt(2)]);
  for (const [name, samples] of [
    [
      '8 samples',
      [
        [0, 1, 1],
        [0, 4, 0],
        [1, 1, 1],
        [2, 0, 1],
        [2, 5, 0],
        [3, 2, 0],
        [3, 4, 1],
        [1, 3, 0],
      ],
    ],
    ['300 samples (three 128-sample chunks on the loops)', many],
  ] as const)
    it.each(['js', 'wasm'] as const)(
      `every parameter (all layers W and b, both embedding tables) matches finite differences of the mean BCE: ${name}, hidden layers on %s`,
      async (compute) => {
        const m = randomModel(4, 4, 6, 3, [8, 5, 4]);
        const users = samples.map((s) => s[0]);
        const items = samples.map((s) => s[1]);
        const labels = samples.map((s) => s[2]);
        const kernel = new BatchKernel(m, await loadDenseKernel(compute));
        kernel.begin();
        kernel.addSamples(users, items, labels);
        const lossSum = kernel.run();
        const loss = () => {
          let s = 0;
          for (let k = 0; k < users.length; k++) {
            const z = refLogit(
              m,
              row(m.params.userEmb, users[k], m.dim),
              row(m.params.itemEmb, items[k], m.dim),
            );
            s += bce(z, labels[k]);
          }
          return s / users.length;
        };
        expect(lossSum / users.length).toBeCloseTo(loss(), 5);
        // Relative to the gradient's own size: with 300 samples the mean BCE's gradients are ~2e-3, so an
        // absolute 1e-3 let a chunk that dropped a few samples' deltas (25 % off) pass.
        const matches = (param: Float32Array, grad: Float32Array, name: string) => {
          const scale = Math.max(...Array.from(grad, Math.abs));
          expect(scale, `${name} is all zero`).toBeGreaterThan(0);
          expect(gradCheck(param, grad, loss).maxAbsError / scale, name).toBeLessThan(1e-3);
        };
        const { layers } = m.params;
        for (let l = 0; l < layers.length; l++) {
          matches(layers[l].W, kernel.grads[l].W, `W${l}`);
          matches(layers[l].b, kernel.grads[l].b, `b${l}`);
        }
        matches(m.params.userEmb, kernel.gUser, 'userEmb');
        matches(m.params.itemEmb, kernel.gItem, 'itemEmb');
      },
    );

  it('on a kernel, a batch over TRAIN_ROWS samples gives the loops’ loss and gradients', async () => {
    const m = randomModel(5, 4, 6, 3, [8, 5, 4]);
    const r = new Rng(12);
    const n = TRAIN_ROWS + 37;
    const users = Array.from({ length: n }, () => r.nextInt(4));
    const items = Array.from({ length: n }, () => r.nextInt(6));
    const labels = Array.from({ length: n }, () => r.nextInt(2));
    const run = (kernel: BatchKernel) => {
      kernel.begin();
      kernel.addSamples(users, items, labels);
      return kernel.run();
    };
    const loops = new BatchKernel(m);
    const wasm = new BatchKernel(m, await loadDenseKernel('wasm'));
    expect(run(wasm) / n).toBeCloseTo(run(loops) / n, 5);
    const close = (got: Float32Array, want: Float32Array) => {
      const scale = Math.max(...Array.from(want, Math.abs));
      for (let k = 0; k < want.length; k++) expect(Math.abs(got[k] - want[k])).toBeLessThan(1e-4 * scale);
    };
    for (let l = 0; l < m.params.layers.length; l++) {
      close(wasm.grads[l].W, loops.grads[l].W);
      close(wasm.grads[l].b, loops.grads[l].b);
    }
    close(wasm.gUser, loops.gUser);
    close(wasm.gItem, loops.gItem);
  });
});

describe('trainNcf', () => {
  const train = blockCsr(40, 30);

  it('trains its hidden layers on a kernel deterministically, to the loops’ loss', async () => {
    const wasm = await loadDenseKernel('wasm');
    const opts = {
      dim: 8,
      hidden: [16, 8, 4],
      epochs: 10,
      batchSize: 256,
      seed: 1,
      pretrain: 'none' as const,
    };
    const lossOf = (kernel?: DenseKernel) => {
      let last = 0;
      const m = trainNcf(train, { ...opts, kernel, onProgress: (e) => (last = e.loss ?? Number.NaN) });
      return { m, last };
    };
    const [a, b, loops] = [lossOf(wasm), lossOf(wasm), lossOf()];
    expect(Array.from(a.m.params.layers[1].W)).toEqual(Array.from(b.m.params.layers[1].W));
    expect(Array.from(a.m.params.itemEmb)).toEqual(Array.from(b.m.params.itemEmb));
    expect(a.last).toBeCloseTo(loops.last, 3);
  });

  it('learns the block structure: held-in positives outscore the other half', () => {
    for (const optimizer of ['adam', 'sgd'] as const) {
      const losses: number[] = [];
      const m = trainNcf(train, {
        dim: 8,
        hidden: [16, 8, 4],
        epochs: 30,
        optimizer,
        lr: optimizer === 'adam' ? 0.01 : 0.2,
        batchSize: 256,
        seed: 1,
        pretrain: 'none',
        onProgress: (e) => losses.push(e.loss ?? Number.NaN),
      });
      expect(losses.length).toBe(30);
      expect(losses[29]).toBeLessThan(losses[0] * 0.7);
      const s = ncfScorer(m);
      const out = new Float32Array(30);
      let correct = 0;
      for (let u = 0; u < 40; u++) {
        s.scoreAll(u, row(m.params.userEmb, u, 8), m.params.itemEmb, out);
        let own = 0;
        let other = 0;
        for (let i = 0; i < 30; i++) i % 2 === u % 2 ? (own += out[i]) : (other += out[i]);
        if (own > other) correct++;
      }
      expect(correct, optimizer).toBeGreaterThanOrEqual(38);
    }
  });

  it('a diverged run is refused (DIVERGED, naming the table), not handed on with NaN weights', () => {
    const run = () =>
      trainRecommender('ncf', train, {
        dim: 4,
        epochs: 2,
        lr: 1e30,
        ncf: { hidden: [8, 4], pretrain: 'none' },
      });
    expect(run).toThrow(MlError);
    expect(run).toThrow(/NCF training diverged: \S+ holds (NaN|-?Infinity).*lower learning rate/);
  });

  it('same seed → identical weights; another seed → different ones', () => {
    const opts = { dim: 4, hidden: [8, 4], epochs: 2, seed: 7, batchSize: 100 };
    const a = trainNcf(train, opts);
    const b = trainNcf(train, opts);
    const c = trainNcf(train, { ...opts, seed: 8 });
    expect(Array.from(b.params.userEmb)).toEqual(Array.from(a.params.userEmb));
    expect(Array.from(b.params.layers[1].W)).toEqual(Array.from(a.params.layers[1].W));
    expect(Array.from(c.params.userEmb)).not.toEqual(Array.from(a.params.userEmb));
  });

  it('by default starts the embeddings from an MF of the same dim and seed', () => {
    const m = trainNcf(train, { dim: 4, epochs: 0, seed: 3 });
    const mf = trainMf(train, { dim: 4, seed: 3 });
    expect(Array.from(m.params.userEmb)).toEqual(Array.from(mf.params.userEmb));
    expect(Array.from(m.params.itemEmb)).toEqual(Array.from(mf.params.itemEmb));
    const r = trainNcf(train, { dim: 4, epochs: 0, seed: 3, pretrain: 'none' });
    expect(Array.from(r.params.userEmb)).not.toEqual(Array.from(mf.params.userEmb));
  });

  it('starts from given embeddings (copied, not aliased) and stops when the signal aborts', () => {
    const userEmb = new Float32Array(40 * 4).fill(0.1);
    const itemEmb = new Float32Array(30 * 4).fill(-0.1);
    const m = trainNcf(train, { dim: 4, epochs: 0, init: { userEmb, itemEmb } });
    expect(m.params.userEmb).not.toBe(userEmb);
    expect(Array.from(m.params.userEmb)).toEqual(Array.from(userEmb));
    const ctrl = new AbortController();
    const epochs = new Set<number>();
    expect(() =>
      trainNcf(train, {
        dim: 4,
        epochs: 5,
        onProgress: (e) => {
          if (e.epoch !== undefined) epochs.add(e.epoch);
          if (e.epoch === 1) ctrl.abort();
        },
        signal: ctrl.signal,
      }),
    ).toThrow(/aborted/);
    expect([...epochs]).toEqual([1]);
    expect(() => trainNcf(train, { dim: 0 })).toThrow(/dim/);
  });

  it('moves pre-trained embeddings at lr / 10 by default (Adam), random ones at lr', () => {
    const base = { dim: 4, hidden: [8, 4], epochs: 2, seed: 5, batchSize: 100, lr: 0.01 };
    const same = (a: NcfModel, b: NcfModel) =>
      Array.from(a.params.itemEmb).every((x, k) => x === b.params.itemEmb[k]);
    const pre = trainNcf(train, base);
    expect(same(pre, trainNcf(train, { ...base, embLr: base.lr / 10 }))).toBe(true);
    expect(same(pre, trainNcf(train, { ...base, embLr: 0.01 }))).toBe(false);
    const rnd = { ...base, pretrain: 'none' as const };
    expect(same(trainNcf(train, rnd), trainNcf(train, { ...rnd, embLr: 0.01 }))).toBe(true);
    const sgd = { ...base, optimizer: 'sgd' as const };
    expect(same(trainNcf(train, sgd), trainNcf(train, { ...sgd, embLr: 0.01 }))).toBe(true);
  });

  it('default epochs follow a sample budget, clamped to [2, 4]', () => {
    expect(defaultEpochs(2.9e6)).toBe(2); // ML-1M, 2 negatives per positive
    expect(defaultEpochs(2e6)).toBe(3);
    expect(defaultEpochs(1e3)).toBe(4);
    expect(defaultEpochs(1e9)).toBe(2);
  });
});
