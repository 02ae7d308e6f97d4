import { MlError } from '../ml/core/errors.ts';
import { checkDataSpec } from '../ml/data/load.ts';
import { defaultDim } from '../ml/models/train.ts';
import { SAE_SETTINGS, type SaeSetting, saeOptionsWithOverrides } from '../ml/pipeline/options.ts';
import { resolveSaeOptions } from '../ml/sae/options.ts';
import { JOB_TYPES, type JobParams, type JobType, type Store } from '../store/types.ts';

/** A job request the runner refuses; `field` names the offending parameter. */
export class JobParamsError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly code: 'BAD_JOB_PARAMS' | 'UNKNOWN_MODEL' | 'OVER_MEMORY_BUDGET' = 'BAD_JOB_PARAMS',
    /** The message without the field's name (for callers that name the source themselves). */
    readonly reason = message,
  ) {
    super(message);
    this.name = 'JobParamsError';
  }
}

const SAE_KEYS = ['latents', 'activation', 'k', 'epochs', 'matryoshka', 'l1', 'lr', 'shared'];

/**
 * The parameters each job type reads. Anything else is refused: a caller who sends `model` to an evaluate
 * job, or `baseModelId` to a pipeline, expects it to matter. (train-recommender keeps `setting`/`sae` as
 * the defaults a later train-sae on its version starts from.)
 */
const PARAMS_OF: Record<JobType, readonly (keyof JobParams)[]> = {
  pipeline: ['data', 'model', 'dim', 'epochs', 'seed', 'setting', 'sae', 'activate'],
  'train-recommender': ['data', 'model', 'dim', 'epochs', 'seed', 'setting', 'sae'],
  'train-sae': ['baseModelId', 'seed', 'setting', 'sae', 'activate'],
  evaluate: ['baseModelId'],
  label: ['baseModelId', 'activate'],
};

/**
 * Checks a job request and fills in what must be fixed at enqueue time: the base version of
 * train-sae / evaluate / label jobs (default the active one), so a later activation does not change
 * what the job works on.
 */
export function normaliseJobParams(store: Store, type: JobType, params: JobParams): JobParams {
  if (!JOB_TYPES.includes(type)) throw new JobParamsError(`unknown job type "${type}"`, 'type');
  const p = { ...params };
  const fail = (field: string, why: string, code?: JobParamsError['code']): never => {
    throw new JobParamsError(`params.${field} ${why}`, field, code, why);
  };
  for (const key of Object.keys(p))
    if (p[key as keyof JobParams] !== undefined && !PARAMS_OF[type].includes(key as keyof JobParams))
      fail(key, `is not a parameter of ${type} jobs (they take ${PARAMS_OF[type].join(', ')})`);
  const posInt = (field: keyof JobParams, min: number) => {
    const v = p[field];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min))
      fail(field, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  };
  if (p.data !== undefined && (typeof p.data !== 'string' || p.data.trim() === ''))
    fail('data', 'must be a non-empty data spec');
  // Problems a worker would only meet later (bad spec, missing directory, SAE options that contradict
  // each other) are refused now, naming the field.
  const datasetKind =
    p.data === undefined ? 'synthetic' : mlChecked('data', () => checkDataSpec(p.data as string).kind);
  if (p.model !== undefined && p.model !== 'mf' && p.model !== 'ncf')
    fail('model', `must be "mf" or "ncf", got ${JSON.stringify(p.model)}`);
  posInt('dim', 1);
  posInt('epochs', 0);
  posInt('seed', 0);
  if (p.activate !== undefined && typeof p.activate !== 'boolean') fail('activate', 'must be a boolean');
  if (p.setting !== undefined && !SAE_SETTINGS.includes(p.setting))
    fail('setting', `must be one of ${SAE_SETTINGS.join(', ')}`);
  if (p.sae !== undefined) {
    if (typeof p.sae !== 'object' || p.sae === null) fail('sae', 'must be an object');
    for (const key of Object.keys(p.sae))
      if (!SAE_KEYS.includes(key)) fail(`sae.${key}`, 'is not an SAE option');
  }
  // Named, never defaulted: a pipeline that fell back to the demo data would activate the toy catalogue
  // over a real one.
  if ((type === 'pipeline' || type === 'train-recommender') && p.data === undefined)
    fail(
      'data',
      `is required for ${type} jobs: the data to train on, e.g. "synthetic" (the built-in demo dataset) or "movielens-1m:/data/ml-1m"`,
    );
  if (type === 'train-sae' || type === 'evaluate' || type === 'label') {
    if (p.baseModelId === undefined) {
      const active = store.models.active();
      if (!active) fail('baseModelId', 'is required when no model version is active');
      p.baseModelId = active?.id;
    }
    const base = store.models.get(p.baseModelId as number);
    if (!base)
      return fail(
        'baseModelId',
        `names model version ${p.baseModelId}, which does not exist`,
        'UNKNOWN_MODEL',
      );
    if (type === 'label' && base.kind !== 'full')
      fail('baseModelId', `names recommender-only version ${base.id}; label needs an SAE`);
    if (rereadsBaseData(type)) {
      const unreadable = dataProblem(base.datasetSpec);
      if (unreadable)
        fail('baseModelId', `names model version ${base.id}, whose data cannot be read again: ${unreadable}`);
    }
    if (type === 'train-sae') {
      const training = (store.models.report(base.id) as { training?: BaseTraining } | null)?.training;
      checkSae(base.recommenderKind, base.datasetName, base.dim, {
        setting: p.setting ?? training?.setting,
        sae: p.sae ?? training?.sae ?? undefined,
      });
    }
  }
  if (type === 'pipeline')
    checkSae(p.model ?? 'mf', datasetKind, p.dim ?? defaultDim(datasetKind), {
      setting: p.setting,
      sae: p.sae,
    });
  return p;
}

/** Why a stored version's data spec can no longer be read (its files gone), or null. */
function dataProblem(spec: string): string | null {
  try {
    checkDataSpec(spec);
    return null;
  } catch (err) {
    if (!(err instanceof MlError)) throw err;
    return err.message;
  }
}

/** The SAE options a base version was trained with (from its report). */
interface BaseTraining {
  setting?: SaeSetting;
  sae?: JobParams['sae'] | null;
}

/**
 * Runs a check from src/ml and turns its MlError into a JobParamsError on `field` (or, with `nested`, on
 * the sub-field the MlError names, e.g. sae.k).
 */
function mlChecked<T>(field: string, check: () => T, nested = false): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof MlError)) throw err;
    const f = nested && err.field ? `${field}.${err.field}` : field;
    throw new JobParamsError(`params.${f}: ${err.message}`, f, 'BAD_JOB_PARAMS', err.message);
  }
}

/** The options the worker will train the SAE with must resolve (e.g. k ≤ latents, ascending prefixes). */
function checkSae(
  model: 'mf' | 'ncf',
  datasetName: string,
  dim: number,
  t: { setting?: SaeSetting; sae?: JobParams['sae'] },
): void {
  const options = saeOptionsWithOverrides(model, datasetName, t.setting, t.sae ?? {});
  mlChecked('sae', () => resolveSaeOptions(options, dim), true);
}

/** Job types that load and split their base version's data again (its held-out positives are not stored). */
export function rereadsBaseData(type: JobType): boolean {
  return type === 'train-sae' || type === 'evaluate';
}

/** Whether a successful job of this type activates its new version. */
export function activatesOnSuccess(type: JobType, params: JobParams): boolean {
  if (type === 'pipeline') return params.activate !== false;
  return (type === 'train-sae' || type === 'label') && params.activate === true;
}
