/**
 * What each job type computes, inside its worker thread. Every step is a src/ml function (the same
 * ones the CLI's pipeline uses); this file only sequences them, reports progress, and packs the
 * results (artifacts as bytes, metrics, neurons, report) for the main thread to store.
 */
import { analyseNeurons } from '../ml/concepts/analyse.ts';
import type { NeuronInfo } from '../ml/concepts/types.ts';
import { MlError } from '../ml/core/errors.ts';
import { loadDataset } from '../ml/data/load.ts';
import { loadCatalog, saveCatalog } from '../ml/data/serialize.ts';
import { splitHoldout } from '../ml/data/split.ts';
import { itemPopularity } from '../ml/data/stats.ts';
import type { Dataset, Split } from '../ml/data/types.ts';
import { holdOutUsers, measureFidelity } from '../ml/eval/fidelity.ts';
import { evaluateRanking } from '../ml/eval/ranking.ts';
import { reconstructionReport } from '../ml/eval/reconstruction.ts';
import { scorerFor, userScorer } from '../ml/models/scorer.ts';
import { loadRecommender, saveRecommender } from '../ml/models/serialize.ts';
import { defaultDim, trainRecommender } from '../ml/models/train.ts';
import type { Recommender } from '../ml/models/types.ts';
import { encodeAll, reconstructAll } from '../ml/sae/codes.ts';
import { loadSae, saveSae } from '../ml/sae/serialize.ts';
import { trainSae } from '../ml/sae/train.ts';
import type { SaePair } from '../ml/sae/types.ts';
import type { JobParams, Metrics } from '../store/types.ts';
import { type StageProgress, StageTracker } from './progress.ts';
import type { BaseModelInput, WorkerInput, WorkerOutput } from './protocol.ts';

export const DEFAULT_DATA_SPEC = 'synthetic';
/** Share of users kept out of SAE training to measure fidelity on. */
const FIDELITY_HOLDOUT = 0.2;

/** The training choices a version was made with, kept in its report so later jobs can redo the split. */
export interface TrainingParams {
  data: string;
  model: 'mf' | 'ncf';
  dim: number;
  epochs: number | null;
  seed: number;
  sae: JobParams['sae'] | null;
}

interface Ctx {
  input: WorkerInput;
  tracker: StageTracker;
  signal: AbortSignal;
}

export async function runJobStages(
  input: WorkerInput,
  signal: AbortSignal,
  onProgress: (p: StageProgress) => void,
): Promise<WorkerOutput> {
  const ctx: Ctx = { input, tracker: new StageTracker(input.type, onProgress), signal };
  switch (input.type) {
    case 'pipeline':
      return pipelineJob(ctx);
    case 'train-recommender':
      return trainRecommenderJob(ctx);
    case 'train-sae':
      return trainSaeJob(ctx);
    case 'evaluate':
      return evaluateJob(ctx);
    case 'label':
      return labelJob(ctx);
  }
}

// ───────────────────────────── job types ─────────────────────────────

function pipelineJob(ctx: Ctx): WorkerOutput {
  const { dataset, split, training } = loadFresh(ctx);
  const recommender = recommenderStage(ctx, split, training);
  const sae = saeStage(ctx, recommender, split, training);
  ctx.tracker.enter('evaluate');
  const metrics = measure(ctx, recommender, sae, split, training.seed);
  const { neurons, concepts } = labelStage(ctx, dataset, split, recommender, sae);
  return pack(ctx, {
    kind: 'full',
    training,
    dataset,
    split,
    recommender,
    sae,
    neurons,
    metrics,
    extraReport: { concepts },
    artifacts: { catalog: true, recommender: true, sae: true },
  });
}

function trainRecommenderJob(ctx: Ctx): WorkerOutput {
  const { dataset, split, training } = loadFresh(ctx);
  const recommender = recommenderStage(ctx, split, training);
  ctx.tracker.enter('evaluate');
  const metrics = measure(ctx, recommender, null, split, training.seed);
  return pack(ctx, {
    kind: 'recommender',
    training,
    dataset,
    split,
    recommender,
    sae: null,
    neurons: null,
    metrics,
    artifacts: { catalog: true, recommender: true },
  });
}

function trainSaeJob(ctx: Ctx): WorkerOutput {
  const base = needBase(ctx);
  const { dataset, split, recommender, training: baseTraining } = loadBase(ctx, base);
  const training = {
    ...baseTraining,
    sae: ctx.input.params.sae ?? baseTraining.sae,
    seed: ctx.input.params.seed ?? baseTraining.seed,
  };
  const sae = saeStage(ctx, recommender, split, training);
  ctx.tracker.enter('evaluate');
  const metrics = measure(ctx, recommender, sae, split, training.seed);
  const { neurons, concepts } = labelStage(ctx, dataset, split, recommender, sae);
  return pack(ctx, {
    kind: 'full',
    training,
    dataset,
    split,
    recommender,
    sae,
    neurons,
    metrics: { ...metrics, ranking: base.metrics.ranking ?? metrics.ranking },
    extraReport: { concepts, baseModelId: base.id },
    artifacts: { sae: true },
  });
}

