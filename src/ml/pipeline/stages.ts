import type { ModelBundle } from '../bundle.ts';
import { analyseNeurons, type ConceptAnalysis } from '../concepts/analyse.ts';
import { type MatryoshkaHierarchy, matryoshkaHierarchy } from '../concepts/hierarchy.ts';
import type { NeuronInfo } from '../concepts/types.ts';
import { MlError } from '../core/errors.ts';
import { assertFinite } from '../core/finite.ts';
import type { ProgressCallback } from '../core/progress.ts';
import { Rng } from '../core/rng.ts';
import { loadDataset } from '../data/load.ts';
import { HOLDOUT_DEFAULTS, splitHoldout } from '../data/split.ts';
import { itemPopularity } from '../data/stats.ts';
import type { Dataset, Split } from '../data/types.ts';
import { type FidelityResult, holdOutUsers, measureFidelity } from '../eval/fidelity.ts';
import { monosemanticityEmbedding, monosemanticityMetadata } from '../eval/monosemanticity.ts';
import { evaluateRanking, type RankingMetrics } from '../eval/ranking.ts';
import { type ReconstructionReport, reconstructionReport } from '../eval/reconstruction.ts';
import { scorerFor, userScorer } from '../models/scorer.ts';
import { defaultDim, type RecommenderTrainOptions, trainRecommender } from '../models/train.ts';
import type { Recommender } from '../models/types.ts';
import type { DenseKernel } from '../nn/dense-kernel.ts';
import { reconstructAll } from '../sae/codes.ts';
import type { SaeTrainOptions } from '../sae/options.ts';
import { type SaeEpochStats, trainSaeDetailed } from '../sae/train.ts';
import type { SaePair } from '../sae/types.ts';
import { mlpCompute } from './compute.ts';

/**
 * The pipeline's stages, each a pure function of its inputs (no file writes): the CLI, the benchmarks and
 * the background jobs call the same ones, one by one or through runPipeline.
 */

const seconds = (t0: number): number => (performance.now() - t0) / 1000;

export interface LoadedData {
  dataset: Dataset;
  split: Split;
  /** Users per item in the training split. [nItems] */
  popularity: Int32Array;
  seconds: number;
}

/** Load (or generate) the dataset and hold out 5 positives per user (seeded). */
export function loadStage(spec: string, seed = 0): LoadedData {
  const t0 = performance.now();
  const dataset = loadDataset(spec);
  const split = splitHoldout(dataset.interactions, { seed });
  // Without test users every accuracy and fidelity figure is NaN: refuse rather than report them.
  if (split.testUsers.length === 0) {
    const { perUser, minTrain } = HOLDOUT_DEFAULTS;
    const { rows, indptr } = dataset.interactions;
    throw new MlError(
      'BAD_CONFIG',
      `data: no user has the ${perUser + minTrain} positives needed to hold ${perUser} out for testing and keep ${minTrain} to train (${rows} users, ${indptr[rows]} interactions)`,
      'data',
    );
  }
  return { dataset, split, popularity: itemPopularity(split.train), seconds: seconds(t0) };
}

export interface TrainedRecommender {
  recommender: Recommender;
  /** Full-ranking HR@10/NDCG@10 on the held-out positives. */
  ranking: RankingMetrics;
  seconds: number;
  /** What ran NCF's hidden layers in this run (`mlpCompute`); 'js' for MF. */
  compute: string;
}

/**
 * The split with at most `maxUsers` test users (a seeded sample), for full-ranking evaluation of models
 * whose per-user scoring is dear (NCF runs an MLP per item).
 */
export function sampleTestUsers(split: Split, maxUsers: number | undefined, seed = 0): Split {
  if (maxUsers === undefined || split.testUsers.length <= maxUsers) return split;
  const order = split.testUsers.slice();
  new Rng(seed ^ 0x7e57).shuffle(order);
  return { ...split, testUsers: order.slice(0, maxUsers).sort() };
}

