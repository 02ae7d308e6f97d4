import type { ModelBundle } from '../bundle.ts';
import type { ProgressCallback } from '../core/progress.ts';
import type { Split } from '../data/types.ts';
import { defaultDim } from '../models/train.ts';
import type { ComputeChoice } from '../nn/dense-kernel.ts';
import { measureInterventions } from '../steer/measure.ts';
import { runKernel } from './compute.ts';
import {
  checkFrontierSetting,
  checkSizedSae,
  evaluationCaps,
  type PipelineOptions,
  replacedSaeOptions,
  replacingOptions,
  sizedForCatalogue,
  standardFrontier,
} from './options.ts';
import {
  type AblationRow,
  buildReport,
  type FrontierRow,
  frontierRow,
  type ReproduceReport,
} from './report.ts';
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
} from './stages.ts';

export interface PipelineResult {
  bundle: ModelBundle;
  split: Split;
  recommender: TrainedRecommender;
  sae: TrainedSae;
  evaluation: SaeEvaluation;
  labels: Labelled;
  report: ReproduceReport;
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

export interface PipelineHooks {
  /**
   * Called with the result once the main stages are done, when extras (β ablation, frontier,
   * interventions) follow: a caller can write the main report before they run (they take minutes, and an
   * interrupted run would otherwise leave nothing). Synchronous: the report is completed afterwards.
   */
  onMainResult?: (result: PipelineResult) => void;
  /** What computes the run's dense products (runKernel: the SAE's, NCF's MLP); default 'auto'. */
  compute?: ComputeChoice;
}

/**
 * load → train recommender → train SAE → evaluate → label (→ β ablation, frontier, interventions when
 * asked). Pure apart from reading the dataset: returns the bundle and the report; callers write files.
 */
export async function runPipeline(
  spec: string,
  opts: PipelineOptions & PipelineHooks,
  onProgress?: ProgressCallback,
  signal?: AbortSignal,
): Promise<PipelineResult> {
  checkFrontierSetting(opts);
  const seed = opts.seed ?? 0;
  const cpu0 = process.cpuUsage();
  let peakRss = process.memoryUsage().rss;
  const sampleRss = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  const t0 = performance.now();
  const stage = (name: string, fraction: number, message?: string): void =>
    onProgress?.({ stage: name, fraction, seconds: (performance.now() - t0) / 1000, message });

  stage('load', 0);
  const data: LoadedData = loadStage(spec, seed);
  signal?.throwIfAborted();
  sampleRss();
  const chosenSae = replacedSaeOptions(opts.model, data.dataset.name, opts.setting, opts.sae);
  const nItems = data.dataset.items.ids.length;
  const saeOpts = sizedForCatalogue(chosenSae, opts.setting, opts.sae, nItems);
  const frontier =
    opts.frontier === 'standard' ? standardFrontier(opts.model, data.dataset.name) : opts.frontier;
  checkSizedSae(saeOpts, chosenSae, frontier ?? [], nItems);

  // One kernel for the run's dense products: SAE training's, and NCF's training and full-catalogue scoring
  // (the extras' SAEs, β ablation and frontier, use it too).
  const kernel = await runKernel(opts.compute ?? 'auto', {
    model: opts.model,
    nUsers: data.dataset.users.ids.length,
    nItems,
    dim: opts.dim ?? defaultDim(data.dataset.name),
    trainsOn: data.split.train.indices.length,
    scores: true,
    sae: saeOpts,
  });

  stage('recommender', 0);
  const caps = evaluationCaps(opts);
  const rec = recommenderStage(
    data,
    opts.model,
    { seed, ...opts.recommender, dim: opts.dim, maxEvalUsers: caps.evalUsers, kernel },
    onProgress,
    signal,
  );
  sampleRss();
  await yieldToEventLoop();

  const heldOut = opts.heldOutFraction ?? 0.2;
  stage('sae', 0);
  const saeRun = { ...saeOpts, kernel };
  const trained = saeStage(data, rec.recommender, saeRun, heldOut, seed, onProgress, signal);
  sampleRss();
  await yieldToEventLoop();

  stage('eval', 0);
  const evalOpts = { maxUsers: caps.fidelityUsers, maxEvalUsers: caps.evalUsers, seed, signal, kernel };
  const evaluation = evaluateStage(data, rec.recommender, trained, {
    ...evalOpts,
    samples: opts.fidelitySamples ?? 200,
  });
  sampleRss();
  stage('label', 0);
  const labels = labelStage(data, trained.sae, evaluation);
  sampleRss();
  const bundle = makeBundle(data, rec.recommender, trained.sae, labels.analysis.neurons);
  const totalSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);