function evaluateJob(ctx: Ctx): WorkerOutput {
  const base = needBase(ctx);
  const { split, recommender, sae, training } = loadBase(ctx, base);
  ctx.tracker.enter('evaluate');
  const metrics = measure(ctx, recommender, sae, split, training.seed);
  return {
    version: null,
    artifacts: {},
    metrics,
    summary: { baseModelId: base.id, ...headline(metrics) },
    timings: ctx.tracker.finish(),
  };
}

function labelJob(ctx: Ctx): WorkerOutput {
  const base = needBase(ctx);
  const { dataset, split, recommender, sae, training } = loadBase(ctx, base);
  if (!sae) throw new MlError('BAD_CONFIG', `model version ${base.id} has no SAE to label`, 'baseModelId');
  const { neurons, concepts } = labelStage(ctx, dataset, split, recommender, sae);
  return pack(ctx, {
    kind: 'full',
    training,
    dataset,
    split,
    recommender,
    sae,
    neurons,
    metrics: base.metrics,
    extraReport: { concepts, baseModelId: base.id },
    artifacts: {},
  });
}

// ───────────────────────────── stages ─────────────────────────────

function loadFresh(ctx: Ctx): { dataset: Dataset; split: Split; training: TrainingParams } {
  const p = ctx.input.params;
  ctx.tracker.enter('load');
  const data = p.data ?? DEFAULT_DATA_SPEC;
  const full = loadDataset(data);
  ctx.signal.throwIfAborted();
  const training: TrainingParams = {
    data,
    model: p.model ?? 'mf',
    dim: p.dim ?? defaultDim(full.name),
    epochs: p.epochs ?? null,
    seed: p.seed ?? 0,
    sae: p.sae ?? null,
  };
  const split = splitHoldout(full.interactions, { seed: training.seed });
  // The catalogue keeps the training positives: serving excludes them, evaluation holds the rest out.
  return { dataset: { ...full, interactions: split.train }, split, training };
}

/**
 * A stored version's catalogue and recommender (and SAE), plus its hold-out split: the test positives
 * are not in the catalogue, so the original data are reloaded and split again with the same seed.
 */
function loadBase(ctx: Ctx, base: BaseModelInput) {
  ctx.tracker.enter('load');
  const training = trainingOf(base);
  const dataset = loadCatalog(base.catalog);
  const recommender = loadRecommender(base.recommender);
  const sae = base.sae ? loadSae(base.sae) : null;
  const needsTest = ctx.input.type !== 'label';
  const split: Split = needsTest
    ? splitHoldout(loadDataset(base.datasetSpec).interactions, { seed: training.seed })
    : { train: dataset.interactions, test: dataset.interactions, testUsers: new Int32Array(0) };
  if (needsTest && split.train.indices.length !== dataset.interactions.indices.length) {
    throw new MlError(
      'BAD_CONFIG',
      `the data behind "${base.datasetSpec}" changed since model version ${base.id} was trained`,
      'data',
    );
  }
  ctx.signal.throwIfAborted();
  return { dataset, split, recommender, sae, training };
}

function recommenderStage(ctx: Ctx, split: Split, t: TrainingParams): Recommender {
  ctx.tracker.enter('recommender');
  return trainRecommender(t.model, split.train, {
    dim: t.dim,
    ...(t.epochs !== null ? { epochs: t.epochs } : {}),
    seed: t.seed,
    onProgress: ctx.tracker.callback(),
    signal: ctx.signal,
  });
}

function saeStage(ctx: Ctx, rec: Recommender, split: Split, t: TrainingParams): SaePair {
  ctx.tracker.enter('sae');
  const { train: trainUsers } = holdOutUsers(rec.nUsers, FIDELITY_HOLDOUT, t.seed);
  return trainSae(
    {
      userEmb: rec.params.userEmb,
      itemEmb: rec.params.itemEmb,
      nUsers: rec.nUsers,
      nItems: rec.nItems,
      dim: rec.dim,
      scorer: scorerFor(rec),
      train: split.train,
      trainUsers,
    },
    { seed: t.seed, ...(t.sae ?? {}), onProgress: ctx.tracker.callback(), signal: ctx.signal },
  );
}

