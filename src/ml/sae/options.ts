import { MlError } from '../core/errors.ts';
import type { Cancellation, ProgressCallback } from '../core/progress.ts';
import type { Csr } from '../data/types.ts';
import type { PairScorer } from '../models/types.ts';
import type { DenseKernel } from '../nn/dense-kernel.ts';

/** What the SAE learns from: a frozen recommender's embeddings, its scorer and its training positives. */
export interface SaeTrainData {
  userEmb: Float32Array; // [nUsers × dim]
  itemEmb: Float32Array; // [nItems × dim]
  nUsers: number;
  nItems: number;
  dim: number;
  scorer: PairScorer;
  train: Csr; // [nUsers × nItems] training positives (positive pairs for L_pred)
  /** Users the SAE may see (fidelity's held-out users are left out); all users when absent. */
  trainUsers?: Int32Array;
}

/**
 * Where the (user, item) pairs of the prediction-aware loss come from: random user × item pairs, each
 * batch user with one of its training positives, or with one of the items the frozen recommender ranks
 * highest for it among its non-positives (the items fidelity's top-30 lists are made of).
 */
export type PairSource = 'random' | 'positives' | 'top';
/** One source, several, or 'mixed' (= random + positives). */
export type PairSampling = PairSource | PairSource[] | 'mixed';

export interface SaeTrainOptions {
  latents?: number;
  activation?: 'relu' | 'topk';
  /** Active latents per row for TopK. */
  k?: number;
  /** Matryoshka prefix sizes (ascending, last = latents); absent or empty = no nesting. */
  matryoshka?: number[];
  /** One SAE for users and items (the paper) or one per side. */
  shared?: boolean;
  /** Subtract the mean embedding before encoding (added back after decoding). */
  preBias?: boolean;
  /**
   * With a shared SAE and preBias: each side subtracts its own mean (users' and items' mean embeddings
   * differ), so no latent budget goes into encoding the offset between the two clouds. W, bEnc and
   * inputScale stay shared, so a neuron means the same direction on both sides.
   */
  sidePreBias?: boolean;
  /** Divide centred inputs by one scalar so the mean squared row norm is 1. */
  normalise?: boolean;
  /** 'data': encoder rows start as random (normalised) data rows; 'random': Gaussian unit rows. */
  init?: 'data' | 'random';
  epochs?: number;
  /** Item rows per step; user rows per step follow so that one epoch covers both sides once. */
  batchSize?: number;
  lr?: number;
  /** Final learning rate as a fraction of lr (cosine decay); 1 = constant. */
  lrFinal?: number;
  /** Weight of L_emb (reconstruction of users and items). */
  alpha?: number;
  /** Weight of L_pred (score MSE through the frozen scorer, divided by the variance of the original scores). */
  beta?: number;
  /** Epochs over which β ramps linearly from 0 to beta (0 = no warm-up). */
  betaWarmup?: number;
  pairSampling?: PairSampling;
  /** Random (user, item) pairs per step (for 'random' and 'mixed'). */
  pairsPerStep?: number;
  /** For 'top' pairs: how many of each user's highest-scored non-positive items to draw from. */
  topPairs?: number;
  /**
   * BatchTopK: each batch keeps k active latents per row on average (userK for user rows) instead of k
   * per row, so rows that need more (large, popular items) get more; served with a global threshold
   * calibrated after training so the mean item L0 is k (each row capped at maxK).
   */
  batchTopK?: boolean;
  /** Per-row cap on active latents with batchTopK (default 4·k). */
  maxK?: number;
  /** TopK for user rows (default k). With a shared SAE the user side shares the weights but may keep more
   * latents per row: item codes stay sparse (concepts, MS), user reconstructions stay faithful. */
  userK?: number;
  /** λ1: L1 weight on codes. */
  l1?: number;
  /** λ2: weight of KL(ρ‖p_j) on activation rates. */
  kl?: number;
  /** ρ: target activation rate; default k / latents for TopK, 0.05 otherwise. */
  rho?: number;
  /** Re-initialise neurons that fired on fewer than `minItemFires` item rows during an epoch (until two epochs before the end). */
  resampleDead?: boolean;
  /** Item firings per epoch below which a neuron counts as dead for resampling (default 1). */
  minItemFires?: number;
  /**
   * Serve codes by non-negative matching pursuit over the trained dictionary (pursuit.ts) instead of the
   * encoder, after adapting the dictionary to it (refine.ts). Absent = the encoder (the paper's SAE).
   */
  pursuit?: PursuitOptions;
  seed?: number;
  onProgress?: ProgressCallback;
  signal?: Cancellation;
  /**
   * Computes the encoder's pre-activations of each batch (default: the Float32Array loops). A run's result
   * depends on it — float32 sums in another order round differently — so reports name it.
   */
  kernel?: DenseKernel;
}

