import { MlError } from '../core/errors.ts';
import type { RecommenderTrainOptions } from '../models/train.ts';
import { resolveSaeOptions, SAE_DEFAULTS, type SaeTrainOptions } from '../sae/options.ts';

/** Everything `runPipeline` (and `prism reproduce`, and the jobs) can set; every field has a default. */
export interface PipelineOptions {
  model: 'mf' | 'ncf';
  seed?: number; // 0
  /** Embedding size; default by dataset (20 ML-1M, 100 Last.FM). */
  dim?: number;
  /** Recommender options beyond dim/seed (epochs, lr, …). */
  recommender?: Partial<RecommenderTrainOptions>;
  /** Which chosen SAE setting to start from (default 'concepts'). */
  setting?: SaeSetting;
  /** SAE options; merged over the chosen setting (`chosenSaeOptions`). */
  sae?: SaeTrainOptions;
  /** Share of users held out of SAE training for fidelity (0.2). */
  heldOutFraction?: number;
  /** Users whose original/reconstructed lists go into report.fidelity.samples (200). */
  fidelitySamples?: number;
  /** Cap on the held-out users fidelity compares lists for (seeded sample); default all for MF, 600 for NCF. */
  fidelityUsers?: number;
  /** Cap on the test users of full-ranking HR/NDCG (seeded sample); default all for MF, 1000 for NCF. */
  evalUsers?: number;
  /** β values for the ablation (each retrains the SAE); absent = no ablation. */
  ablation?: number[];
  /**
   * SAE settings to train and evaluate for the frontier table (each over the run's own options), or
   * 'standard' for `standardFrontier`; absent = none.
   */
  frontier?: SaeTrainOptions[] | 'standard';
  /** Measure steering interventions (needs src/ml/steer); default false. */
  interventions?: boolean;
}

/** NCF scores every item through an MLP per user (~100× MF's cost): its evaluations use user samples. */
export function evaluationCaps(opts: PipelineOptions): { fidelityUsers?: number; evalUsers?: number } {
  const ncf = opts.model === 'ncf';
  return {
    fidelityUsers: opts.fidelityUsers ?? (ncf ? 600 : undefined),
    evalUsers: opts.evalUsers ?? (ncf ? 1000 : undefined),
  };
}

/** The paper's β ablation grid. */
export const ABLATION_BETAS = [0, 0.1, 1, 10];

/**
 * The two chosen settings (measured on ML-1M MF, seed 0; src/ml/sae/README.md has the frontier):
 * - `concepts` (default): the encoder's codes — Horror 1/1/1, Children's 1/1/0.98, 13/18 genres, a
 *   popularity neuron at 1.36 %, three era neurons, MS 0.832, steering targets met; fidelity RBO 0.573.
 * - `fidelity`: pursuit codes over 1536 latents (NCF: 2048) without nesting, items from the encoder's top
 *   10 — RBO 0.876, Kendall 0.837, MS 0.832 at item L0 7.64, 12/18 genres (NCF: 0.873 / 0.815 / 0.823 /
 *   7.63); but no popularity neuron (15.5 %), one era neuron, and the steering targets missed.
 */
export type SaeSetting = 'concepts' | 'fidelity';
export const SAE_SETTINGS: readonly SaeSetting[] = ['concepts', 'fidelity'];

/**
 * TopK k on Last.FM (100-dim embeddings). Over SAE seeds 0/1/2 (src/ml/concepts/README.md), k = 12 against
 * k = 8 raised the mean purity@50 of the electronic and metal neurons (MF 0.73 → 0.83 and 0.71 → 0.77, NCF
 * metal 0.66 → 0.79; NCF electronic 0.85 → 0.82) and MF electronic@10 from 0.9 in every seed to 1.0 in two.
 */
const LASTFM_K = 12;

/**
 * The chosen SAE options for a setting. `concepts` (the default; chosen from the frontier explored in
 * bench/reproduce.ts; see report.md): a shared SAE as in the paper, TopK k = 8 over 1024 latents for users
 * and items alike. (User rows at k = 12 on the same weights reconstruct users a little better — fidelity RBO
 * 0.573 → 0.595, Kendall 0.300 → 0.335 on ML-1M MF, see src/ml/sae/README.md — but the denser user codes
 * make concept filtering leak: Horror cut by 91 % costs collateral RBO 0.775 instead of 0.858. Both miss the
 * fidelity target, so the setting that keeps steering clean wins.)
 * Matryoshka prefixes 32/128 so that coarse concept neurons exist, prediction-aware loss on random and
 * top-ranked pairs (β = 3), neurons firing on fewer than 2 items resampled (the monosemanticity score counts a
 * neuron on < 2 items as 0). `fidelity` changes three things: more latents (1536 for MF, 2048 for NCF,
 * whose MLP amplifies item error more), no nesting, pursuit codes. On Last.FM (d = 100) rows take
 * `LASTFM_K` latents instead of 8.
 */
