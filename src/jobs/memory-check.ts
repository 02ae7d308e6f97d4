import { MlError } from '../ml/core/errors.ts';
import { parseDataSpec } from '../ml/data/spec.ts';
import { SYNTHETIC_DEFAULTS } from '../ml/data/synthetic.ts';
import { defaultDim } from '../ml/models/train.ts';
import type { ComputeChoice } from '../ml/nn/dense-kernel.ts';
import {
  checkMemoryBudget,
  estimateJobMemory,
  type JobStages,
  type MemoryBudget,
  type MemoryLevers,
} from '../ml/pipeline/memory.ts';
import { jobSaeOptions, type SaeSetting } from '../ml/pipeline/options.ts';
import { SAE_DEFAULTS, type SaeTrainOptions } from '../ml/sae/options.ts';
import type { JobParams, JobType, Store } from '../store/types.ts';
import { jobMemoryBudget } from './memory-budget.ts';
import { JobParamsError } from './params.ts';

/** The counts a job's memory follows, apart from the SAE's. */
export interface JobSizes {
  users: number;
  items: number;
  interactions: number;
  dim: number;
  model: 'mf' | 'ncf';
}

/**
 * What each job type runs after loading its data, and the parameter that lowers each cost it has. The
 * worker picks each job's kernel from the same stages (`jobStages`), so the estimate counts tfjs exactly
 * when the job starts it.
 */
const PLANS: Record<JobType, { stages: JobStages; levers: MemoryLevers }> = {
  pipeline: {
    stages: { recommender: true, sae: true, codes: true, scores: true },
    levers: { data: 'data', training: 'dim', sae: 'sae.latents', codes: 'sae.latents' },
  },
  'train-recommender': {
    stages: { recommender: true, sae: false, codes: false, scores: true },
    levers: { data: 'data', training: 'dim' },
  },
  'train-sae': {
    stages: { recommender: false, sae: true, codes: true, scores: true },
    levers: { data: 'baseModelId', sae: 'sae.latents', codes: 'sae.latents' },
  },
  evaluate: {
    stages: { recommender: false, sae: false, codes: true, scores: true },
    levers: { data: 'baseModelId', codes: 'baseModelId' },
  },
  label: {
    stages: { recommender: false, sae: false, codes: true, scores: false },
    levers: { data: 'baseModelId', codes: 'baseModelId' },
  },
};

/** The stages a job of `type` runs after loading its data. */
export function jobStages(type: JobType): JobStages {
  return PLANS[type].stages;
}

/** What a job that passed its check was estimated to need and allowed, for its result (ops sizing budgets). */
export interface MemoryCheck {
  estimateMiB: number;
  budgetMiB: number;
}

/**
 * Throws OVER_MEMORY_BUDGET (an MlError naming the job parameter to lower) when a job of this type does
 * not fit its budget; else says what it was estimated at (null when unchecked). `sae`: the SAE options it
 * trains with, or the stored SAE's width; null = none (a recommender-only version). `loaded`: its data is
 * in memory already (the worker's check).
 */
export function checkJobMemory(
  type: JobType,
  sizes: JobSizes,
  sae: Pick<SaeTrainOptions, 'latents' | 'batchSize' | 'shared' | 'epochs'> | null,
  budget: MemoryBudget | null,
  loaded: boolean,
  compute: ComputeChoice,
): MemoryCheck | null {
  if (!budget) return null;
  const plan = PLANS[type];
  const stages = sae ? plan.stages : { ...plan.stages, sae: false, codes: false };
  const shape = {
    ...sizes,
    latents: sae ? (sae.latents ?? SAE_DEFAULTS.latents) : 0,
    saeBatch: sae?.batchSize ?? SAE_DEFAULTS.batchSize,
    saes: (sae?.shared ?? SAE_DEFAULTS.shared) ? (1 as const) : (2 as const),
    saeEpochs: sae?.epochs ?? SAE_DEFAULTS.epochs,
    compute,
  };
  const estimate = estimateJobMemory(shape, stages);
  checkMemoryBudget(shape, estimate, budget, plan.levers, loaded);
  return { estimateMiB: Math.ceil(estimate.bytes / 2 ** 20), budgetMiB: Math.floor(budget.bytes / 2 ** 20) };
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
  compute: ComputeChoice,
): void {
  const known = knownSizes(store, type, params);
  if (!known) return;
  try {
    checkJobMemory(type, known.sizes, known.sae, jobMemoryBudget(memoryMb), false, compute);
  } catch (err) {
    if (!(err instanceof MlError) || err.code !== 'OVER_MEMORY_BUDGET') throw err;
    const field = err.field ?? 'data';
    throw new JobParamsError(`params.${field}: ${err.message}`, field, 'OVER_MEMORY_BUDGET', err.message);
  }
}

interface KnownSizes {
  sizes: JobSizes;
  sae: SaeTrainOptions | null;
}

/** The training choices stored in a version's report (the ones a train-sae job starts from). */
interface StoredReport {
  training?: { setting?: SaeSetting; sae?: JobParams['sae'] | null };
  /** The data's summary: `catalog` in a full version's report, `dataset` in a recommender-only one's. */
  catalog?: { trainPositives?: number };
  dataset?: { trainPositives?: number };
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
      model: p.model ?? 'mf',
    };
    if (type === 'train-recommender') return { sizes, sae: null };
    return { sizes, sae: jobSaeOptions(p.model ?? 'mf', 'synthetic', p.setting, p.sae, items) };
  }
  const base = store.models.get(p.baseModelId as number);
  if (!base) return null;
  const report = (store.models.report(base.id) ?? {}) as StoredReport;
  const sizes = {
    users: base.nUsers,
    items: base.nItems,
    interactions: report.catalog?.trainPositives ?? report.dataset?.trainPositives ?? 0,
    dim: base.dim,
    model: base.recommenderKind,
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
    return { sizes, sae };
  }
  return { sizes, sae: base.latents === null ? null : { latents: base.latents } };
}
