import { describe, expect, it } from 'vitest';
import { neuronLabels } from '../../../src/ml/explain/compact.ts';
import { explainNcf } from '../../../src/ml/explain/ncf.ts';
import { ncfScorer } from '../../../src/ml/models/ncf/scorer.ts';
import type { NcfModel } from '../../../src/ml/models/types.ts';
import { encode } from '../../../src/ml/sae/model.ts';
import { tinyBundle } from '../steer/fixture.ts';

const row = (a: Float32Array, r: number, d: number) => a.subarray(r * d, (r + 1) * d);

function setup(linear: boolean, user: number, item: number) {
  const b = tinyBundle({ kind: 'ncf', linearNcf: linear, latents: 10, shared: false });
  const model = b.recommender as NcfModel;
  const { dim } = model;
  const uVec = row(model.params.userEmb, user, dim);
  const iVec = row(model.params.itemEmb, item, dim);
  return {
    b,
    model,
    input: {
      scorer: ncfScorer(model),
      user,
      item,
      uVec,
      iVec,
      uCode: encode(b.sae.user, uVec, 1),
      iCode: encode(b.sae.item, iVec, 1),
      userSae: b.sae.user,
      itemSae: b.sae.item,
      labels: neuronLabels(b.neurons, 10),
      topN: 100,
    },
  };
}

describe('explainNcf (integrated gradients over SAE codes)', () => {
  it('is exact for an MLP that is linear along the path: each neuron gets z_j·s·W_j·∇', () => {
    const { model, input } = setup(true, 2, 7);
    const e = explainNcf({ ...input, steps: 3 });
    expect(e.completeness).toBeCloseTo(1, 4);
    expect(Math.abs(e.residual)).toBeLessThan(1e-4);
    // Known answer: the linear map's gradient is w = W2·W1 (ReLU never bites), split into user/item halves.
    const { dim } = model;
    const [l1, l2] = model.params.layers;
    const grad = new Float64Array(2 * dim);
    for (let o = 0; o < l1.outDim; o++)
      for (let c = 0; c < 2 * dim; c++) grad[c] += l2.W[o] * l1.W[o * 2 * dim + c];
    for (const c of e.top) {
      const sae = c.side === 'user' ? input.userSae : input.itemSae;
      const g = c.side === 'user' ? grad.subarray(0, dim) : grad.subarray(dim);
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += sae.params.W[c.neuron * dim + d] * g[d];
      expect(c.value).toBeCloseTo(c.activation * sae.params.inputScale[0] * dot, 4);
    }
    expect(e.top.some((c) => c.side === 'item')).toBe(true);
    expect(e.top.some((c) => c.side === 'user')).toBe(true);
  });

  it('integrates by the midpoint rule: one step reads the gradient halfway along the path', () => {
    // On a ReLU MLP the gradient changes along the path, so a left or right Riemann sum gives other values.
    const { model, input } = setup(false, 5, 3);
    const { dim } = model;
    const e = explainNcf({ ...input, steps: 1 });
    const linear = (sae: typeof input.userSae, code: Float32Array) => {
      const out = new Float64Array(dim);
      for (let j = 0; j < sae.config.latents; j++)
        for (let c = 0; c < dim; c++)
          out[c] += code[j] * sae.params.inputScale[0] * sae.params.W[j * dim + c];
      return out;
    };
    const lu = linear(input.userSae, input.uCode);
    const li = linear(input.itemSae, input.iCode);
    const ua = Float32Array.from(input.uVec, (v, c) => v - 0.5 * lu[c]);
    const ia = Float32Array.from(input.iVec, (v, c) => v - 0.5 * li[c]);
    const gU = new Float32Array(dim);
    const gI = new Float32Array(dim);
    input.scorer.scoreWithGrad(input.user, input.item, ua, ia, 1, gU, gI);
    expect(e.top.length).toBeGreaterThan(2);
    for (const c of e.top) {
      const sae = c.side === 'user' ? input.userSae : input.itemSae;
      const g = c.side === 'user' ? gU : gI;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += sae.params.W[c.neuron * dim + d] * g[d];
      expect(c.value).toBeCloseTo(c.activation * sae.params.inputScale[0] * dot, 6);
    }
  });

  it('reports completeness for a ReLU MLP; the integration error shrinks with more steps', () => {
    const { input } = setup(false, 5, 3);
    const coarse = explainNcf({ ...input, steps: 1 });
    const fine = explainNcf({ ...input, steps: 512 });
    const sum = (e: typeof fine) => e.top.reduce((s, c) => s + c.value, 0) + e.other;
    expect(sum(fine) + fine.base + fine.residual).toBeCloseTo(fine.score, 5);
    expect(Math.abs(fine.completeness - 1)).toBeLessThan(0.02);
    expect(Math.abs(fine.residual)).toBeLessThanOrEqual(Math.abs(coarse.residual) + 1e-6);
  });
});