export function chosenSaeOptions(
  model: 'mf' | 'ncf',
  datasetName: string,
  setting: SaeSetting = 'concepts',
): SaeTrainOptions {
  const k = datasetName.startsWith('lastfm') ? LASTFM_K : 8;
  const base: SaeTrainOptions = {
    latents: 1024,
    activation: 'topk',
    k,
    matryoshka: [32, 128, 1024],
    shared: true,
    preBias: true,
    normalise: true,
    init: 'data',
    epochs: 30,
    batchSize: 256,
    lr: 3e-3,
    lrFinal: 0.05,
    alpha: 1,
    beta: 3,
    pairSampling: ['random', 'top'],
    resampleDead: true,
    minItemFires: 2,
  };
  if (setting === 'fidelity') {
    // Items pursue among the encoder's strongest k + 2 latents (10 at k = 8, as measured).
    const pursuit = { itemPool: k + 2 };
    return { ...base, latents: model === 'ncf' ? 2048 : 1536, matryoshka: [], pursuit };
  }
  return base;
}

/**
 * The chosen setting with a job's `sae` params. Nesting is dropped when the overrides change the width
 * without giving prefixes of their own (so a small job's `latents: 16` just works). The CLI's `--sae`
 * replaces single options instead (a wider dictionary keeps the chosen prefixes and adds its width), so
 * that documented research commands keep their meaning.
 */
export function saeOptionsWithOverrides(
  model: 'mf' | 'ncf',
  datasetName: string,
  setting: SaeSetting | undefined,
  own: SaeTrainOptions = {},
): SaeTrainOptions {
  const chosen = chosenSaeOptions(model, datasetName, setting);
  const widthChanged = own.latents !== undefined && own.latents !== chosen.latents;
  return withFittedPursuit(
    { ...chosen, ...(widthChanged && own.matryoshka === undefined ? { matryoshka: [] } : {}), ...own },
    own,
  );
}

/**
 * The chosen setting with the CLI's `--sae` (and `runPipeline`'s `sae`): overrides replace single options,
 * so a wider dictionary keeps the chosen prefixes and adds its width (documented research commands keep
 * their meaning); the fidelity pool is fitted as for jobs.
 */
export function replacedSaeOptions(
  model: 'mf' | 'ncf',
  datasetName: string,
  setting: SaeSetting | undefined,
  own: SaeTrainOptions | undefined,
): SaeTrainOptions {
  return replacingOptions(chosenSaeOptions(model, datasetName, setting), own);
}

/**
 * `base` with single options replaced by `own` (a `--sae`, a frontier row), the fidelity pool fitted to
 * the result: how the CLI, `runPipeline` and its frontier rows merge their overrides.
 */
export function replacingOptions(base: SaeTrainOptions, own: SaeTrainOptions | undefined): SaeTrainOptions {
  return withFittedPursuit({ ...base, ...own }, own);
}

/**
 * The fidelity setting's item pool (k + 2) follows the k and width the overrides give — at most the
 * width — unless they name a pursuit of their own: `{ latents: 8 }` or `{ k: 12 }` over the setting
 * would otherwise be refused for a pool the caller never set.
 */
export function withFittedPursuit(
  options: SaeTrainOptions,
  own: SaeTrainOptions | undefined,
): SaeTrainOptions {
  if (!options.pursuit || own?.pursuit !== undefined) return options;
  const k = options.k ?? SAE_DEFAULTS.k;
  const latents = options.latents ?? SAE_DEFAULTS.latents;
  return { ...options, pursuit: { ...options.pursuit, itemPool: Math.min(k + 2, latents) } };
}

/**
 * The frontier `--frontier standard` explores around the chosen setting, one change per row: dictionary
 * size, k, the paper's ReLU codes with L1 + KL sparsity instead of TopK, and pursuit codes (the fidelity
 * setting) — RBO, Kendall, MS and L0 for each in report.md.
 */
