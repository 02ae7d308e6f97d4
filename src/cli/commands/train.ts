import { join } from 'node:path';
import { MlError } from '../../ml/core/errors.ts';
import { loadDataset } from '../../ml/data/load.ts';
import { DATA_SPEC_HELP } from '../../ml/data/spec.ts';
import { splitHoldout } from '../../ml/data/split.ts';
import type { Dataset } from '../../ml/data/types.ts';
import { neighbourhoodCoherence } from '../../ml/eval/monosemanticity.ts';
import { evaluateRanking, type RankingMetrics } from '../../ml/eval/ranking.ts';
import { userScorer } from '../../ml/models/scorer.ts';
import { saveRecommender } from '../../ml/models/serialize.ts';
import { defaultDim, trainRecommender } from '../../ml/models/train.ts';
import { mlpCompute, runKernel } from '../../ml/pipeline/compute.ts';
import { formatHelp, parseArgs } from '../args.ts';
import { COMPUTE_FLAG, computeChoice } from '../compute-flag.ts';
import { checkOutDir, writeOutputs } from '../output.ts';
import { progressBar } from '../progress-bar.ts';

export const summary = 'train an MF or NCF recommender, evaluate it (full ranking) and save it';

const FLAGS = {
  data: { type: 'string', default: 'synthetic', help: `data-source spec: ${DATA_SPEC_HELP}` },
  model: { type: 'string', default: 'mf', choices: ['mf', 'ncf'], help: 'recommender kind' },
  objective: {
    type: 'string',
    choices: ['ials', 'logistic'],
    help: 'MF training objective: implicit ALS or the paper’s logistic loss (MF only; default ials)',
  },
  dim: { type: 'integer', min: 1, max: 4096, help: 'embedding size (default 20; 100 for Last.FM)' },
  epochs: { type: 'integer', min: 1, help: 'epochs / ALS sweeps (default: the model’s own)' },
  lr: { type: 'number', above: 0, help: 'learning rate (NCF; MF only with its logistic objective)' },
  l2: { type: 'number', min: 0, help: 'L2 regularisation (default: the model’s own)' },
  seed: { type: 'integer', default: 0, min: 0, max: 2 ** 32 - 1, help: 'seed of the split and the training' },
  holdout: { type: 'integer', default: 5, min: 1, help: 'held-out positives per user' },
  k: { type: 'integer', default: 10, min: 1, help: 'cut-off of HR/NDCG/MRR' },
  out: { type: 'string', default: 'runs/train', help: 'output directory' },
  compute: COMPUTE_FLAG,
} as const;

export interface TrainReport {
  dataset: { name: string; users: number; items: number; interactions: number };
  model: 'mf' | 'ncf';
  objective?: string; // MF only
  dim: number;
  epochs: number;
  seed: number;
  /** What ran NCF's MLP, in training and evaluation ('js': the loops, always for MF). */
  compute: string;
  metrics: Record<string, number>;
  /**
   * Neighbourhood coherence of the item embeddings (`neighbourhoodCoherence`, 30 items): how much
   * embedding MS the recommender's geometry leaves an SAE, over all centres and the best 1 024.
   */
  geometry: { item_coherence: number; item_coherence_best: number; best_centres: number };
  /** Wall seconds per stage, plus CPU seconds (the machine may be shared: CPU time is the fair figure). */
  timings: {
    load_s: number;
    train_s: number;
    eval_s: number;
    load_cpu_s: number;
    train_cpu_s: number;
    eval_cpu_s: number;
  };
  peak_rss_mb: number;
}