/** Ranking quality of the recommender, and of the SAE (reconstruction, fidelity) when there is one. */
function measure(ctx: Ctx, rec: Recommender, sae: SaePair | null, split: Split, seed: number): Metrics {
  const ranking = evaluateRanking(userScorer(rec), split, { k: 10, signal: ctx.signal });
  if (!sae) return { ranking };
  ctx.tracker.report(0.5);
  const { userEmb, itemEmb } = rec.params;
  const { userCodes, itemCodes } = encodeAll(sae, userEmb, itemEmb, rec.nUsers, rec.nItems);
  const { userRecon, itemRecon } = reconstructAll(sae, userEmb, itemEmb, rec.nUsers, rec.nItems);
  const reconstruction = reconstructionReport({
    userEmb,
    itemEmb,
    userRecon,
    itemRecon,
    userCodes,
    itemCodes,
    nUsers: rec.nUsers,
    nItems: rec.nItems,
    dim: rec.dim,
    latents: sae.item.config.latents,
  });
  const { heldOut } = holdOutUsers(rec.nUsers, FIDELITY_HOLDOUT, seed);
  const fid = measureFidelity({
    scorer: scorerFor(rec),
    userEmb,
    itemEmb,
    userRecon,
    itemRecon,
    train: split.train,
    users: heldOut,
    split,
    samples: 0,
    signal: ctx.signal,
  });
  const fidelity = { users: fid.users, rbo: fid.rbo, kendall: fid.kendall, hr: fid.hr, ndcg: fid.ndcg };
  return { ranking, reconstruction, fidelity };
}

function labelStage(ctx: Ctx, dataset: Dataset, split: Split, rec: Recommender, sae: SaePair) {
  ctx.tracker.enter('label');
  const { userCodes, itemCodes } = encodeAll(
    sae,
    rec.params.userEmb,
    rec.params.itemEmb,
    rec.nUsers,
    rec.nItems,
  );
  ctx.signal.throwIfAborted();
  return analyseNeurons({
    dataset,
    itemCodes,
    userCodes,
    latents: sae.item.config.latents,
    popularity: itemPopularity(split.train),
  });
}

// ───────────────────────────── helpers ─────────────────────────────

function needBase(ctx: Ctx): BaseModelInput {
  if (!ctx.input.base) {
    throw new MlError('BAD_CONFIG', `${ctx.input.type} needs a base model version`, 'baseModelId');
  }
  return ctx.input.base;
}

function trainingOf(base: BaseModelInput): TrainingParams {
  const t = (base.report as { training?: TrainingParams } | null)?.training;
  if (!t) {
    throw new MlError(
      'BAD_CONFIG',
      `model version ${base.id} has no training parameters in its report`,
      'baseModelId',
    );
  }
  return t;
}

function headline(metrics: Metrics): Record<string, unknown> {
  const r = metrics.ranking as { hr?: number; ndcg?: number } | undefined;
  const f = metrics.fidelity as { rbo?: number } | undefined;
  return { hr10: r?.hr, ndcg10: r?.ndcg, fidelityRbo: f?.rbo };
}

function pack(
  ctx: Ctx,
  r: {
    kind: 'full' | 'recommender';
    training: TrainingParams;
    dataset: Dataset;
    split: Split;
    recommender: Recommender;
    sae: SaePair | null;
    neurons: NeuronInfo[] | null;
    metrics: Metrics;
    extraReport?: Record<string, unknown>;
    artifacts: { catalog?: boolean; recommender?: boolean; sae?: boolean };
  },
): WorkerOutput {
  ctx.signal.throwIfAborted();
  const timings = ctx.tracker.finish();
  const latents = r.sae ? r.sae.item.config.latents : null;
  const labelled = r.neurons
    ? r.neurons.filter((n) => n.kind !== 'unlabelled' && n.kind !== 'dead').length
    : null;
  const report = {
    training: r.training,
    dataset: {
      name: r.dataset.name,
      users: r.dataset.users.ids.length,
      items: r.dataset.items.ids.length,
      trainPositives: r.split.train.indices.length,
      testUsers: r.split.testUsers.length,
    },
    metrics: r.metrics,
    labelledNeurons: labelled,
    timings,
    ...r.extraReport,
  };
  return {
    version: {
      kind: r.kind,
      datasetSpec: r.training.data,
      datasetName: r.dataset.name,
      recommenderKind: r.recommender.kind,
      dim: r.recommender.dim,
      latents,
      nUsers: r.recommender.nUsers,
      nItems: r.recommender.nItems,
      neurons: r.neurons,
      report,
    },
    artifacts: {
      catalog: r.artifacts.catalog ? saveCatalog(r.dataset) : undefined,
      recommender: r.artifacts.recommender ? saveRecommender(r.recommender) : undefined,
      sae: r.artifacts.sae && r.sae ? saveSae(r.sae) : undefined,
    },
    metrics: r.metrics,
    summary: { ...headline(r.metrics), latents, labelledNeurons: labelled },
    timings,
  };
}
