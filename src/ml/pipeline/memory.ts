import { MlError } from '../core/errors.ts';
import { AUTO_MIN_WORK, type ComputeChoice, KERNEL_ROWS } from '../nn/dense-kernel.ts';
import { SAE_DEFAULTS } from '../sae/options.ts';
import { computeWork } from './compute.ts';

/** The sizes a job's memory follows (counts, not bytes). */
export interface JobShape {
  users: number;
  items: number;
  /** Training interactions of the loaded dataset. */
  interactions: number;
  /** Embedding size of the recommender. */
  dim: number;
  /** The recommender's kind (default 'mf'): NCF's full-catalogue scoring may start tfjs too. */
  model?: 'mf' | 'ncf';
  /** SAE dictionary size; 0 when the job trains no SAE. */
  latents: number;
  /** SAE rows per mini-batch. */
  saeBatch: number;
  /** SAEs trained: 1 shared by users and items, 2 with one per side (`sae.shared: false`). */
  saes: 1 | 2;
  /** SAE training epochs (default the SAE's default): with the sizes, whether 'auto' starts tfjs for it. */
  saeEpochs?: number;
  /** What computes the job's dense products (PRISM_COMPUTE; default 'auto'). */
  compute?: ComputeChoice;
}

/** Which stages a job runs after loading its data. */
export interface JobStages {
  /** Trains the recommender (else it is loaded, and only its weights count). */
  recommender: boolean;
  /** Trains an SAE. */
  sae: boolean;
  /** Encodes every user and item (evaluation, labelling). */
  codes: boolean;
  /** Scores users against the whole catalogue (ranking evaluation, fidelity, the SAE's top pairs). */
  scores?: boolean;
}

/** Bytes by what holds them; the peak is `heap + data + weights + tfjs + max(training, sae, codes)`. */
export interface MemoryEstimate {
  /** What a job's heap grows by whatever its size (compiled code, parser and report strings, GC slack). */
  heap: number;
  /** Parsed interactions, the split and the catalogue (ids, titles, tags). */
  data: number;
  /** The recommender's weights, held from training to the end. */
  weights: number;
  /** tfjs's wasm backend, when the job's kernel is tfjs (from its start to its end; `runKernel`). */
  tfjs: number;
  /** The recommender's optimiser state and gradients while it trains. */
  training: number;
  /** The SAEs' weights, gradients and optimiser state, and a mini-batch's activations, while they train. */
  sae: number;
  /** Dense codes of every user and item, [(users + items) × latents] float32, and their item copies. */
  codes: number;
  /** The estimated peak. */
  bytes: number;
}

/** What drives an estimate: a term of it, apart from the heap and the weights. */
export type MemoryCost = 'data' | 'training' | 'sae' | 'codes';

/**
 * The job parameter that lowers each cost (`sae.latents`, `dim`, `data`, `baseModelId`); a job type names
 * only the ones it takes (an evaluate job cannot change its version's width, only pick another version).
 */
export type MemoryLevers = Partial<Record<MemoryCost, string>>;

const F32 = 4;
const MiB = 2 ** 20;
const HEAP_GROWTH = 32 * MiB;
/**
 * tfjs's wasm backend once started (module, runtime): 52 MiB of RSS measured at ML-1M's batch shapes, of
 * which ~45 MiB does not depend on them. With PRISM_COMPUTE=gpu, libtensorflow's and CUDA's own host memory
 * comes on top and is not counted (it could not be measured here).
 */
export const TFJS_WASM_BYTES = 45 * MiB;

/**
 * What a kernel call holds besides: the dictionary twice (Wᵀ in JS, its upload in the WebAssembly heap) and
 * the pre-activations of up to KERNEL_ROWS rows three times (the heap's result, its copy out, the encoder's
 * buffer), with half again for the heap's growth, which it never returns. Against `npm run bench:memory`
 * (28 Nov): dim 1000 × 8192 latents 1.19×, 400 × 4096 1.50×, ML-1M 1.17×.
 */
function tfjsBuffers(latents: number, dim: number): number {
  return 1.5 * F32 * latents * (2 * dim + 3 * KERNEL_ROWS);
}

/**
 * The memory a job holds at its peak, from the sizes that drive it. Each term follows the arrays the
 * stages allocate: embeddings with at most three more copies while they train (gradients, Adam moments),
 * each SAE's W [latents × dim] with its gradient and moments (4 copies) plus a batch's pre-activations,
 * and the SAE's normalised inputs and their reconstructions [(users + items) × dim], the evaluation's dense codes of all rows, with one more [items × latents] matrix for the concept
 * analysis. Stages run one after the other and free their scratch, so only the data, the recommender's
 * weights and tfjs (once started) add up; the rest is the largest of the three.
 * `npm run bench:memory` sets it beside the measured growth of eleven pipelines (codes, SAE training or
 * data the largest term).
 */
