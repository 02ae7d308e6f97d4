import { NCF_HIDDEN } from '../models/ncf/scorer.ts';
import { defaultEpochs } from '../models/ncf/train.ts';
import type { Recommender } from '../models/types.ts';
import { type ComputeChoice, type DenseKernel, jsKernel, saeEncoderWork } from '../nn/dense-kernel.ts';
import { kernelForWork } from '../nn/tfjs-kernel.ts';
import { SAE_DEFAULTS, type SaeTrainOptions } from '../sae/options.ts';

/**
 * Which kernel a run's dense products go to, from how many there are: a run (a pipeline, a job) picks one
 * kernel for all of them — SAE training's encoder products and NCF's hidden layers, in training and in
 * full-catalogue scoring — and the job memory estimate counts tfjs by the same figures.
 */

/** What a run's dense products are sized by. */
export interface ComputeShape {
  model: 'mf' | 'ncf';
  nUsers: number;
  nItems: number;
  dim: number;
  /** Training interactions when the run trains its recommender (NCF's MLP steps go to the kernel); else null. */
  trainsOn: number | null;
  /** Whether it scores users against the whole catalogue (ranking evaluation, fidelity, the SAE's top pairs). */
  scores: boolean;
  /** The SAE it trains, if any (its epochs and latents count; unset ones take the defaults). */
  sae: Pick<SaeTrainOptions, 'epochs' | 'latents'> | null;
}

/** Multiply-adds per (user, item) pair through NCF's hidden layers (the first is split into cached halves). */
const HIDDEN_MACS = NCF_HIDDEN.reduce((macs, width, l) => macs + width * (NCF_HIDDEN[l + 1] ?? 1), 0);

/**
 * Multiply-adds a run hands its kernel: the SAE's encoder products; for NCF, every user scored against
 * every item about once, and training's forward and backward (3× the forward) over each epoch's positives
 * and their two negatives.
 */
export function computeWork(shape: ComputeShape): number {
  const { model, nUsers, nItems, dim, trainsOn, scores, sae } = shape;
  // Not resolveSaeOptions: a partial SAE configuration (the memory check's) must not be validated here.
  const sized = sae && {
    epochs: sae.epochs ?? SAE_DEFAULTS.epochs,
    latents: sae.latents ?? SAE_DEFAULTS.latents,
  };
  let work = sized ? saeEncoderWork(sized, dim, nUsers + nItems) : 0;
  if (model === 'ncf') {
    if (scores) work += nUsers * nItems * HIDDEN_MACS;
    if (trainsOn !== null) {
      const samples = 3 * trainsOn;
      work += defaultEpochs(samples) * samples * 3 * HIDDEN_MACS;
    }
  }
  return work;
}

/**
 * The kernel for a run of `shape` (kernelForWork decides: 'auto' keeps the loops for small runs). A run
 * with nothing for a kernel (an MF evaluation) keeps the loops whatever the choice: tfjs is not started.
 */
export async function runKernel(choice: ComputeChoice, shape: ComputeShape): Promise<DenseKernel> {
  const work = computeWork(shape);
  return work === 0 ? jsKernel : kernelForWork(choice, work);
}

/**
 * What runs `model`'s MLP given `kernel` (training and full-catalogue scoring): the kernel if it can,
 * else the loops. The name reported for a run: the stages pass that same kernel on (test/ml/pipeline).
 */
export function mlpCompute(model: Recommender, kernel: DenseKernel = jsKernel): string {
  return model.kind === 'ncf' && kernel.reluMlp && kernel.reluMlpTrainer ? kernel.name : jsKernel.name;
}
