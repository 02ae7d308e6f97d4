import { describe, expect, it } from 'vitest';
import { fillNormal, Rng } from '../../../src/ml/core/rng.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import { ncfScorer } from '../../../src/ml/models/ncf/scorer.ts';
import type { PairScorer } from '../../../src/ml/models/types.ts';
import { initMlp } from '../../../src/ml/nn/mlp.ts';
import { allocGrads, type LossWeights, saeLoss } from '../../../src/ml/sae/loss.ts';
import type { Sae } from '../../../src/ml/sae/types.ts';
import { biasedMf } from '../../helpers/models.ts';

// The loss's gradient test differentiates saeLoss itself, so a mistake made in both its forward and its
// backward pass (a dropped predScale, a sum where the definition has a mean) passes it. This test pins each
// term's VALUE to the definition in loss.ts, recomputed densely in float64 from scratch.

const D = 5;
const M = 8;
const NU = 6;
const NI = 9;

function makeSae(rng: Rng, activation: 'relu' | 'topk'): Sae {
  return {
    kind: 'sae',
    config: { inputDim: D, latents: M, activation, ...(activation === 'topk' ? { k: 3 } : {}) },
    params: {
      W: fillNormal(new Float32Array(M * D), rng, 0.6),
      bEnc: fillNormal(new Float32Array(M), rng, 0.2),
      bPre: fillNormal(new Float32Array(D), rng, 0.1),
      inputScale: Float32Array.of(0.7 + rng.nextFloat()),
    },
  };
}

const row = (e: Float32Array, r: number) => Array.from(e.subarray(r * D, (r + 1) * D));
const normalised = (s: Sae, x: number[]) => x.map((v, c) => (v - s.params.bPre[c]) / s.params.inputScale[0]);

/** ReLU(W·x̂ + b), then (TopK) the k largest kept, ties to the lower index. */
function code(s: Sae, x: number[]): number[] {
  const { W, bEnc } = s.params;
  const xh = normalised(s, x);
  const z = Array.from({ length: M }, (_, j) => {
    let a = bEnc[j];
    for (let c = 0; c < D; c++) a += W[j * D + c] * xh[c];
    return Math.max(0, a);
  });
  if (s.config.activation !== 'topk') return z;
  const keep = z
    .map((v, j) => [v, j])
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, s.config.k)
    .map(([, j]) => j);
  return z.map((v, j) => (keep.includes(j) ? v : 0));
}

/** Wᵀ z over the first `prefix` latents (normalised space). */
function decode(s: Sae, z: number[], prefix: number): number[] {
  const out = new Array<number>(D).fill(0);
  for (let j = 0; j < prefix; j++) for (let c = 0; c < D; c++) out[c] += z[j] * s.params.W[j * D + c];
  return out;
}

