import { assertFinite } from '../core/finite.ts';
import { Rng } from '../core/rng.ts';
import { topKExcluding } from '../eval/topk.ts';
import { type DenseKernel, jsKernel } from '../nn/dense-kernel.ts';
import { Adam } from '../optim/adam.ts';
import { atomFromRow, meanAtomNorm } from './atoms.ts';
import { initSae, inputStats, type RowSource } from './init.ts';
import {
  allocGrads,
  type LossParts,
  type LossWeights,
  type SaeBatch,
  type SaeGrads,
  saeLoss,
} from './loss.ts';
import {
  type ResolvedSaeOptions,
  resolveSaeOptions,
  type SaeTrainData,
  type SaeTrainOptions,
} from './options.ts';
import { refineDictionary } from './refine.ts';
import { allocSparseCodes, decodeSparseRow, encodeSparse, normaliseRows } from './sparse.ts';
import type { Sae, SaeConfig, SaePair } from './types.ts';

export type { SaeTrainData, SaeTrainOptions } from './options.ts';

export interface SaeEpochStats {
  epoch: number;
  loss: LossParts; // means over the epoch's steps
  /** Neurons that fired on no item row / no user row during the epoch (per SAE; item SAE when not shared). */
  deadItems: number;
  deadUsers: number;
  resampled: number;
  lr: number;
}

export interface SaeTrainResult {
  pair: SaePair;
  history: SaeEpochStats[];
  options: ResolvedSaeOptions;
  /** The kernel that computed the batches' pre-activations ('js', 'wasm', 'tensorflow'). */
  compute: string;
}

/** Trains the SAE(s) on a frozen recommender's embeddings (see loss.ts for the objective). */
export function trainSae(data: SaeTrainData, opts: SaeTrainOptions = {}): SaePair {
  return trainSaeDetailed(data, opts).pair;
}

