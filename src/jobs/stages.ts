/**
 * What each job type computes, inside its worker thread: the stage functions of src/ml/pipeline (the
 * same ones `prism reproduce` and the benchmarks run), sequenced per job type, with progress reported
 * and the results packed (artifacts as bytes, metrics, neurons, report) for the main thread to store.
 */
import type { NeuronInfo } from '../ml/concepts/types.ts';
import { MlError } from '../ml/core/errors.ts';
import { sameSparsity } from '../ml/data/csr.ts';
import { loadCatalog, saveCatalog } from '../ml/data/serialize.ts';
import { itemPopularity } from '../ml/data/stats.ts';
import type { Dataset } from '../ml/data/types.ts';
import { holdOutUsers } from '../ml/eval/fidelity.ts';
import { evaluateRanking } from '../ml/eval/ranking.ts';
import { userScorer } from '../ml/models/scorer.ts';
import { loadRecommender, saveRecommender } from '../ml/models/serialize.ts';
import { defaultDim } from '../ml/models/train.ts';
import type { Recommender } from '../ml/models/types.ts';
import { type ComputeChoice, type DenseKernel, jsKernel } from '../ml/nn/dense-kernel.ts';
import { mlpCompute, runKernel } from '../ml/pipeline/compute.ts';
import type { MemoryBudget } from '../ml/pipeline/memory.ts';
import { jobSaeOptions, type SaeSetting } from '../ml/pipeline/options.ts';
import { buildReport } from '../ml/pipeline/report.ts';
import {
  evaluateStage,
  type Labelled,
  type LoadedData,
  labelStage,
  loadStage,
  makeBundle,
  recommenderStage,
  type SaeEvaluation,
  saeStage,
  type TrainedRecommender,
  type TrainedSae,
} from '../ml/pipeline/stages.ts';
import { encodeAll } from '../ml/sae/codes.ts';
import type { SaeTrainOptions } from '../ml/sae/options.ts';
import { loadSae, saveSae } from '../ml/sae/serialize.ts';
import type { SaeConfig, SaePair } from '../ml/sae/types.ts';
import type { JobParams, Metrics } from '../store/types.ts';
import { checkJobMemory, jobStages, type MemoryCheck } from './memory-check.ts';
import { type StageProgress, StageTracker } from './progress.ts';
import type { BaseModelInput, WorkerInput, WorkerOutput } from './protocol.ts';

/** Share of users kept out of SAE training to measure fidelity on (the pipeline's default). */
const FIDELITY_HOLDOUT = 0.2;
/** Users whose original/reconstructed lists are kept in the report. */
const FIDELITY_SAMPLES = 50;

/** The training choices a version was made with, kept in its report so later jobs can redo the split. */
export interface TrainingParams {
  data: string;
  model: 'mf' | 'ncf';
  dim: number | null;
  epochs: number | null;
  /** Seed of the data split and the recommender: a version's test positives depend on it, so it is never
   * changed for a version built on a stored recommender. */
  seed: number;
  /** Seed of the SAE and its held-out users when it differs from `seed` (a train-sae job's `seed`). */
  saeSeed?: number;
  /** Absent in reports of versions trained before settings existed (= 'concepts'). */
  setting?: SaeSetting;
  sae: JobParams['sae'] | null;
}

interface Ctx {
  input: WorkerInput;
  tracker: StageTracker;
  signal: AbortSignal;
  cpu0: NodeJS.CpuUsage;
  /** What the job may allocate, read when its data is loaded; null = unchecked. */
  memoryBudget: () => MemoryBudget | null;
  /** The check's figures once it passed, reported in the job's result. */
  memory: MemoryCheck | null;
  /** What computes the job's dense products (PRISM_COMPUTE). */
  compute: ComputeChoice;
  /** The kernel `sizeJob` picked for this job's work (the loops until then). */
  kernel: DenseKernel;
}

export async function runJobStages(
  input: WorkerInput,
  signal: AbortSignal,
  onProgress: (p: StageProgress) => void,
  memoryBudget: () => MemoryBudget | null,
  compute: ComputeChoice = 'auto',
): Promise<WorkerOutput> {
  const ctx: Ctx = {
    input,
    tracker: new StageTracker(input.type, onProgress),
    signal,
    cpu0: process.cpuUsage(),
    memoryBudget,
    memory: null,
    compute,
    kernel: jsKernel,
  };
  const output = await runJob(ctx);
  if (ctx.memory) output.summary = { ...output.summary, memory: ctx.memory };
  return output;
}