/** The split with its test users narrowed to those in `users`. */
export function onlyTestUsers(split: Split, users: Int32Array): Split {
  const keep = new Set(users);
  return { ...split, testUsers: split.testUsers.filter((u) => keep.has(u)) };
}

export function recommenderStage(
  data: LoadedData,
  kind: 'mf' | 'ncf',
  // `kernel` runs NCF's hidden layers in training and in the evaluation's rankings (the loops by default).
  opts: Partial<RecommenderTrainOptions> & { seed?: number; dim?: number; maxEvalUsers?: number } = {},
  onProgress?: ProgressCallback,
  signal?: AbortSignal,
): TrainedRecommender {
  const t0 = performance.now();
  const dim = opts.dim ?? defaultDim(data.dataset.name);
  const { maxEvalUsers, ...trainOpts } = opts;
  const recommender = trainRecommender(kind, data.split.train, { ...trainOpts, dim, onProgress, signal });
  const trainSeconds = seconds(t0);
  const evalSplit = sampleTestUsers(data.split, maxEvalUsers, opts.seed);
  const ranking = evaluateRanking(userScorer(recommender, opts.kernel), evalSplit, { k: 10, signal });
  return { recommender, ranking, seconds: trainSeconds, compute: mlpCompute(recommender, opts.kernel) };
}

export interface TrainedSae {
  sae: SaePair;
  history: SaeEpochStats[];
  /** Resolved options (every default filled in). */
  options: Required<
    Pick<SaeTrainOptions, 'latents' | 'k' | 'alpha' | 'beta' | 'l1' | 'kl' | 'rho' | 'shared' | 'epochs'>
  > &
    SaeTrainOptions;
  /** Users the SAE never saw (fidelity is measured on them) and the ones it trained on. */
  heldOutUsers: Int32Array;
  trainUsers: Int32Array;
  seconds: number;
  /** What computed the training batches' encoder products (SaeTrainResult.compute). */
  compute: string;
}

export function saeStage(
  data: LoadedData,
  recommender: Recommender,
  opts: SaeTrainOptions,
  heldOutFraction = 0.2,
  seed = 0,
  onProgress?: ProgressCallback,
  signal?: AbortSignal,
): TrainedSae {
  const t0 = performance.now();
  const { train: trainUsers, heldOut } = holdOutUsers(recommender.nUsers, heldOutFraction, seed);
  const res = trainSaeDetailed(
    {
      userEmb: recommender.params.userEmb,
      itemEmb: recommender.params.itemEmb,
      nUsers: recommender.nUsers,
      nItems: recommender.nItems,
      dim: recommender.dim,
      scorer: scorerFor(recommender, opts.kernel),
      train: data.split.train,
      trainUsers,
    },
    { seed, ...opts, onProgress, signal },
  );
  const { pairSources, matryoshka, pursuit, ...rest } = res.options;
  return {
    sae: res.pair,
    history: res.history,
    options: {
      ...rest,
      pairSampling: pairSources,
      ...(matryoshka.length ? { matryoshka } : {}),
      ...(pursuit ? { pursuit } : {}),
    },
    heldOutUsers: heldOut,
    trainUsers,
    seconds: seconds(t0),
    compute: res.compute,
  };
}

export interface SaeEvaluation {
  reconstruction: ReconstructionReport;
  fidelity: FidelityResult;
  ms: { embedding: number; metadata: number };
  userCodes: Float32Array; // [nUsers × latents]
  itemCodes: Float32Array; // [nItems × latents]
  seconds: number;
}