export function trainSaeDetailed(data: SaeTrainData, opts: SaeTrainOptions = {}): SaeTrainResult {
  const o = resolveSaeOptions(opts, data.dim);
  const rng = new Rng(o.seed);
  const d = data.dim;
  // Bad input would otherwise surface as "training diverged, lower the learning rate".
  assertFinite(
    'SAE training input',
    { userEmb: { values: data.userEmb, rowLength: d }, itemEmb: { values: data.itemEmb, rowLength: d } },
    "the recommender's embeddings must be finite (retrain the recommender)",
  );
  const trainUsers = data.trainUsers ?? Int32Array.from({ length: data.nUsers }, (_, u) => u);
  const allItems = Int32Array.from({ length: data.nItems }, (_, i) => i);
  const userSrc: RowSource = { emb: data.userEmb, rows: trainUsers };
  const itemSrc: RowSource = { emb: data.itemEmb, rows: allItems };
  const batchTopK = o.batchTopK && o.activation === 'topk';
  const config: SaeConfig = {
    inputDim: d,
    latents: o.latents,
    activation: o.activation,
    ...(o.activation === 'topk' ? { k: batchTopK ? o.maxK : o.k } : {}),
    ...(o.matryoshka.length > 0 ? { matryoshka: o.matryoshka } : {}),
  };
  const make = (sources: RowSource[]): Sae =>
    initSae(config, inputStats(sources, d, o.preBias, o.normalise), sources, o.init, rng.fork());
  // User rows get their own config (same params) when their k or threshold may differ from the items'.
  const withUserK = (sae: Sae): Sae =>
    batchTopK
      ? { ...sae, config: { ...sae.config } }
      : o.activation === 'topk' && o.userK !== o.k
        ? { ...sae, config: { ...sae.config, k: o.userK } }
        : sae;
  let pair: SaePair;
  if (o.shared) {
    const sae = make([userSrc, itemSrc]);
    if (o.sidePreBias && o.preBias) {
      // Each side keeps its own mean; W, bEnc and inputScale stay the very same arrays.
      const own = (src: RowSource): Sae => ({
        ...sae,
        params: { ...sae.params, bPre: inputStats([src], d, true, false).bPre },
      });
      pair = { shared: true, user: withUserK(own(userSrc)), item: own(itemSrc) };
    } else {
      pair = { shared: true, user: withUserK(sae), item: sae }; // user shares `params` with item
    }
  } else {
    pair = { shared: false, user: withUserK(make([userSrc])), item: make([itemSrc]) };
  }
  const saes = pair.shared ? [pair.item] : [pair.user, pair.item];
  const grads = new Map<Sae, SaeGrads>(saes.map((s) => [s, allocGrads(s)]));
  if (pair.shared) grads.set(pair.user, grads.get(pair.item)!);
  const adams = saes.map((s) => new Adam([s.params.W, s.params.bEnc], { lr: o.lr }));
  const topLists =
    o.beta > 0 && o.pairSources.includes('top') ? topItemsPerUser(data, trainUsers, o.topPairs) : null;

  const weights: LossWeights = {
    alpha: o.alpha,
    beta: o.beta,
    l1: o.l1,
    kl: o.kl,
    rho: o.rho,
    predScale: predictionScale(data, trainUsers, rng.fork()),
    prefixes: o.matryoshka.length > 0 ? o.matryoshka : [o.latents],
    ...(batchTopK ? { batchK: { user: o.userK, item: o.k } } : {}),
  };
  const stepsPerEpoch = Math.max(1, Math.ceil(data.nItems / o.batchSize));
  const usersPerStep = Math.max(1, Math.ceil(trainUsers.length / stepsPerEpoch));
  const totalSteps = stepsPerEpoch * o.epochs;
  const history: SaeEpochStats[] = [];
  const started = performance.now();
  const userOrder = trainUsers.slice();
  const itemOrder = allItems.slice();
  let step = 0;
  const lossInput = opts.kernel ? { ...data, kernel: opts.kernel } : data;

  for (let epoch = 0; epoch < o.epochs; epoch++) {
    o.signal?.throwIfAborted();
    rng.shuffle(userOrder);
    rng.shuffle(itemOrder);
    const warm = o.betaWarmup > 0 ? Math.min(1, (epoch + 1) / o.betaWarmup) : 1;
    weights.beta = o.beta * warm;
    const itemFires = saes.map((s) => new Int32Array(s.config.latents));
    const userFires = saes.map((s) => new Int32Array(s.config.latents));
    const sum: LossParts = { emb: 0, pred: 0, l1: 0, kl: 0, total: 0 };
    let lr = o.lr;
    for (let s = 0; s < stepsPerEpoch; s++) {
      const batch = makeBatch(o, data, topLists, userOrder, itemOrder, s, usersPerStep, rng);
      const { parts, user, item } = saeLoss(pair, lossInput, batch, weights, grads);
      for (const key of Object.keys(sum) as (keyof LossParts)[]) sum[key] += parts[key] / stepsPerEpoch;
      lr = cosineLr(o, step++, totalSteps);
      saes.forEach((sae, k) => {
        const g = grads.get(sae)!;
        adams[k].step([g.W, g.bEnc], lr);
      });
      countFires(user.codes, userFires[0], user.n);
      countFires(item.codes, itemFires[pair.shared ? 0 : 1], batch.baseItems ?? item.n);
    }
    const itemSae = pair.shared ? 0 : 1;
    const deadItems = countZero(itemFires[itemSae]);
    const deadUsers = countZero(userFires[0]);
    let resampled = 0;
    // Resample until two epochs before the end, so the last epochs settle the new neurons.
    if (o.resampleDead && epoch + 2 < o.epochs) {
      resampled += resampleDead(
        pair.item,
        itemFires[itemSae],
        data.itemEmb,
        allItems,
        rng,
        o.minItemFires,
        opts.kernel,
      );
      if (!pair.shared)
        resampled += resampleDead(pair.user, userFires[0], data.userEmb, trainUsers, rng, 1, opts.kernel);
    }
    history.push({ epoch: epoch + 1, loss: sum, deadItems, deadUsers, resampled, lr });
    o.onProgress?.({
      stage: 'sae',
      epoch: epoch + 1,
      epochs: o.epochs,
      loss: sum.total,
      fraction: (epoch + 1) / o.epochs,
      seconds: (performance.now() - started) / 1000,
      message: `emb ${sum.emb.toFixed(4)} pred ${sum.pred.toFixed(4)} dead(items) ${deadItems}`,
    });
  }
  if (batchTopK) {
    pair.item.config.threshold = calibrateThreshold(pair.item, data.itemEmb, allItems, o.k);
    pair.user.config.threshold = calibrateThreshold(pair.user, data.userEmb, trainUsers, o.userK);
  }
  if (o.pursuit) pair = withPursuit(pair, o, data, trainUsers, allItems);
  for (const sae of pair.shared ? [pair.item] : [pair.user, pair.item]) {
    const { W, bEnc, bPre } = sae.params;
    assertFinite(
      `SAE training diverged (${pair.shared ? 'shared' : sae === pair.user ? 'user' : 'item'} SAE)`,
      { W: { values: W, rowLength: d }, bEnc: { values: bEnc }, bPre: { values: bPre } },
      'try a lower learning rate (lr)',
    );
  }
  return { pair, history, options: o, compute: (opts.kernel ?? jsKernel).name };
}

