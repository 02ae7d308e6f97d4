import { SAE_SETTINGS } from '../ml/pipeline/options.ts';
import { StoreError } from '../store/errors.ts';
import { JOB_TYPES, type JobParams, type JobType, type Store } from '../store/types.ts';

/** A job request the runner refuses; `field` names the offending parameter. */
export class JobParamsError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'JobParamsError';
  }
}

const SAE_KEYS = ['latents', 'activation', 'k', 'epochs', 'matryoshka', 'l1', 'lr', 'shared'];

/**
 * Checks a job request and fills in what must be fixed at enqueue time: the base version of
 * train-sae / evaluate / label jobs (default the active one), so a later activation does not change
 * what the job works on.
 */
export function normaliseJobParams(store: Store, type: JobType, params: JobParams): JobParams {
  if (!JOB_TYPES.includes(type)) throw new JobParamsError(`unknown job type "${type}"`, 'type');
  const p = { ...params };
  const fail = (field: string, why: string): never => {
    throw new JobParamsError(`params.${field} ${why}`, field);
  };
  const posInt = (field: keyof JobParams, min: number) => {
    const v = p[field];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min))
      fail(field, `must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  };
  if (p.data !== undefined && (typeof p.data !== 'string' || p.data.trim() === ''))
    fail('data', 'must be a non-empty data spec');
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
  if (type === 'train-sae' || type === 'evaluate' || type === 'label') {
    if (p.baseModelId === undefined) {
      const active = store.models.active();
      if (!active) fail('baseModelId', 'is required when no model version is active');
      p.baseModelId = active?.id;
    }
    const base = store.models.get(p.baseModelId as number);
    if (!base)
      throw new StoreError('NOT_FOUND', `model version ${p.baseModelId} not found`, 'params.baseModelId');
    if (type === 'label' && base.kind !== 'full')
      fail('baseModelId', `names recommender-only version ${base.id}; label needs an SAE`);
  }
  return p;
}

/** Whether a successful job of this type activates its new version. */
export function activatesOnSuccess(type: JobType, params: JobParams): boolean {
  if (type === 'pipeline') return params.activate !== false;
  return (type === 'train-sae' || type === 'label') && params.activate === true;
}