export function standardFrontier(model: 'mf' | 'ncf', datasetName: string): SaeTrainOptions[] {
  const k = chosenSaeOptions(model, datasetName).k as number;
  return [
    { latents: 512, matryoshka: [32, 128, 512] },
    { latents: 2048, matryoshka: [32, 128, 2048] },
    { k: Math.max(1, k / 2) },
    { k: k + 4 },
    { k: 2 * k },
    { activation: 'relu', l1: 0.3, kl: 0.1, matryoshka: [] },
    { activation: 'relu', l1: 1, kl: 0.1, matryoshka: [] },
    chosenSaeOptions(model, datasetName, 'fidelity'),
  ];
}

/** `--frontier standard` is defined around the concepts setting: its rows (ReLU codes, k) contradict pursuit. */
export function checkFrontierSetting(opts: Pick<PipelineOptions, 'frontier' | 'setting'>): void {
  if (opts.frontier === 'standard' && opts.setting === 'fidelity')
    throw new MlError(
      'BAD_CONFIG',
      'the standard frontier explores around the concepts setting (its last row is the fidelity setting); ' +
        'run it with the concepts setting',
      'frontier',
    );
}

/** The SAE options a job trains with: the chosen setting, the job's `sae` overrides, sized to the catalogue. */
export function jobSaeOptions(
  model: 'mf' | 'ncf',
  datasetName: string,
  setting: SaeSetting | undefined,
  own: SaeTrainOptions | undefined,
  nItems: number,
): SaeTrainOptions {
  return sizedForCatalogue(
    saeOptionsWithOverrides(model, datasetName, setting, own ?? {}),
    setting,
    own,
    nItems,
  );
}

/** Items a neuron should fire on, on average, for purity@20 to be measurable at all. */
const ITEMS_PER_NEURON = 20;

/**
 * The concepts setting's dictionary sized to the catalogue: at most nItems·k/20 latents (down to a power
 * of two, at least 2k), so that a neuron fires on about 20 items on average. 1024 latents over 160 items
 * left each neuron about 8 items, purity@20 at most 0.4 and not one concept label. ML-1M (3 706 items)
 * and Last.FM (2 828) keep 1024. Nesting prefixes past the new width are dropped. Only when the caller
 * named no width (`overrides.latents`) and the setting is `concepts`; the fidelity setting is about
 * reconstruction, not labels, and keeps its size.
 */
export function sizedForCatalogue(
  options: SaeTrainOptions,
  setting: SaeSetting | undefined,
  overrides: SaeTrainOptions | undefined,
  nItems: number,
): SaeTrainOptions {
  if ((setting ?? 'concepts') !== 'concepts' || overrides?.latents !== undefined) return options;
  const k = options.k ?? SAE_DEFAULTS.k;
  const latents = options.latents ?? SAE_DEFAULTS.latents;
  const target = Math.max(1, (nItems * k) / ITEMS_PER_NEURON);
  const fit = Math.max(2 * k, 2 ** Math.floor(Math.log2(target)));
  if (fit >= latents) return options;
  const nested = options.matryoshka && options.matryoshka.length > 0;
  const matryoshka = nested
    ? [...(options.matryoshka as number[]).filter((m) => m < fit), fit]
    : options.matryoshka;
  return { ...options, latents: fit, matryoshka };
}

/**
 * Checks, before any training, the SAE options a run will train with once the dictionary is sized to the
 * catalogue, and every frontier row merged over them: a `userK` or a row's `k` valid for the chosen 1024
 * latents may not be for the 32 a small catalogue gets, and a pre-check before loading cannot know that.
 */
export function checkSizedSae(
  sized: SaeTrainOptions,
  chosen: SaeTrainOptions,
  frontier: readonly SaeTrainOptions[],
  nItems: number,
): void {
  const why =
    sized.latents !== chosen.latents
      ? ` (the dictionary was sized to the catalogue: ${nItems} items, ${sized.latents} latents; name "latents" to keep a width)`
      : '';
  const check = (options: SaeTrainOptions, field: string): void => {
    try {
      resolveSaeOptions(options, 1);
    } catch (err) {
      if (err instanceof MlError) throw new MlError('BAD_CONFIG', `${field}${why}: ${err.message}`, field);
      throw err;
    }
  };
  check(sized, 'sae');
  for (const [r, row] of frontier.entries()) check(replacingOptions(sized, row), `frontier[${r}]`);
}
