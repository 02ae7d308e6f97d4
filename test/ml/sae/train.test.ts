import { describe, expect, it } from 'vitest';
import { MlError } from '../../../src/ml/core/errors.ts';
import { fillNormal, Rng } from '../../../src/ml/core/rng.ts';
import type { Csr } from '../../../src/ml/data/types.ts';
import { explainedVariance } from '../../../src/ml/eval/reconstruction.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import type { MfModel } from '../../../src/ml/models/types.ts';
import { encodeAll, reconstructAll } from '../../../src/ml/sae/codes.ts';
import { decode, encode } from '../../../src/ml/sae/model.ts';
import { resolveSaeOptions } from '../../../src/ml/sae/options.ts';
import { loadSae, saveSae } from '../../../src/ml/sae/serialize.ts';
import {
  makeBatch,
  predictionScale,
  type SaeTrainData,
  trainSae,
  trainSaeDetailed,
} from '../../../src/ml/sae/train.ts';
import { unbiasedMf } from '../../helpers/models.ts';

const DIM = 6;

/** Embeddings that are sparse non-negative mixtures of 12 hidden directions (what an SAE should find). */
function fixture(nUsers = 60, nItems = 90): { data: SaeTrainData; model: MfModel } {
  const rng = new Rng(7);
  const atoms = fillNormal(new Float32Array(12 * DIM), rng, 1);
  const mix = (n: number): Float32Array => {
    const out = new Float32Array(n * DIM);
    for (let r = 0; r < n; r++)
      for (let t = 0; t < 2; t++) {
        const a = rng.nextInt(12);
        const w = 0.5 + rng.nextFloat();
        for (let c = 0; c < DIM; c++) out[r * DIM + c] += w * atoms[a * DIM + c];
      }
    return out;
  };
  const model: MfModel = {
    kind: 'mf',
    nUsers,
    nItems,
    dim: DIM,
    params: {
      userEmb: mix(nUsers),
      itemEmb: mix(nItems),
      userBias: new Float32Array(nUsers),
      itemBias: fillNormal(new Float32Array(nItems), rng, 0.1),
      globalBias: new Float32Array(1),
    },
  };
  // two training positives per user
  const indptr = Int32Array.from({ length: nUsers + 1 }, (_, u) => 2 * u);
  const rows: number[] = [];
  for (let u = 0; u < nUsers; u++) rows.push(...[u % nItems, (u * 7 + 3) % nItems].sort((a, b) => a - b));
  const train: Csr = { rows: nUsers, cols: nItems, indptr, indices: Int32Array.from(rows) };
  const data: SaeTrainData = {
    userEmb: model.params.userEmb,
    itemEmb: model.params.itemEmb,
    nUsers,
    nItems,
    dim: DIM,
    scorer: mfScorer(model),
    train,
  };
  return { data, model };
}

const small = { latents: 24, k: 3, epochs: 30, batchSize: 16, lr: 1e-2 };

