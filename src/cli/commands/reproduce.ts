import { join } from 'node:path';
import { MlError } from '../../ml/core/errors.ts';
import { DATA_SPEC_HELP, parseDataSpec } from '../../ml/data/spec.ts';
import { saveRecommender } from '../../ml/models/serialize.ts';
import { defaultDim } from '../../ml/models/train.ts';
import {
  ABLATION_BETAS,
  checkFrontierSetting,
  replacedSaeOptions,
  replacingOptions,
  type SaeSetting,
} from '../../ml/pipeline/options.ts';
import { reportMarkdown } from '../../ml/pipeline/report-md.ts';
import { type PipelineResult, runPipeline } from '../../ml/pipeline/run.ts';
import { resolveSaeOptions, type SaeTrainOptions } from '../../ml/sae/options.ts';
import { saveSae } from '../../ml/sae/serialize.ts';
import type { InterventionsReport } from '../../ml/steer/measure.ts';
import { renderInterventionsMarkdown } from '../../ml/steer/report-md.ts';
import { formatHelp, parseArgs } from '../args.ts';
import { COMPUTE_FLAG, computeChoice } from '../compute-flag.ts';
import { checkOutDir, leftoverOutputs, writeOutputs } from '../output.ts';
import { progressBar } from '../progress-bar.ts';

export const summary = 'train recommender → SAE → evaluate → label; write report.json and report.md';

const FLAGS = {
  data: { type: 'string', default: 'synthetic', help: `data-source spec: ${DATA_SPEC_HELP}` },
  model: { type: 'string', default: 'mf', choices: ['mf', 'ncf'], help: 'recommender kind' },
  seed: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 2 ** 32 - 1,
    help: 'seed of the split, the recommender and the SAE',
  },
  out: { type: 'string', default: 'runs/reproduce', help: 'output directory' },
  ablation: { type: 'boolean', default: false, help: 'also retrain the SAE for β ∈ {0, 0.1, 1, 10}' },
  frontier: {
    type: 'string',
    help:
      'SAE settings to train and tabulate in report.md: a JSON array (e.g. [{"latents":256},{"k":4}]) or ' +
      '"standard" (dictionary size, k, ReLU + L1/KL sparsity, pursuit codes around the chosen setting)',
  },
  interventions: {
    type: 'boolean',
    default: false,
    help: "measure steering interventions (report's interventions)",
  },
  setting: {
    type: 'string',
    default: 'concepts',
    choices: ['concepts', 'fidelity'],
    help: 'chosen SAE setting: concepts (encoder codes) or fidelity (pursuit codes; see src/ml/sae/README.md)',
  },
  sae: { type: 'string', help: 'JSON object of SAE options overriding the chosen setting' },
  weights: { type: 'boolean', default: false, help: 'also write recommender.prsm and sae.prsm' },
  compute: COMPUTE_FLAG,
} as const;

