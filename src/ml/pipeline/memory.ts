import { MlError } from '../core/errors.ts';

/** The sizes a job's memory follows (counts, not bytes). */
export interface JobShape {
  users: number;
  items: number;
  /** Training interactions of the loaded dataset. */
  interactions: number;
  /** Embedding size of the recommender. */
  dim: number;
  /** SAE dictionary size; 0 when the job trains no SAE. */
  latents: number;
  /** SAE rows per mini-batch. */
  saeBatch: number;
}

/** Which stages a job runs after loading its data. */
export interface JobStages {
  /** Trains the recommender (else it is loaded, and only its weights count). */
  recommender: boolean;
  /** Trains an SAE. */
  sae: boolean;
  /** Encodes every user and item (evaluation, labelling). */
  codes: boolean;
}

/** Bytes by what holds them; the peak is `data + weights + max(training, sae, codes)`. */
export interface MemoryEstimate {
  /** Parsed interactions, the split and the catalogue (ids, titles, tags), and the heap a job grows by. */
  data: number;
  /** The recommender's weights, held from training to the end. */
  weights: number;
  /** The recommender's optimiser state and gradients while it trains. */
  training: number;
  /** The SAE's weights, gradients and optimiser state, and a mini-batch's activations, while it trains. */
  sae: number;
  /** Dense codes of every user and item, [(users + items) × latents] float32, and their item copies. */
  codes: number;
  /** The estimated peak. */
  bytes: number;
}

const F32 = 4;
/** What a job's heap grows by whatever its size (compiled code, parser and report strings, GC slack). */
const HEAP_GROWTH = 32 * 2 ** 20;

/**
 * The typed-array memory a job holds at its peak, from the sizes that drive it. Each term follows the
 * arrays the stages allocate: embeddings and their Adam moments (4 copies), the SAE's W [latents × dim]
 * with its gradient and moments (4 copies) plus a batch's pre-activations, and the evaluation's dense codes
 * of all rows, with one more [items × latents] matrix for the concept analysis. Stages run one after the
 * other and free their scratch, so only the data and the recommender's weights add up; the rest is the
 * largest of the three. `npm run bench:memory` sets it beside measured peaks: 1.18–1.52× the growth of
 * nine pipelines of 24 to 367 MB (synthetic up to 32 768 latents or dim 400, ML-1M, Last.FM NCF); the
 * same growth measures ±50 % from run to run when it is small (Last.FM NCF: 44 and 66 MB).
 */
export function estimateJobMemory(shape: JobShape, stages: JobStages): MemoryEstimate {
  const rows = shape.users + shape.items;
  const data = HEAP_GROWTH + 40 * shape.interactions + 256 * rows;
  const weights = F32 * rows * (shape.dim + 1);
  const training = stages.recommender ? 4 * weights : 0;
  const sae = stages.sae ? F32 * shape.latents * (4 * shape.dim + 3 * shape.saeBatch) : 0;
  const codes = stages.codes ? F32 * shape.latents * (rows + shape.items) : 0;
  return { data, weights, training, sae, codes, bytes: data + weights + Math.max(training, sae, codes) };
}

/** Room left for error in the estimate when comparing it with a budget. */
export const MEMORY_MARGIN = 1.25;

const mb = (bytes: number): string => `${Math.ceil(bytes / 2 ** 20).toLocaleString('en-US')} MB`;

/**
 * Refuses a job whose estimated peak (with the margin) does not fit in `budgetBytes`, naming the
 * parameter that drives it, before any large array is allocated. `source` says where the budget came from.
 */
export function checkMemoryBudget(
  shape: JobShape,
  estimate: MemoryEstimate,
  budgetBytes: number,
  source: string,
): void {
  const need = estimate.bytes * MEMORY_MARGIN;
  if (need <= budgetBytes) return;
  const driver = Math.max(estimate.training, estimate.sae, estimate.codes);
  const bySae = driver > 0 && driver !== estimate.training;
  const field = bySae ? 'params.sae.latents' : driver > 0 ? 'params.dim' : 'params.data';
  const what = bySae
    ? `${shape.latents} latents × ${(shape.users + shape.items).toLocaleString('en-US')} users and items`
    : driver > 0
      ? `dim ${shape.dim} × ${(shape.users + shape.items).toLocaleString('en-US')} users and items`
      : `${shape.interactions.toLocaleString('en-US')} interactions`;
  throw new MlError(
    'OVER_MEMORY_BUDGET',
    `the job would need about ${mb(need)} (${what}), more than the ${mb(budgetBytes)} it may use (${source}); ` +
      `lower ${field.slice('params.'.length)}${field === 'params.data' ? ' (a smaller dataset)' : ''} or raise the budget`,
    field,
  );
}