/**
 * Pursuit coding (pursuit.ts, refine.ts). With Matryoshka prefixes, training still nests them; pursuit
 * codes ignore the nesting (a prefix of a pursuit code is not fitted on its own).
 */
export interface PursuitOptions {
  /** Atoms per user code (default 12, at most latents; items use `k`). */
  userK?: number;
  /** Item candidates: the encoder's top `itemPool` latents (default 16; 0 = all). */
  itemPool?: number;
  /** User candidates (default 0 = all latents). */
  userPool?: number;
  /** Dictionary refinement rounds (default 4) and atom sweeps per round (default 3). */
  rounds?: number;
  sweeps?: number;
  /** Re-initialise atoms no item code uses during refinement (default true; needs resampleDead). */
  resample?: boolean;
}

export const PURSUIT_DEFAULTS: Required<PursuitOptions> = {
  userK: 12,
  itemPool: 16,
  userPool: 0,
  rounds: 4,
  sweeps: 3,
  resample: true,
};

export type ResolvedSaeOptions = Required<
  Omit<SaeTrainOptions, 'onProgress' | 'signal' | 'kernel' | 'matryoshka' | 'pairSampling' | 'pursuit'>
> & {
  matryoshka: number[];
  /** Pursuit coding with every default filled in; null = the encoder. */
  pursuit: Required<PursuitOptions> | null;
  pairSources: PairSource[];
  onProgress?: ProgressCallback;
  signal?: Cancellation;
};

export const SAE_DEFAULTS = {
  latents: 512,
  activation: 'topk',
  k: 8,
  shared: true,
  preBias: true,
  sidePreBias: false,
  normalise: true,
  init: 'data',
  epochs: 40,
  batchSize: 256,
  lr: 3e-3,
  lrFinal: 0.05,
  alpha: 1,
  beta: 1,
  betaWarmup: 0,
  pairSampling: 'mixed',
  pairsPerStep: 256,
  topPairs: 50,
  l1: 0,
  kl: 0,
  resampleDead: true,
  batchTopK: false,
  minItemFires: 1,
  seed: 0,
} as const satisfies SaeTrainOptions;

/**
 * Every option `SaeTrainOptions` has (a misspelt one would otherwise be ignored without a word); the
 * `satisfies` makes a new option that is missing here a compile error.
 */
const SAE_OPTION_KEYS: ReadonlySet<string> = new Set(
  Object.keys({
    ...SAE_DEFAULTS,
    matryoshka: true,
    maxK: true,
    userK: true,
    rho: true,
    pursuit: true,
    onProgress: true,
    signal: true,
    kernel: true,
  } satisfies Record<keyof SaeTrainOptions, unknown>),
);

