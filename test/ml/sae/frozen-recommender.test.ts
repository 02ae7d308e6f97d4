import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fillNormal, Rng } from '../../../src/ml/core/rng.ts';
import type { Csr } from '../../../src/ml/data/types.ts';
import { scorerFor } from '../../../src/ml/models/scorer.ts';
import type { Recommender } from '../../../src/ml/models/types.ts';
import { initMlp } from '../../../src/ml/nn/mlp.ts';
import { trainSaeDetailed } from '../../../src/ml/sae/train.ts';
import { biasedMf } from '../../helpers/models.ts';

// L_pred back-propagates through the recommender's scorer into the reconstructions only: the recommender
// is frozen. Every one of its parameter arrays must come out of SAE training bit for bit as it went in.

const D = 6;
const NU = 30;
const NI = 40;

function digest(model: Recommender): string {
  const h = createHash('sha256');
  const p = model.params;
  const arrays =
    model.kind === 'mf'
      ? [p.userEmb, p.itemEmb, model.params.userBias, model.params.itemBias, model.params.globalBias]
      : [p.userEmb, p.itemEmb, ...model.params.layers.flatMap((l) => [l.W, l.b])];
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
}

function build(kind: 'mf' | 'ncf', rng: Rng): Recommender {
  const userEmb = fillNormal(new Float32Array(NU * D), rng, 1);
  const itemEmb = fillNormal(new Float32Array(NI * D), rng, 1);
  if (kind === 'mf') return biasedMf(userEmb, itemEmb, D, rng);
  const layers = initMlp(2 * D, [16, 8, 4], rng);
  for (const l of layers) fillNormal(l.b, rng, 0.1);
  return { kind, nUsers: NU, nItems: NI, dim: D, hidden: [16, 8, 4], params: { userEmb, itemEmb, layers } };
}

describe('SAE training leaves the recommender untouched', () => {
  for (const kind of ['mf', 'ncf'] as const)
    for (const shared of [true, false])
      it(`${kind}, ${shared ? 'shared SAE' : 'one SAE per side'}, β > 0 on random, positive and top pairs`, () => {
        const rng = new Rng(5);
        const model = build(kind, rng);
        const indptr = Int32Array.from({ length: NU + 1 }, (_, u) => 3 * u);
        const indices = Int32Array.from({ length: 3 * NU }, (_, k) => (Math.floor(k / 3) * 7 + (k % 3)) % NI);
        for (let u = 0; u < NU; u++) indices.subarray(3 * u, 3 * u + 3).sort();
        const train: Csr = { rows: NU, cols: NI, indptr, indices };
        const before = digest(model);
        const { history } = trainSaeDetailed(
          {
            userEmb: model.params.userEmb,
            itemEmb: model.params.itemEmb,
            nUsers: NU,
            nItems: NI,
            dim: D,
            scorer: scorerFor(model),
            train,
          },
          {
            latents: 16,
            k: 3,
            epochs: 4,
            batchSize: 16,
            beta: 2,
            l1: 0.01,
            kl: 0.1,
            shared,
            matryoshka: [4, 16],
            pairSampling: ['random', 'positives', 'top'],
            topPairs: 5,
          },
        );
        expect(history.at(-1)!.loss.pred).toBeGreaterThan(0); // L_pred really ran through the scorer
        expect(digest(model)).toBe(before);
      });
});