/** Codes, reconstruction quality, fidelity on the held-out users, monosemanticity. */
export function evaluateStage(
  data: LoadedData,
  recommender: Recommender,
  trained: Pick<TrainedSae, 'sae' | 'heldOutUsers'>,
  opts: {
    samples?: number;
    maxUsers?: number;
    maxEvalUsers?: number;
    seed?: number;
    signal?: AbortSignal;
    /** What scores the full rankings (NCF's hidden layers); the loops by default. */
    kernel?: DenseKernel;
  } = {},
): SaeEvaluation {
  const t0 = performance.now();
  const { nUsers, nItems, dim } = recommender;
  const { userEmb, itemEmb } = recommender.params;
  const latents = trained.sae.item.config.latents;
  const r = reconstructAll(trained.sae, userEmb, itemEmb, nUsers, nItems);
  // A NaN item would silently leave every ranking (and lift HR); refuse instead of reporting such numbers.
  assertFinite(
    'the SAE reconstructs non-finite embeddings',
    {
      userRecon: { values: r.userRecon, rowLength: dim },
      itemRecon: { values: r.itemRecon, rowLength: dim },
    },
    'retrain the SAE (a lower learning rate)',
  );
  const reconstruction = reconstructionReport({ userEmb, itemEmb, ...r, nUsers, nItems, dim, latents });
  const fidelity = measureFidelity({
    scorer: scorerFor(recommender, opts.kernel),
    reconScorer: scorerFor(recommender, opts.kernel),
    userEmb,
    itemEmb,
    userRecon: r.userRecon,
    itemRecon: r.itemRecon,
    train: data.split.train,
    users: sampleUsers(trained.heldOutUsers, opts.maxUsers, opts.seed),
    samples: opts.samples ?? 200,
    // HR/NDCG on the held-out users too: the SAE never saw their embeddings.
    split: sampleTestUsers(onlyTestUsers(data.split, trained.heldOutUsers), opts.maxEvalUsers, opts.seed),
    signal: opts.signal,
  });
  const ms = {
    embedding: monosemanticityEmbedding(r.itemCodes, latents, itemEmb, dim),
    metadata: monosemanticityMetadata(r.itemCodes, latents, data.dataset.itemTags),
  };
  return {
    reconstruction,
    fidelity,
    ms,
    userCodes: r.userCodes,
    itemCodes: r.itemCodes,
    seconds: seconds(t0),
  };
}

/** At most `max` of `users` (seeded sample, ascending). */
function sampleUsers(users: Int32Array, max: number | undefined, seed = 0): Int32Array {
  if (max === undefined || users.length <= max) return users;
  const order = users.slice();
  new Rng(seed ^ 0xf1de).shuffle(order);
  return order.slice(0, max).sort();
}

export interface Labelled {
  analysis: ConceptAnalysis;
  hierarchy: MatryoshkaHierarchy | null;
  seconds: number;
}

/** Automatic concept discovery and labels; the Matryoshka hierarchy when the SAE is nested. */
export function labelStage(
  data: LoadedData,
  sae: SaePair,
  evaluation: Pick<SaeEvaluation, 'userCodes' | 'itemCodes'>,
): Labelled {
  const t0 = performance.now();
  const latents = sae.item.config.latents;
  const analysis = analyseNeurons({
    dataset: data.dataset,
    itemCodes: evaluation.itemCodes,
    userCodes: evaluation.userCodes,
    latents,
    popularity: data.popularity,
  });
  const prefixes = sae.item.config.matryoshka;
  const hierarchy =
    prefixes && prefixes.length > 1
      ? matryoshkaHierarchy({
          itemCodes: evaluation.itemCodes,
          latents,
          coarse: prefixes[0],
          neurons: analysis.neurons,
          decoder: sae.item.params.W,
          inputDim: sae.item.config.inputDim,
        })
      : null;
  return { analysis, hierarchy, seconds: seconds(t0) };
}

/** The bundle the server serves: the catalogue with the training positives as its interactions. */
export function makeBundle(
  data: LoadedData,
  recommender: Recommender,
  sae: SaePair,
  neurons: NeuronInfo[],
): ModelBundle {
  return {
    dataset: { ...data.dataset, interactions: data.split.train },
    recommender,
    sae,
    neurons,
    popularity: data.popularity,
  };
}