/** Fills defaults and checks ranges and names; throws MlError('BAD_CONFIG') naming the option. */
export function resolveSaeOptions(opts: SaeTrainOptions, dim: number): ResolvedSaeOptions {
  const bad = (field: string, why: string): never => {
    throw new MlError('BAD_CONFIG', `SAE option ${field}: ${why}`, field);
  };
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
    bad('options', `must be an object, got ${JSON.stringify(opts)}`);
  for (const key of Object.keys(opts)) if (!SAE_OPTION_KEYS.has(key)) bad(key, 'is not an SAE option');
  checkTypes(opts, bad);
  if (opts.pursuit)
    for (const key of Object.keys(opts.pursuit))
      if (!(key in PURSUIT_DEFAULTS)) bad(`pursuit.${key}`, 'is not a pursuit option');
  const o = { ...SAE_DEFAULTS, ...stripUndefined(opts) };
  if (!Number.isInteger(o.latents) || o.latents < 1 || o.latents > MAX_LATENTS)
    bad('latents', `must be an integer in 1..${MAX_LATENTS}, got ${JSON.stringify(o.latents)}`);
  if (o.activation !== 'relu' && o.activation !== 'topk') bad('activation', `must be relu or topk`);
  if (!Number.isInteger(o.k) || o.k < 1 || o.k > o.latents)
    bad('k', `must be an integer in 1..latents, got ${JSON.stringify(o.k)}`);
  if (!Number.isInteger(o.epochs) || o.epochs < 0 || o.epochs > MAX_COUNT)
    bad('epochs', `must be an integer in 0..${MAX_COUNT}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > MAX_COUNT)
    bad('batchSize', `must be an integer in 1..${MAX_COUNT}`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) bad('lr', 'must be a finite number > 0');
  for (const f of ['alpha', 'beta', 'l1', 'kl', 'betaWarmup', 'lrFinal'] as const)
    if (!(o[f] >= 0 && Number.isFinite(o[f]))) bad(f, 'must be a finite number ≥ 0');
  if (!Number.isInteger(o.pairsPerStep) || o.pairsPerStep < 0 || o.pairsPerStep > MAX_COUNT)
    bad('pairsPerStep', `must be an integer in 0..${MAX_COUNT}`);
  if (!Number.isInteger(o.minItemFires) || o.minItemFires < 0) bad('minItemFires', 'must be an integer ≥ 0');
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= 2 ** 32)
    bad('seed', `must be an integer in [0, 2^32), got ${JSON.stringify(o.seed)}`);
  if (o.init !== 'data' && o.init !== 'random')
    bad('init', `must be data or random, got ${JSON.stringify(o.init)}`);
  const ps = o.pairSampling as PairSampling;
  const pairSources: PairSource[] =
    ps === 'mixed' ? ['random', 'positives'] : Array.isArray(ps) ? [...ps] : [ps as PairSource];
  if (pairSources.length === 0) bad('pairSampling', 'names no pair source (the prediction loss needs one)');
  for (const src of pairSources)
    if (!['random', 'positives', 'top'].includes(src)) bad('pairSampling', `unknown pair source "${src}"`);
  const userK = opts.userK ?? o.k;
  if (!Number.isInteger(userK) || userK < 1 || userK > o.latents)
    bad('userK', `must be an integer in 1..latents (${o.latents}), got ${JSON.stringify(userK)}`);
  if (!Number.isInteger(o.topPairs) || o.topPairs < 1 || o.topPairs > MAX_COUNT)
    bad('topPairs', `must be an integer in 1..${MAX_COUNT}`);
  const maxK = Math.min(o.latents, opts.maxK ?? 4 * Math.max(o.k, userK));
  if (!Number.isInteger(maxK) || maxK < Math.max(o.k, userK) || maxK < 1)
    bad('maxK', `must be an integer in max(k, userK)..latents`);
  const matryoshka = opts.matryoshka && opts.matryoshka.length > 0 ? [...opts.matryoshka] : [];
  if (matryoshka.length > 0) {
    if (matryoshka[matryoshka.length - 1] !== o.latents) matryoshka.push(o.latents);
    for (let i = 0; i < matryoshka.length; i++) {
      const m = matryoshka[i];
      if (!Number.isInteger(m) || m < 1 || m > o.latents || (i > 0 && m <= matryoshka[i - 1]))
        bad('matryoshka', `prefix sizes must ascend within 1..latents, got [${matryoshka}]`);
    }
  }
  // TopK fires k of `latents` neurons per row; past one half (k near latents) that stops being a sparsity
  // target, and ρ = 1 would be outside KL's domain.
  const rho = opts.rho ?? (o.activation === 'topk' ? Math.min(0.5, o.k / o.latents) : 0.05);
  if (!(rho > 0 && rho < 1)) bad('rho', 'must be in (0, 1)');
  if (!(dim >= 1)) bad('dim', 'must be ≥ 1');
  const pursuit = opts.pursuit
    ? {
        ...PURSUIT_DEFAULTS,
        userK: Math.min(PURSUIT_DEFAULTS.userK, o.latents),
        ...stripUndefined(opts.pursuit),
      }
    : null;
  if (pursuit) {
    const integer = (f: Exclude<keyof PursuitOptions, 'resample'>, lo: number, hi: number) => {
      const v = pursuit[f];
      if (!Number.isInteger(v) || v < lo || v > hi)
        bad(`pursuit.${f}`, `must be an integer in ${lo}..${hi}, got ${v}`);
    };
    integer('userK', 1, o.latents);
    integer('itemPool', 0, o.latents);
    integer('userPool', 0, o.latents);
    integer('rounds', 0, 100);
    integer('sweeps', 0, 100);
    if (typeof pursuit.resample !== 'boolean') bad('pursuit.resample', 'must be true or false');
    // A pool smaller than the code would silently cap it.
    if (pursuit.itemPool > 0 && pursuit.itemPool < o.k) bad('pursuit.itemPool', `must be 0 or ≥ k (${o.k})`);
    if (pursuit.userPool > 0 && pursuit.userPool < pursuit.userK)
      bad('pursuit.userPool', `must be 0 or ≥ pursuit.userK (${pursuit.userK})`);
    if (o.activation !== 'topk' || o.batchTopK) bad('pursuit', 'needs activation topk without batchTopK');
  }
  const { pairSampling: _ps, kernel: _kernel, ...rest } = o;
  return { ...rest, userK, maxK, rho, matryoshka, pairSources, pursuit } as ResolvedSaeOptions;
}

/** Latents of one SAE at most (the job API's bound too): 65 536 × a catalogue's rows is already GBs of codes. */
export const MAX_LATENTS = 65_536;
/** Bound of the count-like options (epochs, batch size, pairs per step, top pairs). */
const MAX_COUNT = 1_000_000;

/**
 * Options given as JSON (`--sae`, job parameters) may carry any type: a string "no" for `shared` would be
 * truthy, `pursuit: true` would switch pursuit on with defaults. Each option must have its own type.
 */
function checkTypes(opts: SaeTrainOptions, bad: (field: string, why: string) => never): void {
  const given = (k: keyof SaeTrainOptions) => opts[k] !== undefined;
  for (const k of ['shared', 'preBias', 'sidePreBias', 'normalise', 'resampleDead', 'batchTopK'] as const)
    if (given(k) && typeof opts[k] !== 'boolean')
      bad(k, `must be true or false, got ${JSON.stringify(opts[k])}`);
  for (const k of [
    'latents',
    'k',
    'epochs',
    'batchSize',
    'lr',
    'lrFinal',
    'alpha',
    'beta',
    'betaWarmup',
    'pairsPerStep',
    'topPairs',
    'maxK',
    'userK',
    'l1',
    'kl',
    'rho',
    'minItemFires',
    'seed',
  ] as const)
    if (given(k) && typeof opts[k] !== 'number') bad(k, `must be a number, got ${JSON.stringify(opts[k])}`);
  if (given('matryoshka') && !Array.isArray(opts.matryoshka))
    bad('matryoshka', `must be a list of prefix sizes, got ${JSON.stringify(opts.matryoshka)}`);
  const pursuit = opts.pursuit as unknown;
  if (pursuit !== undefined && (pursuit === null || typeof pursuit !== 'object' || Array.isArray(pursuit)))
    bad('pursuit', `must be an object of pursuit options, got ${JSON.stringify(pursuit)}`);
  if (given('onProgress') && typeof opts.onProgress !== 'function') bad('onProgress', 'must be a function');
  if (given('signal') && (typeof opts.signal !== 'object' || opts.signal === null))
    bad('signal', 'must be a cancellation signal');
  if (given('kernel') && typeof opts.kernel?.linear !== 'function')
    bad('kernel', 'must be a dense kernel (loadDenseKernel)');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