describe('saeLoss values against the definition (dense float64 reference)', () => {
  for (const kind of ['mf', 'ncf'] as const)
    for (const activation of ['relu', 'topk'] as const)
      for (const shared of [true, false])
        it(`${kind}, ${activation}, ${shared ? 'one shared SAE' : 'one SAE per side'}`, () => {
          const rng = new Rng(42);
          const userEmb = fillNormal(new Float32Array(NU * D), rng, 1);
          const itemEmb = fillNormal(new Float32Array(NI * D), rng, 1);
          const scorer: PairScorer =
            kind === 'mf'
              ? mfScorer(biasedMf(userEmb, itemEmb, D, rng))
              : ncfScorer({
                  kind: 'ncf',
                  nUsers: NU,
                  nItems: NI,
                  dim: D,
                  hidden: [6, 4],
                  params: { userEmb, itemEmb, layers: initMlp(2 * D, [6, 4], rng) },
                });
          const su = makeSae(rng, activation);
          const si = shared ? su : makeSae(rng, activation);
          const batch = {
            users: Int32Array.of(0, 3, 5, 1),
            items: Int32Array.of(8, 2, 4, 0, 7, 6),
            pairU: Int32Array.of(0, 1, 2, 3, 1),
            pairI: Int32Array.of(5, 4, 3, 2, 0),
          };
          const w: LossWeights = {
            alpha: 1.3,
            beta: 0.7,
            l1: 0.2,
            kl: 0.3,
            rho: 0.2,
            predScale: 0.6,
            prefixes: [3, 5, M],
          };
          const grads = new Map((shared ? [su] : [su, si]).map((s) => [s, allocGrads(s)]));
          const got = saeLoss(
            { shared, user: su, item: si },
            { userEmb, itemEmb, scorer },
            batch,
            w,
            grads,
          ).parts;

          const zu = Array.from(batch.users, (u) => code(su, row(userEmb, u)));
          const zi = Array.from(batch.items, (i) => code(si, row(itemEmb, i)));

          // L_emb: per side, mean over rows of Σ_prefix ‖x̂ − Wᵀ_prefix z‖².
          const embSide = (s: Sae, zs: number[][], rows: Int32Array, e: Float32Array) => {
            let t = 0;
            zs.forEach((z, r) => {
              const xh = normalised(s, row(e, rows[r]));
              for (const p of w.prefixes) {
                const rec = decode(s, z, p);
                for (let c = 0; c < D; c++) t += (rec[c] - xh[c]) ** 2;
              }
            });
            return t / zs.length;
          };
          const emb = embSide(su, zu, batch.users, userEmb) + embSide(si, zi, batch.items, itemEmb);

          // L_pred: mean over pairs of (s(ũ, ĩ) − s(u, i))², reconstructions mapped back to the original space.
          const original = (s: Sae, z: number[]) =>
            Float32Array.from(decode(s, z, M), (v, c) => v * s.params.inputScale[0] + s.params.bPre[c]);
          let pred = 0;
          for (let q = 0; q < batch.pairU.length; q++) {
            const u = batch.users[batch.pairU[q]];
            const i = batch.items[batch.pairI[q]];
            const s0 = scorer.score(
              u,
              i,
              Float32Array.from(row(userEmb, u)),
              Float32Array.from(row(itemEmb, i)),
            );
            const s1 = scorer.score(u, i, original(su, zu[batch.pairU[q]]), original(si, zi[batch.pairI[q]]));
            pred += (s1 - s0) ** 2;
          }
          pred = (pred / batch.pairU.length) * w.predScale;

          // L_1: per side, mean over rows of Σ_j z_j.
          const sumMean = (zs: number[][]) => zs.flat().reduce((a, b) => a + b, 0) / zs.length;
          const l1 = sumMean(zu) + sumMean(zi);

          // L_KL: per SAE, Σ_j KL(ρ ‖ p_j), p_j = mean over the SAE's rows (both sides when shared) of tanh z_j.
          const klOf = (zs: number[][]) => {
            let k = 0;
            for (let j = 0; j < M; j++) {
              const p = Math.min(
                1 - 1e-6,
                Math.max(1e-6, zs.reduce((a, z) => a + Math.tanh(z[j]), 0) / zs.length),
              );
              k += w.rho * Math.log(w.rho / p) + (1 - w.rho) * Math.log((1 - w.rho) / (1 - p));
            }
            return k;
          };
          const kl = shared ? klOf([...zu, ...zi]) : klOf(zu) + klOf(zi);

          const want = { emb: w.alpha * emb, pred: w.beta * pred, l1: w.l1 * l1, kl: w.kl * kl };
          for (const term of ['emb', 'pred', 'l1', 'kl'] as const) {
            expect(want[term], term).toBeGreaterThan(1e-3); // every term is live in this batch
            expect(Math.abs(got[term] - want[term]) / want[term], term).toBeLessThan(1e-5);
          }
          expect(got.total).toBeCloseTo(want.emb + want.pred + want.l1 + want.kl, 5);
        });
});
