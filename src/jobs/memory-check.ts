import { MlError } from '../ml/core/errors.ts';
import { parseDataSpec } from '../ml/data/spec.ts';
import { SYNTHETIC_DEFAULTS } from '../ml/data/synthetic.ts';
import { defaultDim } from '../ml/models/train.ts';
import { checkMemoryBudget, estimateJobMemory, type JobStages } from '../ml/pipeline/memory.ts';
import { jobSaeOptions, type SaeSetting } from '../ml/pipeline/options.ts';
import { SAE_DEFAULTS, type SaeTrainOptions } from '../ml/sae/options.ts';
import type { JobParams, JobType, Store } from '../store/types.ts';
import { jobMemoryBudget, type MemoryBudget } from './memory-budget.ts';
import { JobParamsError } from './params.ts';

/** The counts a job's memory follows, apart from the SAE's. */
export interface JobSizes {
  users: number;
  items: number;
  interactions: number;
  dim: number;
}

export const ALL_STAGES: JobStages = { recommender: true, sae: true, codes: true };
export const CODES_ONLY: JobStages = { recommender: false, sae: false, codes: true };
export const RECOMMENDER_ONLY: JobStages = { recommender: true, sae: false, codes: false };
/** A train-sae job: its recommender is stored, not trained. */
export const SAE_ON_STORED: JobStages = { recommender: false, sae: true, codes: true };

/** Throws OVER_MEMORY_BUDGET (an MlError naming the parameter) when the job's estimate does not fit. */
export function checkJobMemory(
  sizes: JobSizes,
  sae: Pick<SaeTrainOptions, 'latents' | 'batchSize'> | null,
  stages: JobStages,
  budget: MemoryBudget | null,
): void {
  if (!budget) return;
  const shape = {
    ...sizes,
    latents: sae ? (sae.latents ?? SAE_DEFAULTS.latents) : 0,
    saeBatch: sae?.batchSize ?? SAE_DEFAULTS.batchSize,
  };
  checkMemoryBudget(shape, estimateJobMemory(shape, stages), budget.bytes, budget.source);
}

/**
 * The memory check at enqueue, for the jobs whose sizes are known before their data is loaded — those on a
 * stored version (train-sae, evaluate, label) and those on synthetic data — so the caller gets the refusal
 * at once (the worker checks again when the job starts, and checks the others once their data is loaded).
 * `params` are normalised (a base version named).
 */
export function checkMemoryAtEnqueue(
  store: Store,
  type: JobType,
  params: JobParams,
  memoryMb: number | null,
): void {
  const known = knownSizes(store, type, params);
  if (!known) return;
  try {
    checkJobMemory(known.sizes, known.sae, known.stages, jobMemoryBudget(memoryMb));
  } catch (err) {
    if (!(err instanceof MlError) || err.code !== 'OVER_MEMORY_BUDGET') throw err;
    const field = (err.field ?? 'params.data').slice('params.'.length);
    throw new JobParamsError(`params.${field}: ${err.message}`, field, 'OVER_MEMORY_BUDGET', err.message);
  }
}

interface KnownSizes {
  sizes: JobSizes;
  sae: SaeTrainOptions | null;
  stages: JobStages;
}

/** The training choices stored in a version's report (the ones a train-sae job starts from). */
interface StoredReport {
  training?: { setting?: SaeSetting; sae?: JobParams['sae'] | null };
  catalog?: { trainPositives?: number };
}

function knownSizes(store: Store, type: JobType, p: JobParams): KnownSizes | null {
  if (type === 'pipeline' || type === 'train-recommender') {
    const spec = parseDataSpec(p.data as string);
    if (spec.kind !== 'synthetic') return null;
    const users = spec.params.users ?? SYNTHETIC_DEFAULTS.users;
    const items = spec.params.items ?? SYNTHETIC_DEFAULTS.items;
    const perUser = spec.params.interactionsPerUser ?? SYNTHETIC_DEFAULTS.interactionsPerUser;
    const sizes = {
      users,
      items,
      interactions: users * Math.min(perUser, items),
      dim: p.dim ?? defaultDim('synthetic'),
    };
    if (type === 'train-recommender') return { sizes, sae: null, stages: RECOMMENDER_ONLY };
    return {
      sizes,
      sae: jobSaeOptions(p.model ?? 'mf', 'synthetic', p.setting, p.sae, items),
      stages: ALL_STAGES,
    };
  }
  const base = store.models.get(p.baseModelId as number);
  if (!base) return null;
  const report = (store.models.report(base.id) ?? {}) as StoredReport;
  const sizes = {
    users: base.nUsers,
    items: base.nItems,
    interactions: report.catalog?.trainPositives ?? 0,
    dim: base.dim,
  };
  if (type === 'train-sae') {
    const training = report.training;
    const sae = jobSaeOptions(
      base.recommenderKind,
      base.datasetName,
      p.setting ?? training?.setting,
      p.sae ?? training?.sae ?? undefined,
      base.nItems,
    );
    return { sizes, sae, stages: SAE_ON_STORED };
  }
  if (base.latents === null) return null;
  return { sizes, sae: { latents: base.latents }, stages: CODES_ONLY };
}
