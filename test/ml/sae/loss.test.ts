import { describe, expect, it } from 'vitest';
import { gradCheck } from '../../../src/ml/core/gradcheck.ts';
import { fillNormal, Rng } from '../../../src/ml/core/rng.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import { ncfScorer } from '../../../src/ml/models/ncf/scorer.ts';
import type { MfModel, NcfModel, PairScorer } from '../../../src/ml/models/types.ts';
import { initMlp } from '../../../src/ml/nn/mlp.ts';
import {
  allocGrads,
  type LossWeights,
  type SaeBatch,
  type SaeGrads,
  saeLoss,
} from '../../../src/ml/sae/loss.ts';
import type { Sae, SaePair } from '../../../src/ml/sae/types.ts';

const D = 4;
const M = 6;
const N_USERS = 5;
const N_ITEMS = 7;

function makeSae(rng: Rng, activation: 'relu' | 'topk', matryoshka?: number[]): Sae {
  const W = fillNormal(new Float32Array(M * D), rng, 0.6);
  const bEnc = fillNormal(new Float32Array(M), rng, 0.2);
  return {
    kind: 'sae',
    config: { inputDim: D, latents: M, activation, ...(activation === 'topk' ? { k: 3 } : {}), matryoshka },
    // Each SAE its own input scale and pre-bias, as separate SAEs get from their side's data: a gradient
    // that used one side's scale on the other passed when both were 1.3.
    params: {
      W,
      bEnc,
      bPre: fillNormal(new Float32Array(D), rng, 0.1),
      inputScale: Float32Array.of(0.8 + rng.nextFloat()),
    },
  };
}

function makeMf(rng: Rng): MfModel {
  return {
    kind: 'mf',
    nUsers: N_USERS,
    nItems: N_ITEMS,
    dim: D,
    params: {
      userEmb: fillNormal(new Float32Array(N_USERS * D), rng, 1),
      itemEmb: fillNormal(new Float32Array(N_ITEMS * D), rng, 1),
      userBias: fillNormal(new Float32Array(N_USERS), rng, 0.3),
      itemBias: fillNormal(new Float32Array(N_ITEMS), rng, 0.3),
      globalBias: Float32Array.of(0.1),
    },
  };
}

function makeNcf(rng: Rng): NcfModel {
  const layers = initMlp(2 * D, [6, 4], rng);
  for (const l of layers) fillNormal(l.b, rng, 0.1);
  return {
    kind: 'ncf',
    nUsers: N_USERS,
    nItems: N_ITEMS,
    dim: D,
    hidden: [6, 4],
    params: {
      userEmb: fillNormal(new Float32Array(N_USERS * D), rng, 1),
      itemEmb: fillNormal(new Float32Array(N_ITEMS * D), rng, 1),
      layers,
    },
  };
}

const batch: SaeBatch = {
  users: Int32Array.of(0, 2, 4, 1),
  items: Int32Array.of(6, 1, 3, 0, 5),
  pairU: Int32Array.of(0, 1, 2, 3, 0, 2),
  pairI: Int32Array.of(0, 1, 2, 3, 4, 4),
};

const none: LossWeights = { alpha: 0, beta: 0, l1: 0, kl: 0, rho: 0.3, predScale: 0.7, prefixes: [M] };
/** Every term on, two Matryoshka prefixes. */
const allTerms: LossWeights = {
  alpha: 1,
  beta: 0.5,
  l1: 0.1,
  kl: 0.2,
  rho: 0.25,
  predScale: 0.9,
  prefixes: [3, M],
};

/** Checks the analytic gradient of the loss (with only some terms on) against finite differences. */
function check(pair: SaePair, model: MfModel | NcfModel, scorer: PairScorer, w: LossWeights): void {
  const saes = pair.shared ? [pair.user] : [pair.user, pair.item];
  const grads = new Map<Sae, SaeGrads>(saes.map((s) => [s, allocGrads(s)]));
  const input = { userEmb: model.params.userEmb, itemEmb: model.params.itemEmb, scorer };
  const first = saeLoss(pair, input, batch, w, grads);
  expect(first.parts.total).toBeGreaterThan(0);
  const analytic = saes.map((s) => ({ W: grads.get(s)!.W.slice(), bEnc: grads.get(s)!.bEnc.slice() }));
  const scratch = new Map<Sae, SaeGrads>(saes.map((s) => [s, allocGrads(s)]));
  const loss = (): number => saeLoss(pair, input, batch, w, scratch).parts.total;
  saes.forEach((sae, k) => {
    for (const name of ['W', 'bEnc'] as const) {
      const g = analytic[k][name];
      expect(g.some((x) => x !== 0)).toBe(true);
      // Elements whose ±eps step crosses a TopK/ReLU boundary are left out of the error (a neuron near the
      // cut takes its whole row of W with it), at most a third of them, and must still lie between the
      // one-sided differences there.
      const r = gradCheck(sae.params[name], g, loss, { eps: 1e-3, kinkEps: 2e-3 });
      const scale = Math.max(1, ...Array.from(g, Math.abs));
      expect(r.maxAbsError / scale, `${name} worst index ${r.worstIndex}`).toBeLessThan(2e-3);
      expect(r.skipped, `${name} elements at a kink`).toBeLessThanOrEqual(Math.floor(g.length / 3));
      expect(r.kinkViolations, `${name} wrong at a kink`).toBe(0);
    }
  });
}

