import { describe, expect, it } from 'vitest';
import type { MlError } from '../../../src/ml/core/errors.ts';
import {
  checkMemoryBudget,
  estimateJobMemory,
  type JobShape,
  MEMORY_MARGIN,
} from '../../../src/ml/pipeline/memory.ts';

const ML1M: JobShape = {
  users: 6040,
  items: 3706,
  interactions: 970_009,
  dim: 20,
  latents: 1024,
  saeBatch: 256,
};
const ALL = { recommender: true, sae: true, codes: true };
const MB = 2 ** 20;

function refusal(shape: JobShape, budgetMb: number, stages = ALL): MlError {
  try {
    checkMemoryBudget(shape, estimateJobMemory(shape, stages), budgetMb * MB, 'PRISM_JOB_MEMORY_MB');
  } catch (err) {
    return err as MlError;
  }
  throw new Error('the job was let through');
}

describe('estimateJobMemory', () => {
  it('adds the data and the weights to the largest of the stages that run one after another', () => {
    const e = estimateJobMemory(ML1M, ALL);
    expect(e.bytes).toBe(e.data + e.weights + Math.max(e.training, e.sae, e.codes));
    // Dense codes of every user and item dominate at 1024 latents: [(6040 + 3706 + 3706) × 1024] float32.
    expect(e.codes).toBe(4 * 1024 * (6040 + 2 * 3706));
    expect(e.codes).toBeGreaterThan(Math.max(e.training, e.sae));
    expect(e.bytes / MB).toBeGreaterThan(100);
    expect(e.bytes / MB).toBeLessThan(160);
  });

  it('counts only the stages a job runs', () => {
    const labelOnly = estimateJobMemory(ML1M, { recommender: false, sae: false, codes: true });
    expect([labelOnly.training, labelOnly.sae]).toEqual([0, 0]);
    const recOnly = estimateJobMemory(ML1M, { recommender: true, sae: false, codes: false });
    expect([recOnly.sae, recOnly.codes]).toEqual([0, 0]);
    expect(recOnly.training).toBe(4 * recOnly.weights);
  });

  it('grows linearly with the dictionary once the codes dominate', () => {
    const at = (latents: number) => estimateJobMemory({ ...ML1M, latents }, ALL).bytes;
    expect(at(32_768) - at(16_384)).toBe(2 * (at(16_384) - at(8_192)));
  });
});

describe('checkMemoryBudget', () => {
  it('lets a job through when its estimate with the margin fits', () => {
    const need = (estimateJobMemory(ML1M, ALL).bytes * MEMORY_MARGIN) / MB;
    expect(() =>
      checkMemoryBudget(ML1M, estimateJobMemory(ML1M, ALL), Math.ceil(need) * MB, 'test'),
    ).not.toThrow();
    expect(refusal(ML1M, Math.floor(need) - 1).code).toBe('OVER_MEMORY_BUDGET');
  });

  it('names the parameter that drives the estimate, with both sizes and where the budget came from', () => {
    const wide = refusal({ ...ML1M, latents: 65_536 }, 1024);
    expect(wide.field).toBe('params.sae.latents');
    expect(wide.message).toMatch(
      /^the job would need about [\d,]+ MB \(65536 latents × 9,746 users and items\), more than the 1,024 MB it may use \(PRISM_JOB_MEMORY_MB\); lower sae\.latents or raise the budget$/,
    );
    const deep = refusal({ ...ML1M, dim: 1024 }, 200, { recommender: true, sae: false, codes: false });
    expect(deep.field).toBe('params.dim');
    expect(deep.message).toContain('dim 1024 × 9,746 users and items');
    const data = refusal(ML1M, 10, { recommender: false, sae: false, codes: false });
    expect(data.field).toBe('params.data');
    expect(data.message).toContain('970,009 interactions');
  });
});