/**
 * Switches both sides to pursuit coding (new config objects, the same params) and adapts the dictionary
 * to it on the training users and all items.
 */
function withPursuit(
  pair: SaePair,
  o: ResolvedSaeOptions,
  data: SaeTrainData,
  trainUsers: Int32Array,
  allItems: Int32Array,
): SaePair {
  const p = o.pursuit as NonNullable<ResolvedSaeOptions['pursuit']>;
  const user: Sae = {
    ...pair.user,
    config: { ...pair.user.config, pursuit: { k: p.userK, pool: p.userPool } },
  };
  const item: Sae = { ...pair.item, config: { ...pair.item.config, pursuit: { k: o.k, pool: p.itemPool } } };
  const userSide = { sae: user, emb: data.userEmb, rows: trainUsers };
  const itemSide = { sae: item, emb: data.itemEmb, rows: allItems };
  const refine = { rounds: p.rounds, sweeps: p.sweeps, signal: o.signal };
  // Atoms no item code uses are dead neurons for concepts and MS, whatever users do with them.
  const resample =
    o.resampleDead && p.resample
      ? { resample: { side: itemSide, minFires: Math.max(1, o.minItemFires) } }
      : {};
  if (pair.shared) refineDictionary([userSide, itemSide], { ...refine, ...resample });
  else {
    refineDictionary([userSide], refine);
    refineDictionary([itemSide], { ...refine, ...resample });
  }
  return { shared: pair.shared, user, item };
}

/**
 * The global threshold θ that leaves `k` active latents per row on average over `rows` (the (k·n+1)-th
 * largest activation; 0 when fewer are active), for serving a BatchTopK SAE.
 */
export function calibrateThreshold(sae: Sae, emb: Float32Array, rows: Int32Array, k: number): number {
  const n = rows.length;
  const d = sae.config.inputDim;
  const xh = new Float32Array(n * d);
  const saved = sae.config.threshold;
  sae.config.threshold = undefined;
  normaliseRows(sae, emb, rows, xh);
  const codes = allocSparseCodes(n, sae);
  encodeSparse(sae, xh, n, codes);
  sae.config.threshold = saved;
  const vals: number[] = [];
  for (let r = 0; r < n; r++)
    for (let a = 0; a < codes.count[r]; a++) vals.push(codes.val[r * codes.cap + a]);
  const budget = Math.floor(k * n);
  if (vals.length <= budget) return 0;
  vals.sort((a, b) => b - a);
  return vals[budget];
}

function cosineLr(o: ResolvedSaeOptions, step: number, total: number): number {
  if (total <= 1 || o.lrFinal === 1) return o.lr;
  const t = step / (total - 1);
  return o.lr * (o.lrFinal + (1 - o.lrFinal) * 0.5 * (1 + Math.cos(Math.PI * t)));
}

/** 1 / Var(s(u, i)) over random (train user, item) pairs of the frozen scorer (exported for its test). */
export function predictionScale(data: SaeTrainData, trainUsers: Int32Array, rng: Rng): number {
  const d = data.dim;
  const n = Math.min(4096, trainUsers.length * data.nItems);
  if (n === 0) return 1;
  let sum = 0;
  let sq = 0;
  for (let q = 0; q < n; q++) {
    const u = trainUsers[rng.nextInt(trainUsers.length)];
    const i = rng.nextInt(data.nItems);
    const s = data.scorer.score(
      u,
      i,
      data.userEmb.subarray(u * d, u * d + d),
      data.itemEmb.subarray(i * d, i * d + d),
    );
    sum += s;
    sq += s * s;
  }
  const v = sq / n - (sum / n) ** 2;
  return v > 1e-12 ? 1 / v : 1;
}

/**
 * For 'top' pairs: each train user's `n` highest-scored non-positive items under the frozen recommender,
 * [nUsers × n] (rows of users outside trainUsers stay empty).
 */
function topItemsPerUser(data: SaeTrainData, trainUsers: Int32Array, n: number): Int32Array {
  const d = data.dim;
  const nn = Math.min(n, data.nItems);
  const out = new Int32Array(data.nUsers * nn);
  const scores = new Float32Array(data.nItems);
  const { indptr, indices } = data.train;
  for (const u of trainUsers) {
    data.scorer.scoreAll(u, data.userEmb.subarray(u * d, u * d + d), data.itemEmb, scores);
    const top = topKExcluding(scores, nn, indices, indptr[u], indptr[u + 1]);
    out.set(top, u * nn);
    for (let r = top.length; r < nn; r++) out[u * nn + r] = top[r % Math.max(1, top.length)] ?? 0;
  }
  return out;
}

