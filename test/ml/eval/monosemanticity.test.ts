import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/ml/core/rng.ts';
import {
  cosineSimilarity,
  MS_TOP_ITEMS,
  monosemanticityEmbedding,
  monosemanticityMetadata,
  monosemanticityPerNeuron,
  neighbourhoodCoherence,
  tagJaccard,
} from '../../../src/ml/eval/monosemanticity.ts';

// 4 items × 2-dim embeddings: items 0,1 point along x, item 2 along y, item 3 at 45°.
const emb = Float32Array.from([1, 0, 2, 0, 0, 3, 1, 1]);

describe('monosemanticity', () => {
  it('cosine and Jaccard similarities', () => {
    const cos = cosineSimilarity(emb, 2);
    expect(cos(0, 1)).toBeCloseTo(1, 6);
    expect(cos(0, 2)).toBeCloseTo(0, 6);
    expect(cos(0, 3)).toBeCloseTo(Math.SQRT1_2, 6);
    const jac = tagJaccard([['a', 'b'], ['b', 'c'], [], []]);
    expect(jac(0, 1)).toBeCloseTo(1 / 3, 10);
    expect(jac(2, 3)).toBe(0);
  });

  it('weights pairs by min-max normalised activations (hand-computed)', () => {
    // One neuron; activations over items [0, 2, 1, 4] → min 0, max 4 → ã = [0, .5, .25, 1].
    // Pairs among items 1,2,3 (item 0 weight 0): (1,2) .125·0, (1,3) .5·cos45, (2,3) .25·cos45.
    const codes = Float32Array.from([0, 2, 1, 4]);
    const expected = (0.5 * Math.SQRT1_2 + 0.25 * Math.SQRT1_2) / (0.125 + 0.5 + 0.25);
    expect(monosemanticityEmbedding(codes, 1, emb, 2)).toBeCloseTo(expected, 6);
  });

  it('min-max normalisation matters when the least active listed item is not at 0', () => {
    // Activations [1, 3, 2, 5] → ã = [0, .5, .25, 1]: the same weights as [0, 2, 1, 4] above, so the same
    // MS; raw activations as weights would give item 0 weight 1 instead of 0.
    const codes = Float32Array.from([1, 3, 2, 5]);
    const expected = (0.5 * Math.SQRT1_2 + 0.25 * Math.SQRT1_2) / (0.125 + 0.5 + 0.25);
    expect(monosemanticityEmbedding(codes, 1, emb, 2)).toBeCloseTo(expected, 6);
  });

  it('reads the top 30 items by default (the paper code), not 29 or 31', () => {
    // 40 items: the 30 most active point along x, the rest along y. With 30 items every pair is
    // x-x (MS 1); a 31st item would bring in y pairs.
    const n = 40;
    const e = new Float32Array(2 * n);
    const codes = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      e[2 * i + (i < 30 ? 0 : 1)] = 1;
      codes[i] = n - i; // item 0 most active
    }
    expect(MS_TOP_ITEMS).toBe(30);
    expect(monosemanticityEmbedding(codes, 1, e, 2)).toBeCloseTo(1, 10);
    codes[30] = 100; // a y item joins the top 30, pushing out an x item
    expect(monosemanticityEmbedding(codes, 1, e, 2)).toBeLessThan(0.99);
  });

  it('only the top items count', () => {
    // ã = [1, 0.5, 0, 0.75] → top-2 = items 0 and 3: MS = cos(0,3).
    const codes = Float32Array.from([4, 2, 0, 3]);
    const [ms] = monosemanticityPerNeuron(codes, 1, cosineSimilarity(emb, 2), 2);
    expect(ms).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('dead neurons and single-item neurons count 0 in the mean', () => {
    // Neuron 0: items 0,1 (cos 1) → 1. Neuron 1: dead. Neuron 2: only item 2 → 0.
    const codes = Float32Array.from([1, 0, 0, 1, 0, 0, 0, 0, 5, 0, 0, 0]);
    const per = monosemanticityPerNeuron(codes, 3, cosineSimilarity(emb, 2));
    expect(Array.from(per).map((x) => Number(x.toFixed(6)))).toEqual([1, 0, 0]);
    expect(monosemanticityEmbedding(codes, 3, emb, 2)).toBeCloseTo(1 / 3, 6);
  });

  it('metadata variant uses tag Jaccard', () => {
    const tags = [['horror'], ['horror', 'comedy'], ['drama'], []];
    const codes = Float32Array.from([3, 3, 0, 0]); // ã = [1,1,0,0] → only pair (0,1): J = 1/2
    expect(monosemanticityMetadata(codes, 1, tags)).toBeCloseTo(0.5, 10);
  });
});

describe('neighbourhoodCoherence', () => {
  it('matches a hand computation: each centre with its nearest neighbour', () => {
    // Unit vectors at 0°, 10°, 90° and 100°: the nearest pair of every centre is 10° apart.
    const deg = [0, 10, 90, 100];
    const emb = Float32Array.from(
      deg.flatMap((a) => [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180)]),
    );
    const r = neighbourhoodCoherence(emb, 2, 2, 2);
    expect(r.mean).toBeCloseTo(Math.cos((10 * Math.PI) / 180), 6);
    expect(r.best).toBeCloseTo(Math.cos((10 * Math.PI) / 180), 6);
    expect(r.bestCount).toBe(2);
    // Three items per neighbourhood now mix the two groups: lower, and the same for every centre.
    const three = neighbourhoodCoherence(emb, 2, 3);
    const expected =
      (Math.cos((10 * Math.PI) / 180) + Math.cos((80 * Math.PI) / 180) + Math.cos((90 * Math.PI) / 180)) / 3;
    expect(three.mean).toBeCloseTo(expected, 6);
  });

  it('is high for tight clusters and low for isotropic directions', () => {
    const rng = new Rng(3);
    const dim = 20;
    const centres = Array.from({ length: 10 }, () => Array.from({ length: dim }, () => rng.normal()));
    const clustered = new Float32Array(400 * dim);
    const isotropic = new Float32Array(400 * dim);
    for (let i = 0; i < 400; i++)
      for (let c = 0; c < dim; c++) {
        clustered[i * dim + c] = centres[i % 10][c] + 0.1 * rng.normal();
        isotropic[i * dim + c] = rng.normal();
      }
    const tight = neighbourhoodCoherence(clustered, dim, 30, 100);
    const loose = neighbourhoodCoherence(isotropic, dim, 30, 100);
    expect(tight.mean).toBeGreaterThan(0.95);
    expect(loose.mean).toBeLessThan(0.5);
    expect(loose.best).toBeGreaterThanOrEqual(loose.mean);
  });
});
