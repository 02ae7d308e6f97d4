import { describe, expect, it } from 'vitest';
import type { MlError } from '../../../src/ml/core/errors.ts';
import {
  checkMemoryBudget,
  estimateJobMemory,
  type JobShape,
  MEMORY_MARGIN,
  type MemoryBudget,
  TFJS_WASM_BYTES,
} from '../../../src/ml/pipeline/memory.ts';

const ML1M: JobShape = {
  users: 6040,
  items: 3706,
  interactions: 970_009,
  dim: 20,
  latents: 1024,
  saeBatch: 256,
  saes: 1,
};
const ALL = { recommender: true, sae: true, codes: true };
const PIPELINE = { data: 'data', training: 'dim', sae: 'sae.latents', codes: 'sae.latents' };
const MiB = 2 ** 20;
const configured = (mib: number): MemoryBudget => ({
  bytes: mib * MiB,
  source: 'PRISM_JOB_MEMORY_MB',
  measured: false,
});

function refusal(
  shape: JobShape,
  budget: MemoryBudget,
  { stages = ALL, levers = PIPELINE as Record<string, string>, loaded = false } = {},
): MlError {
  try {
    checkMemoryBudget(shape, estimateJobMemory(shape, stages), budget, levers, loaded);
  } catch (err) {
    return err as MlError;
  }
  throw new Error('the job was let through');
}

describe('estimateJobMemory', () => {
  it('adds the heap, the data and the weights to the largest of the stages that run one after another', () => {
    const e = estimateJobMemory(ML1M, ALL);
    expect(e.bytes).toBe(e.heap + e.data + e.weights + e.tfjs + Math.max(e.training, e.sae, e.codes));
    // Dense codes of every user and item dominate at 1024 latents: [(6040 + 3706 + 3706) × 1024] float32.
    expect(e.codes).toBe(4 * 1024 * (6040 + 2 * 3706));
    expect(e.codes).toBeGreaterThan(Math.max(e.training, e.sae));
    expect(e.tfjs).toBeGreaterThan(TFJS_WASM_BYTES); // 30 epochs of this SAE are worth starting tfjs for
    expect(e.bytes / MiB).toBeGreaterThan(150);
    expect(e.bytes / MiB).toBeLessThan(210);
  });

  it('counts only the stages a job runs, and each SAE of a pair', () => {
    const labelOnly = estimateJobMemory(ML1M, { recommender: false, sae: false, codes: true });
    expect([labelOnly.training, labelOnly.sae]).toEqual([0, 0]);
    const recOnly = estimateJobMemory(ML1M, { recommender: true, sae: false, codes: false });
    expect([recOnly.sae, recOnly.codes]).toEqual([0, 0]);
    expect(recOnly.training).toBe(4 * recOnly.weights);
    const wide = { ...ML1M, dim: 1000, latents: 8192 };
    const inputs = 2 * 4 * (6040 + 3706) * 1000;
    const pair = estimateJobMemory({ ...wide, saes: 2 }, ALL).sae - inputs;
    expect(pair).toBe(2 * (estimateJobMemory(wide, ALL).sae - inputs));
  });

  it("counts tfjs's wasm backend where 'auto' would start it for the SAE's training, not below", () => {
    const at = (saeEpochs: number) => estimateJobMemory({ ...ML1M, saeEpochs }, ALL);
    // ML-1M's 30 epochs: 30 × 9746 rows × 20 × 1024 = 6.0e9 multiply-adds; 1 epoch: 2.0e8.
    // Its runtime, the dictionary twice and a kernel call's pre-activations (1024 rows) three times, ×1.5.
    const buffers = 1.5 * 4 * 1024 * (2 * 20 + 3 * 1024);
    expect([at(30).tfjs, at(1).tfjs]).toEqual([TFJS_WASM_BYTES + buffers, 0]);
    expect(at(30).bytes - at(1).bytes).toBe(at(30).tfjs);
    // PRISM_COMPUTE: js never starts it; wasm (or gpu) always does, however small the run.
    const forced = (compute: 'js' | 'wasm' | 'gpu', saeEpochs: number) =>
      estimateJobMemory({ ...ML1M, saeEpochs, compute }, ALL).tfjs;
    expect([forced('js', 30), forced('wasm', 1), forced('gpu', 1)]).toEqual([0, at(30).tfjs, at(30).tfjs]);
    expect(estimateJobMemory({ ...ML1M, saeEpochs: 30 }, { ...ALL, sae: false }).tfjs).toBe(0);
  });

  it("counts tfjs's runtime for NCF's MLP (training, full-catalogue scoring) where 'auto' would start it", () => {
    const ncf: JobShape = { ...ML1M, model: 'ncf' };
    const trainAndRank = { recommender: true, sae: false, codes: false, scores: true };
    const evaluate = { recommender: false, sae: false, codes: true, scores: true };
    const label = { ...evaluate, scores: false };
    // Scoring alone: 6040 users × 3706 items × (64·32 + 32·16 + 16) = 5.8e10 multiply-adds.
    expect(estimateJobMemory(ncf, evaluate).tfjs).toBe(TFJS_WASM_BYTES);
    expect(estimateJobMemory(ncf, trainAndRank).tfjs).toBe(TFJS_WASM_BYTES);
    // MF's products stay on the loops; PRISM_COMPUTE=js keeps NCF's there; labelling has none.
    expect(estimateJobMemory(ML1M, trainAndRank).tfjs).toBe(0);
    expect(estimateJobMemory({ ...ncf, compute: 'js' }, trainAndRank).tfjs).toBe(0);
    expect(estimateJobMemory(ncf, label).tfjs).toBe(0);
    expect(estimateJobMemory({ ...ncf, compute: 'wasm' }, label).tfjs).toBe(0);
    // A tiny catalogue stays on the loops under 'auto' (4 epochs × 6000 samples × 3 × 2576 = 1.9e8), not
    // under 'wasm'.
    const tiny: JobShape = { ...ncf, users: 100, items: 100, interactions: 2000 };
    expect(estimateJobMemory(tiny, trainAndRank).tfjs).toBe(0);
    expect(estimateJobMemory({ ...tiny, compute: 'wasm' }, trainAndRank).tfjs).toBe(TFJS_WASM_BYTES);
  });

  it('estimates SAEs narrower than the default k (a partial configuration is not validated)', () => {
    const narrow = { ...ML1M, users: 60, items: 30, interactions: 900, latents: 4 };
    expect(estimateJobMemory(narrow, ALL).bytes).toBeGreaterThan(0);
  });

  it('grows linearly with the dictionary once the codes dominate', () => {
    const at = (latents: number) => estimateJobMemory({ ...ML1M, latents }, ALL).bytes;
    expect(at(32_768) - at(16_384)).toBe(2 * (at(16_384) - at(8_192)));
  });
});