const scorers: [string, (rng: Rng) => [MfModel | NcfModel, PairScorer]][] = [
  [
    'MF',
    (rng) => {
      const m = makeMf(rng);
      return [m, mfScorer(m)];
    },
  ],
  [
    'NCF',
    (rng) => {
      const m = makeNcf(rng);
      return [m, ncfScorer(m)];
    },
  ],
];

describe('SAE loss gradients (finite differences)', () => {
  for (const [name, build] of scorers) {
    for (const activation of ['topk', 'relu'] as const) {
      for (const shared of [true, false]) {
        const tag = `${name}, ${activation}, ${shared ? 'shared' : 'per side'}`;
        const setup = (seed: number, matryoshka?: number[]): [SaePair, MfModel | NcfModel, PairScorer] => {
          const rng = new Rng(seed);
          const [model, scorer] = build(rng);
          const u = makeSae(rng, activation, matryoshka);
          const pair: SaePair = shared
            ? { shared, user: u, item: u }
            : { shared, user: u, item: makeSae(rng, activation, matryoshka) };
          return [pair, model, scorer];
        };
        it(`L_emb (${tag})`, () => {
          const [pair, model, scorer] = setup(1);
          check(pair, model, scorer, { ...none, alpha: 1.5 });
        });
        it(`L_emb with Matryoshka prefixes (${tag})`, () => {
          const [pair, model, scorer] = setup(2, [2, 4, M]);
          check(pair, model, scorer, { ...none, alpha: 1, prefixes: [2, 4, M] });
        });
        it(`L_pred through the frozen scorer (${tag})`, () => {
          const [pair, model, scorer] = setup(3);
          check(pair, model, scorer, { ...none, beta: 2 });
        });
        it(`L1 on codes (${tag})`, () => {
          const [pair, model, scorer] = setup(4);
          check(pair, model, scorer, { ...none, l1: 0.5 });
        });
        it(`KL on activation rates (${tag})`, () => {
          const [pair, model, scorer] = setup(5);
          check(pair, model, scorer, { ...none, kl: 0.4, rho: 0.2 });
        });
        it(`L_emb + L_pred with a BatchTopK budget (${tag})`, () => {
          const [pair, model, scorer] = setup(8); // a seed whose activations sit ≥ eps from the batch cut
          check(pair, model, scorer, { ...none, alpha: 1, beta: 1, batchK: { user: 1.5, item: 2 } });
        });
        it(`all terms together (${tag})`, () => {
          const [pair, model, scorer] = setup(6, [3, M]);
          check(pair, model, scorer, allTerms);
        });
      }
    }
  }
});

describe('SAE loss gradients, one shared SAE seen through two side objects (finite differences)', () => {
  // Training builds a shared pair whose user side is a distinct Sae object over the very same W and bEnc
  // when users keep their own TopK k (userK) or their own pre-bias (sidePreBias); both sides then
  // accumulate into one gradient buffer and KL pools both sides' rows. The tests above only use one object.
  for (const [name, build] of scorers)
    for (const variant of ['userK', 'sidePreBias', 'userK + sidePreBias'] as const)
      it(`all terms, ${name}, ${variant}`, () => {
        const rng = new Rng(21);
        const [model, scorer] = build(rng);
        const item = makeSae(rng, 'topk', [3, M]);
        const ownK = variant !== 'sidePreBias';
        const ownPre = variant !== 'userK';
        const user: Sae = {
          ...item,
          config: { ...item.config, ...(ownK ? { k: 5 } : {}) },
          params: { ...item.params, ...(ownPre ? { bPre: fillNormal(new Float32Array(D), rng, 0.3) } : {}) },
        };
        expect(user.params.W).toBe(item.params.W);
        expect(user.params.bEnc).toBe(item.params.bEnc);
        const pair: SaePair = { shared: true, user, item };
        const w = allTerms;
        const input = { userEmb: model.params.userEmb, itemEmb: model.params.itemEmb, scorer };
        const g = allocGrads(item);
        const grads = new Map<Sae, SaeGrads>([
          [item, g],
          [user, g],
        ]);
        saeLoss(pair, input, batch, w, grads);
        const analytic = { W: g.W.slice(), bEnc: g.bEnc.slice() };
        const s = allocGrads(item);
        const scratch = new Map<Sae, SaeGrads>([
          [item, s],
          [user, s],
        ]);
        const loss = (): number => saeLoss(pair, input, batch, w, scratch).parts.total;
        for (const p of ['W', 'bEnc'] as const) {
          const a = analytic[p];
          expect(a.some((x) => x !== 0)).toBe(true);
          const r = gradCheck(item.params[p], a, loss, { eps: 1e-3, kinkEps: 2e-3 });
          const scale = Math.max(1, ...Array.from(a, Math.abs));
          expect(r.maxAbsError / scale, `${p} worst index ${r.worstIndex}`).toBeLessThan(2e-3);
          expect(r.skipped, `${p} elements at a kink`).toBeLessThanOrEqual(Math.floor(a.length / 3));
          expect(r.kinkViolations, `${p} wrong at a kink`).toBe(0);
        }
      });
});
