// TopK/BatchTopK at the cut, and sparse codes of edited (negative) activations.
import { describe, expect, it } from 'vitest';
import type { MfModel } from '../../../src/ml/models/types.ts';
import { encode } from '../../../src/ml/sae/model.ts';
import { keepBatchTopK, type SparseCodes, sparseCode } from '../../../src/ml/sae/sparse.ts';
import type { Sae } from '../../../src/ml/sae/types.ts';
import { recommend } from '../../../src/ml/steer/recommend.ts';
import { tinyBundle } from '../steer/fixture.ts';

describe('TopK ties at the cut', () => {
  it('keep the lower latent index (as documented for encode/keepTopK)', () => {
    // latents 0 and 2 have identical encoder rows and biases; k = 1
    const sae: Sae = {
      kind: 'sae',
      config: { inputDim: 2, latents: 3, activation: 'topk', k: 1 },
      params: {
        W: Float32Array.of(1, 0.5, 0.2, 0.1, 1, 0.5),
        bEnc: Float32Array.of(0.1, 0, 0.1),
        bPre: new Float32Array(2),
        inputScale: Float32Array.of(1),
      },
    };
    const z = encode(sae, Float32Array.of(1, 1), 1);
    expect(Array.from(z)).toEqual([Math.fround(1.6), 0, 0]);
  });
});

describe('BatchTopK', () => {
  it('keeps exactly `budget` activations when they are all distinct', () => {
    const n = 4;
    const cap = 3;
    const codes: SparseCodes = {
      n,
      cap,
      idx: Int32Array.from({ length: n * cap }, (_, t) => t % cap),
      // each row strongest first, all 12 values distinct
      val: Float32Array.from({ length: n * cap }, (_, t) => 100 - (t % cap) * 10 - Math.floor(t / cap)),
      count: new Int32Array(n).fill(cap),
    };
    keepBatchTopK(codes, 7);
    expect(Array.from(codes.count).reduce((a, b) => a + b, 0)).toBe(7);
    expect(Array.from(codes.count)).toEqual([2, 2, 2, 1]);
  });
});

describe('sparse codes of edited (possibly negative) activations', () => {
  it('sparseCode keeps every nonzero entry, negative ones included', () => {
    const c = sparseCode(Float32Array.of(0, -1.5, 0, 2, 0));
    expect(Array.from(c.idx)).toEqual([1, 3]);
    expect(Array.from(c.val)).toEqual([-1.5, 2]);
  });

  it('over-suppressing a user neuron (strength 2 → z′ = −z) leaves the MF residual unchanged', () => {
    // e′ − D(z′) = e − D(z): the explained side's reconstruction error does not move with the edit.
    const bundle = tinyBundle({ latents: 10 });
    const model = bundle.recommender as MfModel;
    const { dim, nItems } = model;
    const u = 2;
    const z = encode(bundle.sae.user, model.params.userEmb.subarray(u * dim, (u + 1) * dim), 1);
    const j = z.findIndex((v) => v > 0);
    expect(j).toBeGreaterThanOrEqual(0);
    const k = nItems - 4; // every unseen item, so both lists hold the same items
    const explain = { side: 'user' as const, topN: 10 };
    const plain = recommend(bundle, u, { k, explain });
    const steered = recommend(bundle, u, {
      k,
      explain,
      policies: [
        { kind: 'suppress', neuron: j, strength: 2, users: [bundle.dataset.users.ids[u]], on: 'users' },
      ],
    });
    const before = new Map(plain.items.map((x) => [x.index, x.explanation!.residual]));
    for (const x of steered.items) expect(x.explanation!.residual).toBeCloseTo(before.get(x.index)!, 5);
    // and the suppressed neuron is listed with its negative activation
    const listed = steered.items[0].explanation!.top.find((c) => c.neuron === j);
    expect(listed?.activation).toBeCloseTo(-z[j], 5);
  });
});