describe('trainSae', () => {
  it('learns to reconstruct sparse mixtures (explained variance > 0.9), TopK keeps k latents per row', () => {
    const { data } = fixture();
    const before = trainSae(data, { ...small, epochs: 0 });
    const pair = trainSae(data, small);
    const r0 = reconstructAll(before, data.userEmb, data.itemEmb, data.nUsers, data.nItems);
    const r = reconstructAll(pair, data.userEmb, data.itemEmb, data.nUsers, data.nItems);
    const ev0 = explainedVariance(data.itemEmb, r0.itemRecon, data.nItems, DIM);
    const ev = explainedVariance(data.itemEmb, r.itemRecon, data.nItems, DIM);
    expect(ev).toBeGreaterThan(0.9);
    expect(ev).toBeGreaterThan(ev0 + 0.05);
    for (let i = 0; i < data.nItems; i++) {
      const active = r.itemCodes.subarray(i * 24, i * 24 + 24).filter((z) => z > 0).length;
      expect(active).toBeLessThanOrEqual(3);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const { data } = fixture();
    const a = trainSae(data, { ...small, epochs: 3, seed: 1 });
    const b = trainSae(data, { ...small, epochs: 3, seed: 1 });
    const c = trainSae(data, { ...small, epochs: 3, seed: 2 });
    expect(Array.from(a.item.params.W)).toEqual(Array.from(b.item.params.W));
    expect(Array.from(a.item.params.W)).not.toEqual(Array.from(c.item.params.W));
  });

  it('keeps held-out users out of the input statistics', () => {
    const { data } = fixture();
    data.userEmb.fill(100, 0, DIM); // user 0 is an outlier
    const withAll = trainSae(data, { ...small, epochs: 0 });
    const without = trainSae(
      { ...data, trainUsers: Int32Array.from({ length: 59 }, (_, i) => i + 1) },
      {
        ...small,
        epochs: 0,
      },
    );
    expect(withAll.user.params.bPre[0]).toBeGreaterThan(without.user.params.bPre[0] + 0.5);
  });

  it('gives user rows their own k while sharing the weights (userK)', () => {
    const { data } = fixture();
    const pair = trainSae(data, { ...small, epochs: 2, userK: 6 });
    expect(pair.shared).toBe(true);
    expect(pair.user.params).toBe(pair.item.params);
    expect(pair.user.config.k).toBe(6);
    expect(pair.item.config.k).toBe(3);
    const { userCodes } = encodeAll(pair, data.userEmb, data.itemEmb, data.nUsers, data.nItems);
    const maxActive = Math.max(
      ...Array.from(
        { length: data.nUsers },
        (_, u) => userCodes.subarray(u * 24, u * 24 + 24).filter((z) => z > 0).length,
      ),
    );
    expect(maxActive).toBeGreaterThan(3);
  });

  it('sidePreBias: each side subtracts its own mean, W and bEnc stay shared', () => {
    const { data } = fixture();
    // Shift the users' cloud so the two sides' means differ.
    const userEmb = data.userEmb.map((x, i) => (i % data.dim === 0 ? x + 2 : x));
    const shifted = { ...data, userEmb };
    const pair = trainSae(shifted, { ...small, epochs: 1, sidePreBias: true });
    expect(pair.user.params.W).toBe(pair.item.params.W);
    expect(pair.user.params.bEnc).toBe(pair.item.params.bEnc);
    expect(pair.user.params.inputScale).toBe(pair.item.params.inputScale);
    const mean = (emb: Float32Array, n: number, c: number): number => {
      let s = 0;
      for (let r = 0; r < n; r++) s += emb[r * data.dim + c];
      return s / n;
    };
    expect(pair.user.params.bPre[0]).toBeCloseTo(mean(userEmb, data.nUsers, 0), 4);
    expect(pair.item.params.bPre[0]).toBeCloseTo(mean(data.itemEmb, data.nItems, 0), 4);
    const plain = trainSae(shifted, { ...small, epochs: 1 });
    expect(plain.user.params.bPre).toBe(plain.item.params.bPre);
  });

  it('BatchTopK: serves with a calibrated threshold so the mean item L0 is at most k, rows vary', () => {
    const { data } = fixture();
    const pair = trainSae(data, { ...small, k: 2, batchTopK: true, maxK: 6 });
    expect(pair.user.params).toBe(pair.item.params);
    expect(pair.item.config.threshold).toBeGreaterThan(0);
    const { itemCodes } = encodeAll(pair, data.userEmb, data.itemEmb, data.nUsers, data.nItems);
    const perRow = Array.from(
      { length: data.nItems },
      (_, i) => itemCodes.subarray(i * 24, i * 24 + 24).filter((z) => z > 0).length,
    );
    const mean = perRow.reduce((a, b) => a + b, 0) / data.nItems;
    expect(mean).toBeLessThanOrEqual(2);
    expect(mean).toBeGreaterThan(1.5);
    expect(Math.max(...perRow)).toBeGreaterThan(2);
    const back = loadSae(saveSae(pair));
    expect(back.item.config.threshold).toBe(pair.item.config.threshold);
    expect(back.user.params).toBe(back.item.params);
  });

  it('Matryoshka: the first prefix reconstructs on its own better than without nesting', () => {
    const { data } = fixture();
    const prefixEv = (matryoshka?: number[]): number => {
      const pair = trainSae(data, { ...small, matryoshka, beta: 0 });
      const codes = encode(pair.item, data.itemEmb, data.nItems);
      for (let i = 0; i < data.nItems; i++) codes.fill(0, i * 24 + 6, i * 24 + 24);
      return explainedVariance(data.itemEmb, decode(pair.item, codes, data.nItems), data.nItems, DIM);
    };
    expect(prefixEv([6, 24])).toBeGreaterThan(prefixEv(undefined) + 0.1);
  });

  it('reports progress per epoch, dead counts, and stops when aborted', () => {
    const { data } = fixture();
    const events: number[] = [];
    const res = trainSaeDetailed(data, {
      ...small,
      epochs: 4,
      onProgress: (e) => events.push(e.epoch ?? -1),
    });
    expect(events).toEqual([1, 2, 3, 4]);
    expect(res.history).toHaveLength(4);
    expect(res.history[3].loss.total).toBeLessThan(res.history[0].loss.total);
    // Some of 24 latents fire with k = 3 over 90 items.
    expect(res.history[3].deadItems).toBeLessThan(small.latents);
    // 200 latents with k = 1: at most 90 of them can fire on 90 items, so at least 110 are dead.
    const wide = trainSaeDetailed(data, { ...small, latents: 200, k: 1, epochs: 1, resampleDead: false });
    expect(wide.history[0].deadItems).toBeGreaterThanOrEqual(110);
    expect(wide.history[0].deadItems).toBeLessThan(200);
    const ctl = new AbortController();
    const epochs: number[] = [];
    const stopAfterTwo = (e: { epoch?: number }) => {
      epochs.push(e.epoch ?? -1);
      if (e.epoch === 2) ctl.abort();
    };
    expect(() => trainSae(data, { ...small, signal: ctl.signal, onProgress: stopAfterTwo })).toThrow(
      /aborted/,
    );
    expect(epochs).toEqual([1, 2]);
  });

  it('pursuit: serves pursuit codes (users k, items pooled) that reconstruct better than the encoder', () => {
    const { data } = fixture();
    const opts = { ...small, epochs: 10, k: 2 };
    const plain = trainSae(data, { ...opts, userK: 4 }); // the same atoms per code on both sides
    const pursuit = trainSae(data, { ...opts, pursuit: { userK: 4, itemPool: 6 } });
    expect(pursuit.user.config.pursuit).toEqual({ k: 4, pool: 0 });
    expect(pursuit.item.config.pursuit).toEqual({ k: 2, pool: 6 });
    expect(pursuit.user.params.W).toBe(pursuit.item.params.W);
    const ev = (pair: typeof plain) => {
      const r = reconstructAll(pair, data.userEmb, data.itemEmb, data.nUsers, data.nItems);
      return {
        items: explainedVariance(data.itemEmb, r.itemRecon, data.nItems, DIM),
        users: explainedVariance(data.userEmb, r.userRecon, data.nUsers, DIM),
        maxItemL0: Math.max(
          ...Array.from(
            { length: data.nItems },
            (_, i) => r.itemCodes.subarray(i * 24, i * 24 + 24).filter((z) => z > 0).length,
          ),
        ),
      };
    };
    const a = ev(plain);
    const b = ev(pursuit);
    expect(b.items).toBeGreaterThan(a.items);
    expect(b.users).toBeGreaterThan(a.users);
    expect(b.maxItemL0).toBeLessThanOrEqual(2);
    expect(() => trainSae(data, { ...opts, pursuit: { userK: 0 } })).toThrow(/pursuit.userK/);
    expect(() => trainSae(data, { ...opts, k: 3, pursuit: { itemPool: 2 } })).toThrow(/pursuit.itemPool/);
    const perSide = trainSae(data, { ...opts, shared: false, pursuit: { userK: 4, itemPool: 6 } });
    expect(perSide.user.params.W).not.toBe(perSide.item.params.W);
    expect(ev(perSide).maxItemL0).toBeLessThanOrEqual(2);
  });

  it('rejects out-of-range options with BAD_CONFIG naming the option', () => {
    const { data } = fixture();
    try {
      trainSae(data, { latents: 4, k: 9 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(MlError);
      expect((e as MlError).code).toBe('BAD_CONFIG');
      expect((e as MlError).field).toBe('k');
    }
    expect(() => trainSae(data, { matryoshka: [64, 32] })).toThrow(/matryoshka/);
    // A misspelt option is refused, not ignored; so is a mistyped one, quoting what was given.
    expect(() => trainSae(data, { latent: 64 } as never)).toThrow(/SAE option latent: is not an SAE option/);
    expect(() => trainSae(data, { k: '8' } as never)).toThrow(/SAE option k: .*got "8"/);
  });

  it('refuses weights that training drove to NaN or Infinity (DIVERGED, naming the table)', () => {
    const { data } = fixture();
    try {
      trainSae(data, { ...small, epochs: 3, lr: 1e30 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(MlError);
      expect((e as MlError).code).toBe('DIVERGED');
      expect((e as MlError).message).toMatch(
        /SAE training diverged .*: (W|bEnc|bPre) holds (NaN|-?Infinity).*lower learning rate/,
      );
    }
  });

  it('refuses non-finite input embeddings by name, rather than blaming the learning rate', () => {
    const { data } = fixture();
    const itemEmb = data.itemEmb.slice();
    itemEmb[3 * DIM + 2] = Number.NaN;
    expect(() => trainSae({ ...data, itemEmb }, { ...small, epochs: 1 })).toThrow(
      /SAE training input: itemEmb holds NaN \(row 3\); the recommender's embeddings must be finite/,
    );
  });

  it('derives ρ from k/latents, at most one half (k = latents is a valid, if dense, TopK)', () => {
    expect(resolveSaeOptions({ latents: 1024, k: 8 }, 4).rho).toBeCloseTo(8 / 1024, 12);
    expect(resolveSaeOptions({ latents: 8, k: 8 }, 4).rho).toBe(0.5);
    expect(resolveSaeOptions({ latents: 8, k: 8, rho: 0.2 }, 4).rho).toBe(0.2);
  });
});

describe('the prediction-aware term (β·L_pred) in training', () => {
  /** Users look along dimension 0 only, so scores depend on the items' first coordinate alone. */
  function oneAxisScores(): SaeTrainData {
    const D = 6;
    const nUsers = 40;
    const nItems = 80;
    const rng = new Rng(3);
    const userEmb = new Float32Array(nUsers * D);
    for (let u = 0; u < nUsers; u++) userEmb[u * D] = 0.5 + rng.nextFloat();
    const itemEmb = fillNormal(new Float32Array(nItems * D), rng, 1);
    const model = unbiasedMf(userEmb, itemEmb, D);
    const train: Csr = {
      rows: nUsers,
      cols: nItems,
      indptr: Int32Array.from({ length: nUsers + 1 }, (_, u) => u),
      indices: Int32Array.from({ length: nUsers }, (_, u) => u % nItems),
    };
    return { userEmb, itemEmb, nUsers, nItems, dim: D, scorer: mfScorer(model), train };
  }

  /** Mean squared difference between the scorer on original and on reconstructed embeddings, all pairs. */
  function scoreError(data: SaeTrainData, pair: ReturnType<typeof trainSae>): number {
    const d = data.dim;
    const r = reconstructAll(pair, data.userEmb, data.itemEmb, data.nUsers, data.nItems);
    const row = (e: Float32Array, x: number) => e.subarray(x * d, (x + 1) * d);
    let sum = 0;
    for (let u = 0; u < data.nUsers; u++)
      for (let i = 0; i < data.nItems; i++) {
        const s0 = data.scorer.score(u, i, row(data.userEmb, u), row(data.itemEmb, i));
        const s1 = data.scorer.score(u, i, row(r.userRecon, u), row(r.itemRecon, i));
        sum += (s1 - s0) ** 2;
      }
    return sum / (data.nUsers * data.nItems);
  }

  it('brings the scores of reconstructed pairs closer to the original ones than β = 0 (same seed)', () => {
    // One active latent cannot reconstruct a 6-d item: L_emb spreads the error over all coordinates,
    // L_pred pulls it off the one the scores read (measured: 0.39 → 0.13 at β = 10).
    const data = oneAxisScores();
    const opts = { latents: 16, k: 1, epochs: 40, batchSize: 16, lr: 1e-2 };
    const without = scoreError(data, trainSae(data, { ...opts, beta: 0 }));
    const with10 = scoreError(data, trainSae(data, { ...opts, beta: 10 }));
    expect(with10).toBeLessThan(0.6 * without);
  });

  it('β warm-up ramps β linearly per epoch, β·e/betaWarmup, then holds it', () => {
    // lr so small that the SAE stays put: both runs see the same batches, so the epochs' L_pred (β
    // included) differ only by the warm-up factor.
    const data = oneAxisScores();
    const opts = { latents: 16, k: 2, epochs: 6, batchSize: 16, lr: 1e-9, beta: 2, resampleDead: false };
    const ramp = trainSaeDetailed(data, { ...opts, betaWarmup: 4 }).history;
    const flat = trainSaeDetailed(data, opts).history;
    ramp.forEach((h, e) => {
      expect(flat[e].loss.pred).toBeGreaterThan(0);
      expect(h.loss.pred / flat[e].loss.pred, `epoch ${e + 1}`).toBeCloseTo(Math.min(1, (e + 1) / 4), 5);
      expect(h.loss.emb).toBeCloseTo(flat[e].loss.emb, 6);
    });
  });

  it('predScale is 1 / Var of the frozen scores over (train user, item) pairs', () => {
    const data = oneAxisScores();
    const d = data.dim;
    let sum = 0;
    let sq = 0;
    const users = Int32Array.from({ length: data.nUsers }, (_, u) => u);
    for (const u of users)
      for (let i = 0; i < data.nItems; i++) {
        const s = data.scorer.score(
          u,
          i,
          data.userEmb.subarray(u * d, (u + 1) * d),
          data.itemEmb.subarray(i * d, (i + 1) * d),
        );
        sum += s;
        sq += s * s;
      }
    const n = data.nUsers * data.nItems;
    const variance = sq / n - (sum / n) ** 2;
    // Sampled, not exhaustive: 4 096 random pairs estimate the variance to a few per cent.
    expect(predictionScale(data, users, new Rng(1)) * variance).toBeCloseTo(1, 1);
    // Scores ten times larger: a hundredth of the weight.
    const scaled = { ...data, userEmb: data.userEmb.map((v) => 10 * v) };
    const ratio = predictionScale(data, users, new Rng(1)) / predictionScale(scaled, users, new Rng(1));
    expect(ratio).toBeCloseTo(100, 4);
  });

  it('pairs each user with one of its own training positives / top items (positions into the batch)', () => {
    const { data } = fixture();
    const userOrder = Int32Array.from({ length: data.nUsers }, (_, u) => u);
    const itemOrder = Int32Array.from({ length: data.nItems }, (_, i) => (i * 7) % data.nItems);
    const tops = 3;
    const topLists = Int32Array.from({ length: data.nUsers * tops }, (_, q) => (q * 11 + 5) % data.nItems);
    const { indptr, indices } = data.train;
    for (const pairSampling of ['positives', 'top'] as const) {
      const o = resolveSaeOptions({ ...small, pairSampling }, DIM);
      for (let s = 0; s < 3; s++) {
        const b = makeBatch(o, data, topLists, userOrder, itemOrder, s, 20, new Rng(s));
        expect(b.pairU.length).toBe(b.users.length);
        for (let q = 0; q < b.pairU.length; q++) {
          const u = b.users[b.pairU[q]];
          const i = b.items[b.pairI[q]];
          const allowed =
            pairSampling === 'positives'
              ? Array.from(indices.subarray(indptr[u], indptr[u + 1]))
              : Array.from(topLists.subarray(u * tops, (u + 1) * tops));
          expect(allowed, `${pairSampling}: user ${u} paired with item ${i}`).toContain(i);
        }
      }
    }
  });
});

describe('saveSae / loadSae', () => {
  it('round-trips shared, shared-with-userK and per-side SAEs exactly', () => {
    const { data } = fixture();
    for (const opts of [
      {},
      { userK: 5 },
      { shared: false },
      { userK: 5, sidePreBias: true },
      { pursuit: {} },
    ]) {
      const pair = trainSae(data, { ...small, epochs: 2, ...opts });
      const back = loadSae(saveSae(pair));
      expect(back.shared).toBe(pair.shared);
      expect(back.user.config).toEqual(pair.user.config);
      expect(back.item.config).toEqual(pair.item.config);
      if (pair.shared && !('sidePreBias' in opts)) expect(back.user.params).toBe(back.item.params);
      if (pair.shared) expect(back.user.params.W).toBe(back.item.params.W);
      expect(Array.from(back.item.params.bPre)).toEqual(Array.from(pair.item.params.bPre));
      const a = encodeAll(pair, data.userEmb, data.itemEmb, data.nUsers, data.nItems);
      const b = encodeAll(back, data.userEmb, data.itemEmb, data.nUsers, data.nItems);
      expect(Array.from(b.userCodes)).toEqual(Array.from(a.userCodes));
      expect(Array.from(b.itemCodes)).toEqual(Array.from(a.itemCodes));
    }
  });
  it('rejects a corrupted artifact', () => {
    const { data } = fixture();
    const bytes = saveSae(trainSae(data, { ...small, epochs: 1 }));
    bytes[bytes.length - 3] ^= 0xff;
    expect(() => loadSae(bytes)).toThrow(/checksum/);
  });
});