  const report = buildReport({
    dataset: data.dataset,
    model: opts.model,
    seed,
    rec,
    trained,
    evaluation,
    labels,
    timings: {
      load_s: round(data.seconds),
      recommender_s: round(rec.seconds),
      sae_s: round(trained.seconds),
      eval_s: round(evaluation.seconds),
      label_s: round(labels.seconds),
      total_s: round(totalSeconds),
      extras_s: 0,
    },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssMb: peakRss / 2 ** 20,
  });

  const extras =
    (opts.ablation?.length ?? 0) > 0 ||
    opts.frontier === 'standard' ||
    (opts.frontier?.length ?? 0) > 0 ||
    opts.interventions === true;
  if (extras)
    opts.onMainResult?.({
      bundle,
      split: data.split,
      recommender: rec,
      sae: trained,
      evaluation,
      labels,
      report,
    });

  if (opts.ablation && opts.ablation.length > 0) {
    const betas = [...new Set([...opts.ablation, trained.options.beta])].sort((a, b) => a - b);
    const rows: AblationRow[] = [];
    for (const [n, beta] of betas.entries()) {
      stage('ablation', n / betas.length, `β = ${beta}`);
      const row =
        beta === trained.options.beta
          ? frontierRow(trained, evaluation)
          : measureSetting(data, rec, { ...saeRun, beta }, heldOut, evalOpts);
      rows.push({
        beta,
        'rbo@30': row['rbo@30'],
        'kendall@30': row['kendall@30'],
        ms: row.ms,
        l0_items: row.l0_items,
        chosen: beta === trained.options.beta,
      });
      sampleRss();
      await yieldToEventLoop();
    }
    report.ablation = rows;
  }

  if (frontier && frontier.length > 0) {
    const rows: FrontierRow[] = [];
    for (const [n, setting] of frontier.entries()) {
      stage('frontier', n / frontier.length, JSON.stringify(setting));
      rows.push(measureSetting(data, rec, replacingOptions(saeRun, setting), heldOut, evalOpts));
      sampleRss();
      await yieldToEventLoop();
    }
    report.frontier = rows;
  }

  if (opts.interventions) {
    stage('interventions', 0);
    report.interventions = measureInterventions({
      bundle,
      split: data.split,
      userCodes: evaluation.userCodes,
      itemCodes: evaluation.itemCodes,
      options: { seed, signal },
    });
    sampleRss();
  }
  report.peak_rss_mb = Math.round(peakRss / 2 ** 20);
  report.timings.extras_s = round((performance.now() - t0) / 1000 - totalSeconds);
  stage('done', 1);
  return { bundle, split: data.split, recommender: rec, sae: trained, evaluation, labels, report };
}

/** Trains and evaluates one more SAE setting on the same recommender (ablation, frontier). */
function measureSetting(
  data: LoadedData,
  rec: TrainedRecommender,
  opts: Parameters<typeof saeStage>[2],
  heldOut: number,
  evalOpts: Parameters<typeof evaluateStage>[3] & { seed: number },
): FrontierRow {
  const t = saeStage(data, rec.recommender, opts, heldOut, evalOpts.seed, undefined, evalOpts.signal);
  const e = evaluateStage(data, rec.recommender, t, { ...evalOpts, samples: 0 });
  return frontierRow(t, e);
}

/** Lets a worker thread's message handlers (cancellation, progress) run between long stages. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
