import { describe, expect, it } from 'vitest';
import { listedBefore, neuronLabels } from '../../../src/ml/explain/compact.ts';
import { explainMf } from '../../../src/ml/explain/mf.ts';
import { mfScorer } from '../../../src/ml/models/mf/scorer.ts';
import type { MfModel } from '../../../src/ml/models/types.ts';
import { decode, encode } from '../../../src/ml/sae/model.ts';
import { sparseCode } from '../../../src/ml/sae/sparse.ts';
import { tinyBundle } from '../steer/fixture.ts';

const row = (a: Float32Array, r: number, d: number) => a.subarray(r * d, (r + 1) * d);

/** A (user, item) pair's embeddings and SAE codes. */
function pair(b: ReturnType<typeof tinyBundle>, user: number, item: number) {
  const { params, dim } = b.recommender as MfModel;
  const uVec = row(params.userEmb, user, dim);
  const iVec = row(params.itemEmb, item, dim);
  return { uVec, iVec, uCode: encode(b.sae.user, uVec, 1), iCode: encode(b.sae.item, iVec, 1) };
}

describe('explainMf', () => {
  for (const shared of [true, false])
    it(`terms + other + base + residual = the original score (shared SAE: ${shared})`, () => {
      const b = tinyBundle({ shared, latents: 12 });
      const model = b.recommender as MfModel;
      const { dim } = model;
      const scorer = mfScorer(model);
      const labels = neuronLabels(b.neurons, 12);
      for (const [user, item] of [
        [0, 0],
        [3, 17],
        [29, 39],
        [11, 5],
      ]) {
        const { uVec, iVec, uCode, iCode } = pair(b, user, item);
        const original = scorer.score(user, item, uVec, iVec);
        // The explained side's reconstruction error seen through the other side's vector, computed
        // independently of the decomposition.
        const uRec = decode(b.sae.user, uCode, 1);
        const iRec = decode(b.sae.item, iCode, 1);
        const ownError = { user: 0, item: 0 };
        for (let c = 0; c < dim; c++) {
          ownError.user += (uVec[c] - uRec[c]) * iVec[c];
          ownError.item += (iVec[c] - iRec[c]) * uVec[c];
        }
        for (const side of ['user', 'item'] as const) {
          const e = explainMf({
            model,
            user,
            item,
            uVec,
            iVec,
            code: sparseCode(side === 'user' ? uCode : iCode),
            userSae: b.sae.user,
            itemSae: b.sae.item,
            labels,
            side,
            topN: 2,
          });
          const sumTop = e.top.reduce((s, c) => s + c.value, 0);
          expect(sumTop + e.other + e.base + e.residual).toBeCloseTo(original, 5);
          expect(e.score).toBeCloseTo(original, 5);
          expect(e.residual).toBeCloseTo(ownError[side], 4);
          expect(e.top.length).toBeLessThanOrEqual(2);
          for (const c of e.top) expect(c.side).toBe(side);
          const active = Array.from(side === 'user' ? uCode : iCode).filter((a) => a !== 0).length;
          expect(e.top.length).toBe(Math.min(2, active));
        }
      }
    });

  it('lists the largest |contributions| first with their labels, and an exact tied code has zero residual', () => {
    const b = tinyBundle({ latents: 12 });
    const model = b.recommender as MfModel;
    const { dim } = model;
    const labels = neuronLabels(b.neurons, 12);
    const user = 4;
    const item = 9;
    const uCode = encode(b.sae.user, row(model.params.userEmb, user, dim), 1);
    const iCode = encode(b.sae.item, row(model.params.itemEmb, item, dim), 1);
    // Vectors that ARE their reconstructions: the decomposition must then be complete.
    const uVec = decode(b.sae.user, uCode, 1);
    const iVec = decode(b.sae.item, iCode, 1);
    const e = explainMf({
      model,
      user,
      item,
      uVec,
      iVec,
      code: sparseCode(uCode),
      userSae: b.sae.user,
      itemSae: b.sae.item,
      labels,
      topN: 50,
    });
    expect(Math.abs(e.residual)).toBeLessThan(1e-5);
    expect(e.other).toBe(0);
    expect(e.completeness).toBeCloseTo(1, 5);
    for (let r = 1; r < e.top.length; r++)
      expect(Math.abs(e.top[r - 1].value)).toBeGreaterThanOrEqual(Math.abs(e.top[r].value));
    for (const c of e.top) expect(c.label).toBe(labels[c.neuron]);
  });

  it('lists the first topN of all contributions in `listedBefore` order and folds the rest into other', () => {
    const b = tinyBundle({ latents: 12 });
    const model = b.recommender as MfModel;
    const labels = neuronLabels(b.neurons, 12);
    for (const [user, item] of [
      [4, 9],
      [0, 3],
      [17, 30],
    ]) {
      const { uVec, iVec, uCode } = pair(b, user, item);
      const explain = (topN: number) =>
        explainMf({ model, user, item, uVec, iVec, code: sparseCode(uCode), ...saes(b), labels, topN });
      const all = explain(50);
      expect(all.other).toBe(0);
      const ordered = all.top
        .slice()
        .sort((x, y) => (listedBefore(x.value, x.neuron, x.side, y.value, y.neuron, y.side) ? -1 : 1));
      expect(all.top).toEqual(ordered);
      for (const topN of [0, 1, 2, 3]) {
        const e = explain(topN);
        expect(e.top).toEqual(ordered.slice(0, topN));
        const rest = ordered.slice(topN).reduce((sum, c) => sum + c.value, 0);
        expect(e.other).toBeCloseTo(rest, 12);
      }
    }
  });

  it('breaks ties in |contribution| towards the lower neuron', () => {
    const b = tinyBundle({ latents: 12 });
    const model = b.recommender as MfModel;
    const { dim } = model;
    const labels = neuronLabels(b.neurons, 12);
    // Decoder rows 1–3 copies of row 0: equal |activation| then gives equal |contribution|.
    const W = Float32Array.from(b.sae.user.params.W);
    for (const j of [1, 2, 3]) W.copyWithin(j * dim, 0, dim);
    const userSae = { ...b.sae.user, params: { ...b.sae.user.params, W } };
    const { uVec, iVec } = pair(b, 4, 9);
    const code = { idx: Int32Array.of(0, 1, 2, 3), val: Float32Array.of(0.5, 0.5, -0.5, 0.5) };
    const explain = (topN: number) =>
      explainMf({ model, user: 4, item: 9, uVec, iVec, code, userSae, itemSae: b.sae.item, labels, topN });
    const all = explain(50);
    expect(new Set(all.top.map((c) => Math.abs(c.value))).size).toBe(1);
    expect(all.top.map((c) => c.neuron)).toEqual([0, 1, 2, 3]);
    const two = explain(2);
    expect(two.top.map((c) => c.neuron)).toEqual([0, 1]);
    expect(two.other).toBe(all.top[2].value + all.top[3].value);
  });

  it("a delta edit of one user neuron moves that neuron's contribution by exactly the score's move", () => {
    const b = tinyBundle({ latents: 12 });
    const model = b.recommender as MfModel;
    const labels = neuronLabels(b.neurons, 12);
    const scorer = mfScorer(model);
    let checked = 0;
    for (const [user, item] of [
      [4, 9],
      [0, 3],
      [17, 30],
    ]) {
      const { uVec, iVec, uCode } = pair(b, user, item);
      const j = uCode.findIndex((a) => a > 0);
      expect(j).toBeGreaterThanOrEqual(0);
      // The steering edit e' = e + D(z') − D(z) with z'_j = 3·z_j.
      const edited = Float32Array.from(uCode);
      edited[j] *= 3;
      const delta = decode(b.sae.user, edited, 1);
      const before = decode(b.sae.user, uCode, 1);
      const uEdited = Float32Array.from(uVec, (x, c) => x + delta[c] - before[c]);
      const explain = (u: Float32Array, code: Float32Array) =>
        explainMf({ model, user, item, uVec: u, iVec, code: sparseCode(code), ...saes(b), labels, topN: 50 });
      const e0 = explain(uVec, uCode);
      const e1 = explain(uEdited, edited);
      const moved = scorer.score(user, item, uEdited, iVec) - scorer.score(user, item, uVec, iVec);
      const contribution = (e: typeof e0) => e.top.find((c) => c.neuron === j)?.value ?? 0;
      expect(contribution(e1) - contribution(e0)).toBeCloseTo(moved, 4);
      expect(e1.residual).toBeCloseTo(e0.residual, 4);
      checked++;
    }
    expect(checked).toBe(3);
  });
});

const saes = (b: ReturnType<typeof tinyBundle>) => ({ userSae: b.sae.user, itemSae: b.sae.item });