/**
 * Step s of an epoch: a slice of the shuffled items and users. L_pred pairs are random (user, item)
 * pairs within the batch, and/or each user with one of its training positives or of its top-scored
 * items (appended as extra item rows, which also join L_emb).
 */
export function makeBatch(
  o: ResolvedSaeOptions,
  data: SaeTrainData,
  topLists: Int32Array | null,
  userOrder: Int32Array,
  itemOrder: Int32Array,
  s: number,
  usersPerStep: number,
  rng: Rng,
): SaeBatch {
  const items0 = itemOrder.subarray(s * o.batchSize, Math.min(itemOrder.length, (s + 1) * o.batchSize));
  const uStart = Math.min(userOrder.length, s * usersPerStep);
  const users = userOrder.slice(uStart, Math.min(userOrder.length, uStart + usersPerStep));
  const on = (src: 'random' | 'positives' | 'top'): boolean => o.beta > 0 && o.pairSources.includes(src);
  const { indptr, indices } = data.train;
  const extra: number[] = [];
  const pu: number[] = [];
  const pi: number[] = [];
  const addPair = (r: number, item: number): void => {
    pu.push(r);
    pi.push(items0.length + extra.length);
    extra.push(item);
  };
  if (on('positives')) {
    for (let r = 0; r < users.length; r++) {
      const u = users[r];
      const deg = indptr[u + 1] - indptr[u];
      if (deg > 0) addPair(r, indices[indptr[u] + rng.nextInt(deg)]);
    }
  }
  if (on('top') && topLists) {
    const n = topLists.length / data.nUsers;
    for (let r = 0; r < users.length; r++) addPair(r, topLists[users[r] * n + rng.nextInt(n)]);
  }
  if (on('random') && users.length > 0 && items0.length > 0) {
    for (let q = 0; q < o.pairsPerStep; q++) {
      pu.push(rng.nextInt(users.length));
      pi.push(rng.nextInt(items0.length));
    }
  }
  const items = new Int32Array(items0.length + extra.length);
  items.set(items0);
  items.set(extra, items0.length);
  return { users, items, pairU: Int32Array.from(pu), pairI: Int32Array.from(pi), baseItems: items0.length };
}

/** Adds, per latent, how many of the first `rows` rows it is active on. */
function countFires(
  codes: { n: number; cap: number; idx: Int32Array; count: Int32Array },
  fires: Int32Array,
  rows: number,
): void {
  for (let r = 0; r < rows; r++)
    for (let a = 0; a < codes.count[r]; a++) fires[codes.idx[r * codes.cap + a]]++;
}

function countZero(a: Int32Array): number {
  let n = 0;
  for (let j = 0; j < a.length; j++) if (a[j] === 0) n++;
  return n;
}

/**
 * Points every dead neuron (fewer than `minFires` rows of this side's epoch slice; the
 * monosemanticity score counts a neuron active on < 2 items as 0) at a row the SAE reconstructs
 * badly (sampled ∝ squared error from 1024 random rows), with the mean norm of the live rows.
 */
function resampleDead(
  sae: Sae,
  fires: Int32Array,
  emb: Float32Array,
  rows: Int32Array,
  rng: Rng,
  minFires: number,
  kernel?: DenseKernel,
): number {
  const dead: number[] = [];
  for (let j = 0; j < fires.length; j++) if (fires[j] < minFires) dead.push(j);
  if (dead.length === 0 || rows.length === 0) return 0;
  const { inputDim: d, latents: m } = sae.config;
  const liveNorm = meanAtomNorm(
    sae.params.W,
    d,
    m,
    (j) => fires[j] >= minFires,
    1 / Math.sqrt(sae.config.k ?? 1),
  );
  const n = Math.min(1024, rows.length);
  const sample = new Int32Array(n);
  for (let r = 0; r < n; r++) sample[r] = rows[rng.nextInt(rows.length)];
  const xh = new Float32Array(n * d);
  normaliseRows(sae, emb, sample, xh);
  const codes = allocSparseCodes(n, sae);
  encodeSparse(sae, xh, n, codes, kernel);
  const err = new Float64Array(n);
  const rec = new Float64Array(d);
  let total = 0;
  for (let r = 0; r < n; r++) {
    decodeSparseRow(sae, codes, r, m, rec);
    let e = 0;
    for (let c = 0; c < d; c++) e += (rec[c] - xh[r * d + c]) ** 2;
    err[r] = e;
    total += e;
  }
  for (const j of dead) {
    let t = rng.nextFloat() * total;
    let r = 0;
    while (r < n - 1 && t >= err[r]) t -= err[r++];
    atomFromRow(sae.params.W, sae.params.bEnc, j, xh, r, d, liveNorm);
  }
  return dead.length;
}
