import { describe, expect, it } from 'vitest';
import { gradCheck } from '../../../src/ml/core/gradcheck.ts';
import { Rng } from '../../../src/ml/core/rng.ts';
import { splitHoldout } from '../../../src/ml/data/split.ts';
import type { Split } from '../../../src/ml/data/types.ts';
import { mostPopularBaseline } from '../../../src/ml/eval/baselines.ts';
import { evaluateRanking } from '../../../src/ml/eval/ranking.ts';
import { logisticBatchLoss, zeroGrads } from '../../../src/ml/models/mf/logistic.ts';
import { emptyMfModel, mfScore } from '../../../src/ml/models/mf/model.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import { trainMf } from '../../../src/ml/models/mf/train.ts';
import { scorerFor, userScorer } from '../../../src/ml/models/scorer.ts';
import { defaultDim, trainRecommender } from '../../../src/ml/models/train.ts';
import type { MfModel } from '../../../src/ml/models/types.ts';
import { randomCsr } from './mf-fixture.ts';

const data = randomCsr(90, 60, 12, 7);

describe('trainMf', () => {
  for (const objective of ['ials', 'logistic'] as const) {
    it(`${objective}: same seed gives identical weights, another seed different ones`, () => {
      const opts = { dim: 6, epochs: 3, objective, seed: 3 };
      const a = trainMf(data, opts);
      const b = trainMf(data, opts);
      const c = trainMf(data, { ...opts, seed: 4 });
      expect(Buffer.from(a.params.userEmb.buffer).equals(Buffer.from(b.params.userEmb.buffer))).toBe(true);
      expect(Buffer.from(a.params.itemBias.buffer).equals(Buffer.from(b.params.itemBias.buffer))).toBe(true);
      expect(Array.from(a.params.itemEmb)).not.toEqual(Array.from(c.params.itemEmb));
    });

    it(`${objective}: loss decreases, progress is reported and it beats most-popular`, () => {
      const split: Split = splitHoldout(data, { perUser: 2, seed: 0 });
      const losses: number[] = [];
      const model = trainMf(split.train, {
        dim: 8,
        epochs: objective === 'ials' ? 6 : 15,
        objective,
        onProgress: (e) => losses.push(e.loss ?? Number.NaN),
      });
      expect(losses.length).toBe(objective === 'ials' ? 6 : 15);
      expect(losses.at(-1)).toBeLessThan(losses[0]);
      const mf = evaluateRanking(userScorer(model), split, { k: 5 });
      const pop = evaluateRanking(mostPopularBaseline(split.train), split, { k: 5 });
      expect(mf.hr).toBeGreaterThan(pop.hr);
    });
  }

  it('stops between epochs when the signal is aborted', () => {
    const ctl = new AbortController();
    const epochs: number[] = [];
    const onProgress = (e: { epoch?: number }) => {
      if (e.epoch !== undefined && !epochs.includes(e.epoch)) epochs.push(e.epoch);
      if (e.epoch === 2) ctl.abort();
    };
    expect(() => trainMf(data, { dim: 4, epochs: 5, signal: ctl.signal, onProgress })).toThrow(/aborted/);
    expect(epochs).toEqual([1, 2]);
  });

  it('rejects bad options naming the field', () => {
    expect(() => trainMf(data, { dim: 0 })).toThrow(/dim/);
    expect(() => trainMf(data, { dim: 4, epochs: -1 })).toThrow(/epochs/);
  });
});

describe('logistic MF gradients', () => {
  it('match finite differences for every parameter', () => {
    const rng = new Rng(5);
    const model = emptyMfModel(4, 5, 3);
    for (const t of Object.values(model.params)) for (let k = 0; k < t.length; k++) t[k] = rng.normal() * 0.7;
    const users = Int32Array.of(0, 1, 1, 3, 2, 0);
    const items = Int32Array.of(0, 2, 4, 1, 2, 3);
    const labels = Float32Array.of(1, 0, 1, 0, 0, 1);
    const grads = zeroGrads(model);
    logisticBatchLoss(model, users, items, labels, 6, 0.1, grads);
    for (const name of Object.keys(grads) as (keyof typeof grads)[]) {
      const r = gradCheck(model.params[name], grads[name], () =>
        logisticBatchLoss(model, users, items, labels, 6, 0.1),
      );
      expect(r.maxAbsError, name).toBeLessThan(2e-3);
    }
  });
});

describe('mfScorer', () => {
  it('scores, accumulates gradients and scores all items like the model', () => {
    const rng = new Rng(9);
    const model = emptyMfModel(3, 7, 4);
    for (const t of Object.values(model.params)) for (let k = 0; k < t.length; k++) t[k] = rng.normal();
    const s = mfScorer(model);
    const u = model.params.userEmb.subarray(4, 8);
    const out = new Float32Array(7);
    s.scoreAll(1, u, model.params.itemEmb, out);
    for (let i = 0; i < 7; i++) {
      const iv = model.params.itemEmb.subarray(i * 4, i * 4 + 4);
      expect(out[i]).toBeCloseTo(mfScore(model, 1, i), 5);
      expect(s.score(1, i, u, iv)).toBeCloseTo(mfScore(model, 1, i), 5);
    }
    const gU = new Float32Array(4);
    const gI = new Float32Array(4);
    const iv = model.params.itemEmb.subarray(8, 12);
    s.scoreWithGrad(1, 2, u, iv, 2, gU, gI);
    for (let k = 0; k < 4; k++) {
      expect(gU[k]).toBeCloseTo(2 * iv[k], 5);
      expect(gI[k]).toBeCloseTo(2 * u[k], 5);
    }
  });
});

describe('trainRecommender / defaultDim / scorerFor', () => {
  it('dispatches MF training and scoring, with the paper’s default sizes', () => {
    const model = trainRecommender('mf', data, { dim: 5, epochs: 2, seed: 1 });
    expect(model).toMatchObject({ kind: 'mf', nUsers: 90, nItems: 60, dim: 5 });
    const out = new Float32Array(60);
    userScorer(model)(3, out);
    expect(out[7]).toBeCloseTo(mfScore(model as MfModel, 3, 7), 5);
    expect(scorerFor(model).dim).toBe(5);
    expect(defaultDim('movielens-1m')).toBe(20);
    expect(defaultDim('lastfm-hetrec')).toBe(100);
    expect(defaultDim('synthetic')).toBe(20);
  });
});

describe('trainRecommender option merging', () => {
  it('lets kind-specific options through when the common ones are undefined', () => {
    const a = trainRecommender('mf', data, { dim: 4, epochs: undefined, mf: { epochs: 1 } });
    const b = trainMf(data, { dim: 4, epochs: 1 });
    expect(Array.from(a.params.itemEmb)).toEqual(Array.from(b.params.itemEmb));
  });
});
