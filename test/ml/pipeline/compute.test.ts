import { describe, expect, it } from 'vitest';
import { jsKernel } from '../../../src/ml/nn/dense-kernel.ts';
import { type ComputeShape, computeWork, runKernel } from '../../../src/ml/pipeline/compute.ts';

const ML1M: ComputeShape = {
  model: 'ncf',
  nUsers: 6040,
  nItems: 3706,
  dim: 20,
  trainsOn: 970_009,
  scores: true,
  sae: null,
};

describe('computeWork', () => {
  it("counts NCF's scoring, its training epochs and the SAE's encoder products", () => {
    const perPair = 64 * 32 + 32 * 16 + 16;
    const scoring = 6040 * 3706 * perPair;
    // 3 samples per positive (two negatives); ML-1M's 2.9M samples an epoch get the 2-epoch floor.
    const training = 2 * 3 * 970_009 * 3 * perPair;
    expect(computeWork({ ...ML1M, trainsOn: null })).toBe(scoring);
    expect(computeWork(ML1M)).toBe(scoring + training);
    expect(computeWork({ ...ML1M, scores: false })).toBe(training);
    const sae = { latents: 1024, epochs: 30 };
    expect(computeWork({ ...ML1M, model: 'mf', sae })).toBe(30 * (6040 + 3706) * 20 * 1024);
    expect(computeWork({ ...ML1M, model: 'mf' })).toBe(0);
  });
});

describe('runKernel', () => {
  it('keeps the loops, without starting tfjs, for a run with nothing for a kernel, whatever the choice', async () => {
    expect(await runKernel('wasm', { ...ML1M, model: 'mf' })).toBe(jsKernel);
    expect((await runKernel('wasm', ML1M)).name).toBe('wasm');
    expect(await runKernel('js', ML1M)).toBe(jsKernel);
  });
});