describe('checkMemoryBudget', () => {
  it('lets a job through when its estimate with the margin fits', () => {
    const need = (estimateJobMemory(ML1M, ALL).bytes * MEMORY_MARGIN) / MiB;
    const e = estimateJobMemory(ML1M, ALL);
    expect(() => checkMemoryBudget(ML1M, e, configured(Math.ceil(need)), PIPELINE, false)).not.toThrow();
    expect(refusal(ML1M, configured(Math.floor(need) - 1)).code).toBe('OVER_MEMORY_BUDGET');
  });

  it('does not ask again for the data a measured budget already saw loaded', () => {
    const e = estimateJobMemory(ML1M, ALL);
    const afterLoad = ((e.bytes - e.data) * MEMORY_MARGIN) / MiB;
    const free = { ...configured(Math.ceil(afterLoad)), measured: true };
    expect(() => checkMemoryBudget(ML1M, e, free, PIPELINE, true)).not.toThrow();
    expect(refusal(ML1M, free).code).toBe('OVER_MEMORY_BUDGET'); // at enqueue the data still has to come
    expect(refusal(ML1M, configured(Math.ceil(afterLoad)), { loaded: true }).code).toBe('OVER_MEMORY_BUDGET');
  });

  it('names the parameter behind the largest cost the job can change, with both sizes and the source', () => {
    const wide = refusal({ ...ML1M, latents: 65_536 }, configured(1024));
    expect(wide.field).toBe('sae.latents');
    expect(wide.message).toMatch(
      /^the job would need about [\d,]+ MiB \(largest part: codes of 65536 latents × 9,746 users and items\), more than the 1,024 MiB it may use \(PRISM_JOB_MEMORY_MB\); it needs a smaller sae\.latents or a larger budget$/,
    );
    const deep = refusal({ ...ML1M, dim: 1024 }, configured(200), {
      stages: { recommender: true, sae: false, codes: false },
      levers: { data: 'data', training: 'dim' },
    });
    expect([deep.field, deep.message]).toEqual([
      'dim',
      expect.stringContaining('embeddings of dim 1024 × 9,746'),
    ]);
    const pair = refusal(
      { ...ML1M, users: 1500, items: 600, dim: 1000, latents: 8192, saes: 2 },
      configured(200),
    );
    expect([pair.field, pair.message]).toEqual([
      'sae.latents',
      expect.stringContaining('two SAEs of 8192 latents'),
    ]);
    // The data is the largest part at a small width: the data is named, not the width.
    const data = refusal({ ...ML1M, latents: 16 }, configured(40));
    expect([data.field, data.message]).toEqual([
      'data',
      expect.stringMatching(/970,009 interactions .*; it needs a smaller dataset or a larger budget$/),
    ]);
    // An evaluate job cannot change its version's width, only choose another version.
    const evaluate = refusal({ ...ML1M, latents: 65_536 }, configured(1024), {
      stages: { recommender: false, sae: false, codes: true },
      levers: { data: 'baseModelId', codes: 'baseModelId' },
    });
    expect([evaluate.field, evaluate.message]).toEqual([
      'baseModelId',
      expect.stringMatching(/it needs a smaller model version or a larger budget$/),
    ]);
  });
});