export async function run(argv: string[]): Promise<void> {
  const { flags, help } = parseArgs(argv, FLAGS);
  if (help) {
    process.stdout.write(formatHelp('prism train [options]', FLAGS));
    return;
  }
  const model = flags.model as 'mf' | 'ncf';
  const compute = computeChoice(flags.compute);
  if (model !== 'mf' && flags.objective !== undefined)
    throw new MlError(
      'BAD_CONFIG',
      `--objective: applies to --model mf only (NCF trains on its own loss)`,
      'objective',
    );
  const objective = (flags.objective ?? 'ials') as 'ials' | 'logistic';
  if (model === 'mf' && objective === 'ials' && flags.lr !== undefined)
    throw new MlError(
      'BAD_CONFIG',
      '--lr: applies to --model ncf or --objective logistic (iALS solves each step exactly, with no learning rate)',
      'lr',
    );
  checkOutDir(flags.out);
  let t = performance.now();
  let cpu0 = process.cpuUsage();
  const dataset: Dataset = loadDataset(flags.data);
  const loadS = (performance.now() - t) / 1000;
  const loadCpu = cpuSince(cpu0);
  const { interactions } = dataset;
  process.stderr.write(
    `${dataset.name}: ${interactions.rows} users, ${interactions.cols} items, ${interactions.indptr[interactions.rows]} interactions (loaded in ${loadS.toFixed(2)} s)\n`,
  );
  if (flags.k >= interactions.cols)
    throw new MlError(
      'BAD_CONFIG',
      `--k ${flags.k}: must be below the catalogue's ${interactions.cols} items (every held-out item would be a hit)`,
      'k',
    );
  const split = splitHoldout(interactions, { perUser: flags.holdout, seed: flags.seed });
  if (split.testUsers.length === 0)
    throw new MlError(
      'BAD_CONFIG',
      `--holdout ${flags.holdout}: no user has enough positives to hold ${flags.holdout} out`,
      'holdout',
    );
  const dim = flags.dim ?? defaultDim(dataset.name);
  const kernel = await runKernel(compute, {
    model,
    nUsers: interactions.rows,
    nItems: interactions.cols,
    dim,
    trainsOn: split.train.indices.length,
    scores: true,
    sae: null,
  });
  const bar = progressBar(`${model} d=${dim}`);
  let epochs = flags.epochs ?? 0;
  t = performance.now();
  cpu0 = process.cpuUsage();
  const recommender = trainRecommender(model, split.train, {
    dim,
    epochs: flags.epochs,
    lr: flags.lr,
    l2: flags.l2,
    seed: flags.seed,
    mf: { objective },
    kernel,
    onProgress: (e) => {
      epochs = e.epochs ?? e.epoch ?? epochs;
      bar.update(e);
    },
  });
  bar.done();
  const trainCpu = cpuSince(cpu0);
  const trainS = (performance.now() - t) / 1000;
  t = performance.now();
  cpu0 = process.cpuUsage();
  const m: RankingMetrics = evaluateRanking(userScorer(recommender, kernel), split, { k: flags.k });
  const evalS = (performance.now() - t) / 1000;
  const evalCpu = cpuSince(cpu0);
  const k = flags.k;
  const coherence = neighbourhoodCoherence(recommender.params.itemEmb, recommender.dim);
  const report: TrainReport = {
    dataset: {
      name: dataset.name,
      users: interactions.rows,
      items: interactions.cols,
      interactions: interactions.indptr[interactions.rows],
    },
    model,
    ...(model === 'mf' ? { objective } : {}),
    dim,
    epochs,
    seed: flags.seed,
    compute: mlpCompute(recommender, kernel),
    metrics: { [`hr@${k}`]: m.hr, [`ndcg@${k}`]: m.ndcg, [`mrr@${k}`]: m.mrr, test_users: m.users },
    geometry: {
      item_coherence: round(coherence.mean, 4),
      item_coherence_best: round(coherence.best, 4),
      best_centres: coherence.bestCount,
    },
    timings: {
      load_s: round(loadS),
      train_s: round(trainS),
      eval_s: round(evalS),
      load_cpu_s: round(loadCpu),
      train_cpu_s: round(trainCpu),
      eval_cpu_s: round(evalCpu),
    },
    peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
  };
  writeOutputs(flags.out, {
    'recommender.prsm': saveRecommender(recommender),
    'train.json': `${JSON.stringify(report, null, 2)}\n`,
  });
  process.stdout.write(
    `${model} d=${dim}, ${epochs} epochs on ${dataset.name} (${m.users} test users, full ranking, training positives excluded)\n` +
      `  HR@${k} ${m.hr.toFixed(4)}  NDCG@${k} ${m.ndcg.toFixed(4)}  MRR@${k} ${m.mrr.toFixed(4)}\n` +
      `  item neighbourhood coherence (MS reference) ${coherence.mean.toFixed(3)}, best ${coherence.bestCount} centres ${coherence.best.toFixed(3)}\n` +
      `  load ${loadS.toFixed(2)} s, train ${trainS.toFixed(2)} s (CPU ${report.timings.train_cpu_s} s), eval ${evalS.toFixed(2)} s, peak RSS ${report.peak_rss_mb} MB\n` +
      `  wrote ${join(flags.out, 'recommender.prsm')} and ${join(flags.out, 'train.json')}\n`,
  );
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1e6;
}

const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
