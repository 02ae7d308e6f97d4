import { describe, expect, it } from 'vitest';
import { type DenseKernel, jsKernel, type ReluMlpTrainer } from '../../../src/ml/nn/dense-kernel.ts';
import { loadDenseKernel } from '../../../src/ml/nn/tfjs-kernel.ts';
import { type ComputeShape, computeWork, runKernel } from '../../../src/ml/pipeline/compute.ts';
import { evaluateStage, loadStage, recommenderStage, saeStage } from '../../../src/ml/pipeline/stages.ts';
import { SAE_DEFAULTS } from '../../../src/ml/sae/options.ts';

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
    // A partial SAE configuration is counted, not validated (the memory check passes latents and epochs).
    const epochs = SAE_DEFAULTS.epochs;
    expect(computeWork({ ...ML1M, model: 'mf', sae: { latents: 4 } })).toBe(epochs * (6040 + 3706) * 20 * 4);
  });
});

describe('runKernel', () => {
  it('keeps the loops, without starting tfjs, for a run with nothing for a kernel, whatever the choice', async () => {
    expect(await runKernel('wasm', { ...ML1M, model: 'mf' })).toBe(jsKernel);
    expect((await runKernel('wasm', ML1M)).name).toBe('wasm');
    expect(await runKernel('js', ML1M)).toBe(jsKernel);
  });
});

describe('the run kernel reaches every NCF stage', () => {
  /** The wasm kernel, counting its chained scoring calls and its training batches. */
  async function counting() {
    const wasm = await loadDenseKernel('wasm');
    const calls = { scored: 0, trained: 0 };
    const kernel: DenseKernel = {
      ...wasm,
      reluMlp(X, layers, n, out, shift) {
        calls.scored++;
        wasm.reluMlp?.(X, layers, n, out, shift);
      },
      reluMlpTrainer(layers) {
        const inner = wasm.reluMlpTrainer?.(layers) as ReluMlpTrainer;
        return {
          forward: (X, n, logits) => {
            calls.trained++;
            inner.forward(X, n, logits);
          },
          backward: (d, n, grads, dX) => inner.backward(d, n, grads, dX),
        };
      },
    };
    return { kernel, calls };
  }

  it('trains and ranks, trains the SAE (its top-scored pairs) and measures fidelity on it', async () => {
    const data = loadStage('synthetic:users=80,items=50,seed=3');
    const { kernel, calls } = await counting();
    const rec = recommenderStage(data, 'ncf', { dim: 4, epochs: 1, kernel });
    expect(calls.trained).toBeGreaterThan(0);
    expect(calls.scored).toBeGreaterThan(0);
    expect(rec.compute).toBe('wasm');
    calls.scored = 0;
    const sae = { latents: 8, k: 2, epochs: 1, pairSampling: ['top' as const], kernel };
    const trained = saeStage(data, rec.recommender, sae, 0.2, 0);
    expect(calls.scored).toBeGreaterThan(0);
    calls.scored = 0;
    evaluateStage(data, rec.recommender, trained, { samples: 0, kernel });
    expect(calls.scored).toBeGreaterThan(0);
  });
});