export async function run(argv: string[]): Promise<void> {
  const { flags, help } = parseArgs(argv, FLAGS);
  if (help) {
    process.stdout.write(
      formatHelp('prism reproduce [--data SPEC] [--model mf|ncf] [--out DIR] [options]', FLAGS),
    );
    return;
  }
  const model = flags.model as 'mf' | 'ncf';
  const setting = flags.setting as SaeSetting;
  // Everything that can be checked without training is checked first: a typo must not cost a run.
  const sae = flags.sae === undefined ? undefined : saeOverrides(parseJson(flags.sae, 'sae'), 'sae');
  const frontier =
    flags.frontier === undefined || flags.frontier === 'standard'
      ? flags.frontier
      : frontierRows(
          parseJson(flags.frontier, 'frontier', '"standard" or a JSON array of SAE option objects'),
        );
  checkFrontierSetting({ frontier, setting });
  const datasetKind = parseDataSpec(flags.data).kind;
  const chosen = replacedSaeOptions(model, datasetKind, setting, sae);
  checkSae(chosen, datasetKind, 'sae');
  if (Array.isArray(frontier))
    for (const [r, row] of frontier.entries())
      checkSae(replacingOptions(chosen, row), datasetKind, `frontier[${r}]`);
  checkOutDir(flags.out);
  const compute = computeChoice(flags.compute);
  let bar = progressBar(`reproduce ${model}`);
  let lastStage = '';
  const result = await asFlagErrors(
    runPipeline(
      flags.data,
      {
        model,
        seed: flags.seed,
        setting,
        sae,
        ablation: flags.ablation ? ABLATION_BETAS : undefined,
        frontier,
        interventions: flags.interventions,
        compute,
        // Written now and again at the end: the extras take minutes, and an interrupted run kept nothing.
        onMainResult: (main) => {
          bar.done();
          const pending = [
            ...(flags.ablation ? ['ablation'] : []),
            ...(frontier ? ['frontier'] : []),
            ...(flags.interventions ? ['interventions'] : []),
          ];
          writeReport(
            flags.out,
            { ...main, report: { ...main.report, extras_pending: pending } },
            flags.weights,
          );
          process.stderr.write(`wrote the main report to ${flags.out}; now the extras\n`);
        },
      },
      (e) => {
        if (e.stage !== lastStage) {
          bar.done();
          bar = progressBar(`reproduce ${model} ${e.stage}`); // which stage each line is about
          lastStage = e.stage;
        }
        bar.update({ ...e, message: undefined });
      },
    ),
  );
  bar.done();
  const { report } = result;
  writeReport(flags.out, result, flags.weights);
  const stale = flags.weights ? [] : leftoverOutputs(flags.out, WEIGHT_FILES);
  if (stale.length > 0)
    process.stderr.write(
      `note: ${stale.map((n) => join(flags.out, n)).join(' and ')} ${stale.length > 1 ? 'are' : 'is'} from an earlier run, not this report's (--weights writes this run's)\n`,
    );
  const f = report.fidelity;
  process.stdout.write(
    `${report.dataset.name} ${model}: HR@10 ${report.recommender['hr@10'].toFixed(3)} | SAE ${report.sae.latents} latents, L0 items ${report.sae.l0_items.toFixed(2)} | RBO@30 ${f['rbo@30'].toFixed(3)} Kendall ${f['kendall@30'].toFixed(3)} | MS ${report.ms.embedding.toFixed(3)} | ${report.timings.total_s.toFixed(1)} s wall, ${report.cpu_s.toFixed(1)} s CPU${report.timings.extras_s >= 0.05 ? ` (+ ${report.timings.extras_s.toFixed(1)} s ablation/frontier/interventions)` : ''}\nwrote ${join(flags.out, 'report.json')} and report.md\n`,
  );
}

/** The weights `--weights` adds to the report. */
const WEIGHT_FILES = ['recommender.prsm', 'sae.prsm'] as const;

/** report.json, report.md (and with `weights` the two .prsm files), written as one set. */
function writeReport(out: string, result: PipelineResult, weights: boolean): void {
  const { report } = result;
  const interventions = report.interventions
    ? renderInterventionsMarkdown(report.interventions as InterventionsReport)
    : undefined;
  writeOutputs(out, {
    'report.json': `${JSON.stringify(report, null, 2)}\n`,
    'report.md': reportMarkdown(report, result.bundle.dataset, { interventions }),
    ...(weights
      ? {
          'recommender.prsm': saveRecommender(result.bundle.recommender),
          'sae.prsm': saveSae(result.bundle.sae),
        }
      : {}),
  });
}

/**
 * The pipeline names SAE options as `sae` and `frontier[r]` when it checks them against the sized
 * dictionary; on the command line those are the `--sae` and `--frontier` flags.
 */
async function asFlagErrors<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof MlError && err.field !== undefined && /^(sae|frontier\[\d+\])$/.test(err.field))
      throw new MlError(err.code, `--${err.message}`, err.field);
    throw err;
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function saeOverrides(v: unknown, flag: string): SaeTrainOptions {
  if (!isPlainObject(v))
    throw new MlError(
      'BAD_CONFIG',
      `--${flag}: must be a JSON object of SAE options, got ${JSON.stringify(v)}`,
      flag,
    );
  return v as SaeTrainOptions;
}

function frontierRows(v: unknown): SaeTrainOptions[] {
  if (!Array.isArray(v) || v.length === 0)
    throw new MlError(
      'BAD_CONFIG',
      `--frontier: must be "standard" or a non-empty JSON array of SAE option objects, got ${JSON.stringify(v)}`,
      'frontier',
    );
  return v.map((row, r) => saeOverrides(row, `frontier[${r}]`));
}

/** The options the run would train with must resolve; the error names the flag (e.g. --sae: SAE option k: …). */
function checkSae(options: SaeTrainOptions, datasetKind: string, flag: string): void {
  try {
    resolveSaeOptions(options, defaultDim(datasetKind));
  } catch (err) {
    if (err instanceof MlError) throw new MlError('BAD_CONFIG', `--${flag}: ${err.message}`, flag);
    throw err;
  }
}

function parseJson<T>(text: string, flag: string, expected = 'JSON'): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new MlError('BAD_CONFIG', `--${flag}: expected ${expected}, got ${text} (not valid JSON)`, flag);
  }
}
