import { describe, expect, it } from 'vitest';
import { fillNormal, Rng } from '../../../src/ml/core/rng.ts';
import { decode, encode, keepTopK } from '../../../src/ml/sae/model.ts';
import type { Sae } from '../../../src/ml/sae/types.ts';

/** Slow reference: dense pre-activations, ReLU, keepTopK. */
function encodeReference(sae: Sae, x: Float32Array, n: number): Float32Array {
  const { inputDim: d, latents: m, activation, k } = sae.config;
  const { W, bEnc, bPre, inputScale } = sae.params;
  const z = new Float32Array(n * m);
  for (let r = 0; r < n; r++) {
    const xh = Float32Array.from({ length: d }, (_, c) => (x[r * d + c] - bPre[c]) / inputScale[0]);
    for (let j = 0; j < m; j++) {
      let s = bEnc[j];
      for (let c = 0; c < d; c++) s += W[j * d + c] * xh[c];
      z[r * m + j] = Math.max(0, s);
    }
    if (activation === 'topk' && k !== undefined) keepTopK(z, r * m, m, k);
  }
  return z;
}

describe('encode / decode', () => {
  const rng = new Rng(3);
  const d = 5;
  const m = 13;
  const n = 263; // not a multiple of the 4-row or 256-row blocks
  const make = (activation: 'relu' | 'topk'): Sae => ({
    kind: 'sae',
    config: { inputDim: d, latents: m, activation, k: 4 },
    params: {
      W: fillNormal(new Float32Array(m * d), rng, 1),
      bEnc: fillNormal(new Float32Array(m), rng, 0.3),
      bPre: fillNormal(new Float32Array(d), rng, 0.5),
      inputScale: Float32Array.of(1.7),
    },
  });
  const x = fillNormal(new Float32Array(n * d), rng, 1);
  for (const activation of ['relu', 'topk'] as const) {
    it(`${activation}: matches the dense reference and TopK keeps ≤ k active latents`, () => {
      const sae = make(activation);
      const z = encode(sae, x, n);
      expect(Array.from(z)).toEqual(Array.from(encodeReference(sae, x, n)));
      if (activation === 'topk')
        for (let r = 0; r < n; r++)
          expect(z.subarray(r * m, r * m + m).filter((v) => v > 0).length).toBeLessThanOrEqual(4);
    });
  }
  it('a NaN pre-activation is inactive under TopK as under ReLU (it never takes a slot)', () => {
    for (const activation of ['relu', 'topk'] as const) {
      const nan = make(activation);
      nan.params.W.fill(Number.NaN, 2 * d, 3 * d);
      // The same SAE with neuron 2 switched off instead: its slot goes to the next strongest neuron.
      const off: Sae = {
        ...nan,
        params: { ...nan.params, W: nan.params.W.slice(), bEnc: nan.params.bEnc.slice() },
      };
      off.params.W.fill(0, 2 * d, 3 * d);
      off.params.bEnc[2] = -1;
      expect(Array.from(encode(nan, x, n)), activation).toEqual(Array.from(encode(off, x, n)));
    }
  });

  it('decode is inputScale · Wᵀz + bPre', () => {
    const sae = make('relu');
    const z = Float32Array.from({ length: m }, (_, j) => (j === 2 ? 0.5 : j === 7 ? 2 : 0));
    const xr = decode(sae, z, 1);
    for (let c = 0; c < d; c++) {
      const want = 1.7 * (0.5 * sae.params.W[2 * d + c] + 2 * sae.params.W[7 * d + c]) + sae.params.bPre[c];
      expect(xr[c]).toBeCloseTo(want, 5);
    }
  });
});