function runJob(ctx: Ctx): WorkerOutput | Promise<WorkerOutput> {
  switch (ctx.input.type) {
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

async function pipelineJob(ctx: Ctx): Promise<WorkerOutput> {
  const training = trainingFromParams(ctx.input.params);
  const data = load(ctx, training);
  const saeOptions = saeOptionsFor(data, training);
  await sizeJob(ctx, data, training.dim ?? defaultDim(data.dataset.name), training.model, {
    trains: saeOptions,
  });
  const rec = trainRecommenderStage(ctx, data, training);
  const trained = trainSaeStage(ctx, data, rec.recommender, saeOptions, training);
  const evaluation = evaluate(ctx, data, rec.recommender, trained);
  const labels = label(ctx, data, trained.sae, evaluation);
  return packFull(ctx, {
    training,
    data,
    rec,
    trained,
    evaluation,
    labels,
    artifacts: ['catalog', 'recommender', 'sae'],
  });
}

async function trainRecommenderJob(ctx: Ctx): Promise<WorkerOutput> {
  const training = trainingFromParams(ctx.input.params);
  const data = load(ctx, training);
  await sizeJob(ctx, data, training.dim ?? defaultDim(data.dataset.name), training.model, { stored: null });
  const rec = trainRecommenderStage(ctx, data, training);
  ctx.tracker.enter('evaluate'); // the ranking metrics were measured by the recommender stage
  const metrics: Metrics = { ranking: rec.ranking };
  const timings = ctx.tracker.finish();
  const dataset = catalogOf(data);
  return {
    version: {
      kind: 'recommender',
      datasetSpec: training.data,
      datasetName: dataset.name,
      recommenderKind: rec.recommender.kind,
      dim: rec.recommender.dim,
      latents: null,
      nUsers: rec.recommender.nUsers,
      nItems: rec.recommender.nItems,
      neuronsJson: null,
      reportJson: JSON.stringify({
        training,
        dataset: datasetSummary(data),
        recommender: { ranking: rec.ranking, train_s: rec.seconds, compute: rec.compute },
        timings,
      }),
    },
    artifacts: { catalog: saveCatalog(dataset), recommender: saveRecommender(rec.recommender) },
    metrics,
    summary: headline(metrics),
    timings,
  };
}

async function trainSaeJob(ctx: Ctx): Promise<WorkerOutput> {
  const base = needBase(ctx);
  const baseTraining = trainingOf(base);
  const p = ctx.input.params;
  // The split seed stays the base's (the recommender was trained on that split); a job's seed is the SAE's.
  const training: TrainingParams = {
    ...baseTraining,
    sae: p.sae ?? baseTraining.sae,
    setting: p.setting ?? baseTraining.setting,
    saeSeed: p.seed ?? saeSeedOf(baseTraining),
  };
  const { data, recommender } = loadBase(ctx, base, baseTraining, true);
  const saeOptions = saeOptionsFor(data, training);
  await sizeJob(ctx, data, recommender.dim, recommender.kind, { trains: saeOptions });
  const rec = rankingOf(ctx, data, recommender);
  const trained = trainSaeStage(ctx, data, recommender, saeOptions, training);
  const evaluation = evaluate(ctx, data, recommender, trained);
  const labels = label(ctx, data, trained.sae, evaluation);
  return packFull(ctx, {
    training,
    data,
    rec,
    trained,
    evaluation,
    labels,
    artifacts: ['sae'],
    baseModelId: base.id,
  });
}

async function evaluateJob(ctx: Ctx): Promise<WorkerOutput> {
  const base = needBase(ctx);
  const training = trainingOf(base);
  const { data, recommender, sae } = loadBase(ctx, base, training, true);
  await sizeJob(ctx, data, recommender.dim, recommender.kind, { stored: sae ? sae.item.config : null });
  ctx.tracker.enter('evaluate');
  const ranking = rankingOf(ctx, data, recommender).ranking;
  let metrics: Metrics = { ranking };
  if (sae) {
    ctx.tracker.report(0.3);
    const { heldOut } = holdOutUsers(recommender.nUsers, FIDELITY_HOLDOUT, saeSeedOf(training));
    const e = evaluateStage(
      data,
      recommender,
      { sae, heldOutUsers: heldOut },
      { samples: 0, signal: ctx.signal, kernel: ctx.kernel },
    );
    metrics = { ...metrics, ...saeMetrics(e) };
  }
  return {
    version: null,
    artifacts: {},
    metrics,
    summary: { ...headline(metrics) },
    timings: ctx.tracker.finish(),
  };
}

function labelJob(ctx: Ctx): WorkerOutput {
  const base = needBase(ctx);
  const training = trainingOf(base);
  const { data, recommender, sae } = loadBase(ctx, base, training, false);
  if (!sae) throw new MlError('BAD_CONFIG', `model version ${base.id} has no SAE to label`, 'baseModelId');
  fitsMemory(ctx, data, recommender.dim, recommender.kind, sae.item.config);
  ctx.tracker.enter('label');
  const codes = encodeAll(
    sae,
    recommender.params.userEmb,
    recommender.params.itemEmb,
    recommender.nUsers,
    recommender.nItems,
  );
  ctx.signal.throwIfAborted();
  const labels = labelStage(data, sae, codes);
  const neurons = labels.analysis.neurons;
  const timings = ctx.tracker.finish();
  const previous = JSON.parse(base.reportJson ?? '{}') as Record<string, unknown>;
  return {
    version: {
      ...versionFields(training, data, recommender, sae, neurons),
      reportJson: JSON.stringify({
        ...previous,
        training,
        baseModelId: base.id,
        concepts: labels.analysis.concepts,
        hierarchy: labels.hierarchy,
        relabelled: timings,
      }),
    },
    artifacts: {},
    metrics: base.metrics,
    summary: { labelledNeurons: labelledCount(neurons), latents: sae.item.config.latents },
    timings,
  };
}

// ───────────────────────────── stages ─────────────────────────────

function load(ctx: Ctx, training: TrainingParams): LoadedData {
  ctx.tracker.enter('load');
  const data = loadStage(training.data, training.seed);
  ctx.signal.throwIfAborted();
  return data;
}

/**
 * A stored version's recommender (and SAE) with its data. The held-out positives are not in the
 * catalogue, so jobs that measure ranking quality reload the data and split them again with the same
 * seed; labelling needs only the catalogue.
 */
function loadBase(ctx: Ctx, base: BaseModelInput, training: TrainingParams, needTestSplit: boolean) {
  ctx.tracker.enter('load');
  const catalog = loadCatalog(base.catalog);
  const recommender = loadRecommender(base.recommender);
  const sae = base.sae ? loadSae(base.sae) : null;
  let data: LoadedData;
  if (needTestSplit) {
    data = loadStage(base.datasetSpec, training.seed);
    // The split must be the one the recommender was trained on, position for position: a different seed
    // keeps the counts but moves test positives into training (and evaluation would flatter the model).
    if (!sameSparsity(data.split.train, catalog.interactions)) {
      throw new MlError(
        'BAD_CONFIG',
        `the data behind "${base.datasetSpec}" (split with seed ${training.seed}) is not what model version ${base.id} was trained on`,
        'data',
      );
    }
  } else {
    const train = catalog.interactions;
    data = {
      dataset: catalog,
      split: { train, test: train, testUsers: new Int32Array(0) },
      popularity: itemPopularity(train),
      seconds: 0,
    };
  }
  ctx.signal.throwIfAborted();
  return { data, recommender, sae };
}

function trainRecommenderStage(ctx: Ctx, data: LoadedData, t: TrainingParams): TrainedRecommender {
  ctx.tracker.enter('recommender');
  return recommenderStage(
    data,
    t.model,
    {
      seed: t.seed,
      ...(t.dim !== null ? { dim: t.dim } : {}),
      ...(t.epochs !== null ? { epochs: t.epochs } : {}),
      kernel: ctx.kernel,
    },
    ctx.tracker.callback(),
    ctx.signal,
  );
}

/** The recommender part of the report for a version that reuses a stored recommender. */
function rankingOf(ctx: Ctx, data: LoadedData, recommender: Recommender): TrainedRecommender {
  const ranking = evaluateRanking(userScorer(recommender, ctx.kernel), data.split, {
    k: 10,
    signal: ctx.signal,
  });
  return { recommender, ranking, seconds: 0, compute: mlpCompute(recommender, ctx.kernel) };
}

function saeOptionsFor(data: LoadedData, t: TrainingParams): SaeTrainOptions {
  return jobSaeOptions(
    t.model,
    data.dataset.name,
    t.setting,
    t.sae ?? undefined,
    data.dataset.items.ids.length,
  );
}

/**
 * Fails the job, before its large arrays exist, when its estimated peak does not fit in its memory
 * budget: an out-of-memory kill would take the HTTP server (same process) down with it.
 */
function fitsMemory(
  ctx: Ctx,
  data: LoadedData,
  dim: number,
  model: 'mf' | 'ncf',
  sae: Pick<SaeTrainOptions, 'latents' | 'batchSize' | 'shared' | 'epochs'> | null,
): void {
  const sizes = {
    users: data.dataset.users.ids.length,
    items: data.dataset.items.ids.length,
    interactions: data.split.train.indices.length,
    dim,
    model,
  };
  ctx.memory = checkJobMemory(ctx.input.type, sizes, sae, ctx.memoryBudget(), true, ctx.compute);
}

/**
 * `fitsMemory`, then the kernel for the job's dense products (`ctx.kernel`): the SAE it trains, if any, and
 * for NCF its full-catalogue scoring — the work the memory estimate counted. `sae`: the options of the SAE
 * the job trains, or the stored SAE it evaluates (null: none).
 */
async function sizeJob(
  ctx: Ctx,
  data: LoadedData,
  dim: number,
  model: 'mf' | 'ncf',
  sae: { trains: SaeTrainOptions } | { stored: SaeConfig | null },
): Promise<void> {
  fitsMemory(ctx, data, dim, model, 'trains' in sae ? sae.trains : sae.stored);
  const stages = jobStages(ctx.input.type); // what the memory check counted
  ctx.kernel = await runKernel(ctx.compute, {
    model,
    nUsers: data.dataset.users.ids.length,
    nItems: data.dataset.items.ids.length,
    dim,
    trainsOn: stages.recommender ? data.split.train.indices.length : null,
    scores: stages.scores ?? false,
    sae: stages.sae && 'trains' in sae ? sae.trains : null,
  });
}

function trainSaeStage(
  ctx: Ctx,
  data: LoadedData,
  recommender: Recommender,
  options: SaeTrainOptions,
  t: TrainingParams,
): TrainedSae {
  ctx.tracker.enter('sae');
  return saeStage(
    data,
    recommender,
    { ...options, kernel: ctx.kernel },
    FIDELITY_HOLDOUT,
    saeSeedOf(t),
    ctx.tracker.callback(),
    ctx.signal,
  );
}

function evaluate(ctx: Ctx, data: LoadedData, recommender: Recommender, trained: TrainedSae): SaeEvaluation {
  ctx.tracker.enter('evaluate');
  return evaluateStage(data, recommender, trained, {
    samples: FIDELITY_SAMPLES,
    signal: ctx.signal,
    kernel: ctx.kernel,
  });
}

function label(ctx: Ctx, data: LoadedData, sae: SaePair, evaluation: SaeEvaluation): Labelled {
  ctx.tracker.enter('label');
  ctx.signal.throwIfAborted();
  return labelStage(data, sae, evaluation);
}

// ───────────────────────────── packing ─────────────────────────────

function packFull(
  ctx: Ctx,
  r: {
    training: TrainingParams;
    data: LoadedData;
    rec: TrainedRecommender;
    trained: TrainedSae;
    evaluation: SaeEvaluation;
    labels: Labelled;
    artifacts: ('catalog' | 'recommender' | 'sae')[];
    baseModelId?: number;
  },
): WorkerOutput {
  ctx.signal.throwIfAborted();
  const timings = ctx.tracker.finish();
  const neurons = r.labels.analysis.neurons;
  const bundle = makeBundle(r.data, r.rec.recommender, r.trained.sae, neurons);
  const cpu = process.cpuUsage(ctx.cpu0);
  const report = buildReport({
    dataset: r.data.dataset,
    model: r.rec.recommender.kind,
    seed: r.training.seed,
    rec: r.rec,
    trained: r.trained,
    evaluation: r.evaluation,
    labels: r.labels,
    timings: {
      load_s: timings.load ?? 0,
      recommender_s: timings.recommender ?? 0,
      sae_s: timings.sae ?? 0,
      eval_s: timings.evaluate ?? 0,
      label_s: timings.label ?? 0,
      total_s: Object.values(timings).reduce((a, b) => a + b, 0),
      extras_s: 0,
    },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: process.memoryUsage().rss / 2 ** 20,
  });
  const metrics: Metrics = { ranking: r.rec.ranking, ...saeMetrics(r.evaluation) };
  const want = new Set(r.artifacts);
  return {
    version: {
      ...versionFields(r.training, r.data, r.rec.recommender, r.trained.sae, neurons),
      reportJson: JSON.stringify({
        ...report,
        training: r.training,
        catalog: datasetSummary(r.data),
        ...(r.baseModelId !== undefined ? { baseModelId: r.baseModelId } : {}),
      }),
    },
    artifacts: {
      catalog: want.has('catalog') ? saveCatalog(bundle.dataset) : undefined,
      recommender: want.has('recommender') ? saveRecommender(bundle.recommender) : undefined,
      sae: want.has('sae') ? saveSae(bundle.sae) : undefined,
    },
    metrics,
    summary: {
      ...headline(metrics),
      latents: r.trained.sae.item.config.latents,
      labelledNeurons: labelledCount(neurons),
    },
    timings,
  };
}

function versionFields(
  t: TrainingParams,
  data: LoadedData,
  rec: Recommender,
  sae: SaePair,
  neurons: NeuronInfo[],
) {
  return {
    kind: 'full' as const,
    datasetSpec: t.data,
    datasetName: data.dataset.name,
    recommenderKind: rec.kind,
    dim: rec.dim,
    latents: sae.item.config.latents,
    nUsers: rec.nUsers,
    nItems: rec.nItems,
    neuronsJson: JSON.stringify(neurons),
  };
}

function saeMetrics(e: SaeEvaluation): Metrics {
  const f = e.fidelity;
  return {
    reconstruction: e.reconstruction,
    fidelity: {
      users: f.users,
      rbo: f.rbo,
      kendall: f.kendall,
      hr: f.hr,
      ndcg: f.ndcg,
      hrOriginal: f.hrOriginal,
      ndcgOriginal: f.ndcgOriginal,
    },
    monosemanticity: e.ms,
  };
}

function catalogOf(data: LoadedData): Dataset {
  return { ...data.dataset, interactions: data.split.train };
}

function datasetSummary(data: LoadedData) {
  return {
    name: data.dataset.name,
    users: data.dataset.users.ids.length,
    items: data.dataset.items.ids.length,
    trainPositives: data.split.train.indices.length,
    testUsers: data.split.testUsers.length,
  };
}

function trainingFromParams(p: JobParams): TrainingParams {
  // Refused at enqueue since data became required; a row queued before that must not fall back to the
  // demo catalogue and activate it.
  if (p.data === undefined)
    throw new MlError('BAD_CONFIG', 'params.data is required: the data to train on', 'data');
  return {
    data: p.data,
    model: p.model ?? 'mf',
    dim: p.dim ?? null,
    epochs: p.epochs ?? null,
    seed: p.seed ?? 0,
    setting: p.setting ?? 'concepts',
    sae: p.sae ?? null,
  };
}

function needBase(ctx: Ctx): BaseModelInput {
  if (!ctx.input.base)
    throw new MlError('BAD_CONFIG', `${ctx.input.type} needs a base model version`, 'baseModelId');
  return ctx.input.base;
}

const saeSeedOf = (t: TrainingParams): number => t.saeSeed ?? t.seed;

function trainingOf(base: BaseModelInput): TrainingParams {
  const report = JSON.parse(base.reportJson ?? 'null') as { training?: TrainingParams } | null;
  const t = report?.training;
  if (!t)
    throw new MlError(
      'BAD_CONFIG',
      `model version ${base.id} has no training parameters in its report`,
      'baseModelId',
    );
  return t;
}

const labelledCount = (neurons: NeuronInfo[]): number =>
  neurons.filter((n) => n.kind !== 'unlabelled' && n.kind !== 'dead').length;

/** The result's headline numbers; one that could not be measured (NaN: no user to compare) is left out. */
function headline(metrics: Metrics): Record<string, unknown> {
  const r = metrics.ranking as { hr?: number; ndcg?: number } | undefined;
  const f = metrics.fidelity as { rbo?: number } | undefined;
  const finite = (x: number | undefined) => (Number.isFinite(x) ? x : undefined);
  return { hr10: finite(r?.hr), ndcg10: finite(r?.ndcg), fidelityRbo: finite(f?.rbo) };
}