export function estimateJobMemory(shape: JobShape, stages: JobStages): MemoryEstimate {
  const rows = shape.users + shape.items;
  const data = 40 * shape.interactions + 256 * rows;
  const weights = F32 * rows * (shape.dim + 1);
  const training = stages.recommender ? 4 * weights : 0;
  // What the job hands a kernel, counted as the job counts it when it picks one (runKernel).
  const work = computeWork({
    model: shape.model ?? 'mf',
    nUsers: shape.users,
    nItems: shape.items,
    dim: shape.dim,
    trainsOn: stages.recommender ? shape.interactions : null,
    scores: stages.scores ?? false,
    sae: stages.sae ? { epochs: shape.saeEpochs ?? SAE_DEFAULTS.epochs, latents: shape.latents } : null,
  });
  const sae = stages.sae
    ? shape.saes * F32 * shape.latents * (4 * shape.dim + 3 * shape.saeBatch) + 2 * F32 * rows * shape.dim
    : 0;
  // Once started it stays until the job ends, so it adds to the peak whichever stage sets it. NCF's
  // calls hold a few MB (TRAIN_ROWS × the hidden widths, a few matrices), inside the runtime's figure.
  const compute = shape.compute ?? 'auto';
  const startsTfjs = work > 0 && compute !== 'js' && (compute !== 'auto' || work >= AUTO_MIN_WORK);
  const tfjs = startsTfjs ? TFJS_WASM_BYTES + (stages.sae ? tfjsBuffers(shape.latents, shape.dim) : 0) : 0;
  const codes = stages.codes ? F32 * shape.latents * (rows + shape.items) : 0;
  const bytes = HEAP_GROWTH + data + weights + tfjs + Math.max(training, sae, codes);
  return { heap: HEAP_GROWTH, data, weights, tfjs, training, sae, codes, bytes };
}

/** Room left for error in the estimate when comparing it with a budget. */
export const MEMORY_MARGIN = 1.25;

/** What a job may allocate, where that figure came from, and whether it was read from the machine. */
export interface MemoryBudget {
  bytes: number;
  source: string;
  /**
   * Read from the machine's free memory at the check, rather than configured: what the job already holds
   * (its loaded data) is then no longer free, so it is not asked for again.
   */
  measured: boolean;
}

const mib = (bytes: number): string => `${Math.ceil(bytes / MiB).toLocaleString('en-US')} MiB`;
const count = (n: number): string => n.toLocaleString('en-US');

/**
 * Refuses a job whose estimated peak (with the margin) does not fit its budget, before any large array is
 * allocated, naming in `field` the parameter behind the largest cost the job can change. `loaded`: the
 * job's data is already in memory (the worker's check, after loading).
 */
export function checkMemoryBudget(
  shape: JobShape,
  estimate: MemoryEstimate,
  budget: MemoryBudget,
  levers: MemoryLevers,
  loaded: boolean,
): void {
  const held = loaded && budget.measured ? estimate.data : 0;
  const need = (estimate.bytes - held) * MEMORY_MARGIN;
  if (need <= budget.bytes) return;
  const costs = (['codes', 'sae', 'training', 'data'] as const).filter((c) => levers[c] !== undefined);
  const driver = costs.reduce<MemoryCost | null>((a, c) => (a && estimate[a] >= estimate[c] ? a : c), null);
  const field = driver ? (levers[driver] as string) : 'data';
  const rows = `${count(shape.users + shape.items)} users and items`;
  const what: Record<MemoryCost, string> = {
    codes: `codes of ${shape.latents} latents × ${rows}`,
    sae: `${shape.saes === 2 ? 'two SAEs' : 'an SAE'} of ${shape.latents} latents × dim ${shape.dim}`,
    training: `embeddings of dim ${shape.dim} × ${rows}`,
    data: `${count(shape.interactions)} interactions and ${rows}`,
  };
  const fix =
    field === 'data'
      ? 'a smaller dataset'
      : field === 'baseModelId'
        ? 'a smaller model version'
        : `a smaller ${field}`;
  throw new MlError(
    'OVER_MEMORY_BUDGET',
    `the job would need about ${mib(need)} (largest part: ${what[driver ?? 'data']}), more than the ` +
      `${mib(budget.bytes)} it may use (${budget.source}); it needs ${fix} or a larger budget`,
    field,
  );
}
