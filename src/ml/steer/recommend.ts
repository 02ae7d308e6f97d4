import type { ModelBundle } from '../bundle.ts';
import { MlError } from '../core/errors.ts';
import { kendallTauB, listRbo } from '../eval/fidelity.ts';
import { topKExcluding } from '../eval/topk.ts';
import { explainMf } from '../explain/mf.ts';
import { explainNcf } from '../explain/ncf.ts';
import type { Explanation } from '../explain/types.ts';
import type { MfModel } from '../models/types.ts';
import { sparseCode } from '../sae/sparse.ts';
import {
  type CompiledPolicy,
  compilePolicies,
  type ItemViewPlan,
  type ItemViews,
  NO_VIEWS,
  planItemViews,
  steeredItemCode,
  steerItems,
  steerUser,
} from './apply.ts';
import type { CandidateList } from './candidates.ts';
import { type SteerContext, steerContext } from './context.ts';
import type { Policy } from './policy.ts';

export interface ExplainRequest {
  /** Contributions listed individually per item (default 5; the rest are summed into `other`). */
  topN?: number;
  /** MF: decompose over the user's (default) or the item's neurons. */
  side?: 'user' | 'item';
  /** NCF: integrated-gradients steps (default 16). */
  steps?: number;
}

export interface RecommendOptions {
  /** List length (default 10). */
  k?: number;
  /** Extra item indices to leave out (the user's training positives are always left out unless `includeSeen`). */
  exclude?: ArrayLike<number>;
  includeSeen?: boolean;
  /** Policies, applied in order (see apply.ts). Validated and resolved on first use, cached per object. */
  policies?: readonly Policy[];
  /** Explain every recommended item (true = defaults). */
  explain?: boolean | ExplainRequest;
  /** Also return the unsteered list and its agreement with the steered one. */
  compare?: boolean;
}

export interface RecommendedItem {
  index: number; // internal item index
  item: string; // the dataset's own item id
  title: string;
  score: number; // the ranking score (MF: dot + biases; NCF: logit), after steering
  explanation?: Explanation;
}

export interface PolicyEffect {
  id: string | null;
  kind: Policy['kind'];
  side: 'user' | 'item';
  /** Aimed at users: it targeted this user. Global item policy: it is in force on the catalogue (whether or
   * not any item carries its neurons). Never for a policy that edits nothing (strength 0). */
  applied: boolean;
}

export interface RecommendationResult {
  userIndex: number;
  user: string; // the dataset's own user id
  k: number;
  items: RecommendedItem[];
  policies: PolicyEffect[];
  /** True when the policies changed the user's vector or the item matrix. */
  steered: boolean;
  unsteered?: {
    items: RecommendedItem[];
    /** RBO (p = 0.9, truncated at k as in src/ml/eval/fidelity.ts) and Kendall τ-b, steered vs unsteered. */
    rbo: number;
    kendallTau: number;
  };
}

/** Training positives of `user` merged with `extra`, sorted ascending without duplicates. */
function exclusionList(bundle: ModelBundle, user: number, opts: RecommendOptions): Int32Array {
  const { indptr, indices } = bundle.dataset.interactions;
  const seen = opts.includeSeen ? new Int32Array(0) : indices.subarray(indptr[user], indptr[user + 1]);
  if (!opts.exclude || opts.exclude.length === 0) return seen;
  const merged = Int32Array.from([...seen, ...Array.from(opts.exclude)]).sort();
  let w = 0;
  for (let r = 0; r < merged.length; r++) if (r === 0 || merged[r] !== merged[r - 1]) merged[w++] = merged[r];
  return merged.subarray(0, w);
}

/**
 * The request path: re-scores every item for one user with the frozen recommender after applying the
 * policies to the user's code and (cached) to the item codes, and returns the top k with optional
 * per-item explanations and an optional comparison with the unsteered list.
 */
export function recommend(
  bundle: ModelBundle,
  user: number,
  opts: RecommendOptions = {},
): RecommendationResult {
  const ctx = steerContext(bundle);
  if (!Number.isInteger(user) || user < 0 || user >= ctx.nUsers)
    throw new MlError('UNKNOWN_USER', `user index ${user} is outside 0..${ctx.nUsers - 1}`, 'user');
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1)
    throw new MlError('BAD_CONFIG', `k must be a positive integer, got ${k}`, 'k');
  const ex = opts.exclude;
  if (ex)
    for (let r = 0; r < ex.length; r++)
      if (!Number.isInteger(ex[r]) || ex[r] < 0 || ex[r] >= ctx.nItems)
        throw new MlError(
          'UNKNOWN_ITEM',
          `exclude[${r}]: item index ${ex[r]} is outside 0..${ctx.nItems - 1}`,
          'exclude',
        );
  const compiled = compilePolicies(ctx, opts.policies ?? []);

  const steeredUser = steerUser(ctx, compiled, user);
  const items = steerItems(ctx, compiled);
  const plan = planItemViews(
    ctx,
    compiled,
    steeredUser.itemViews,
    steeredUser.vec,
    items,
    steeredUser.editedCode === null ? user : -1,
  );
  // Fast path: the user's own vector and the unedited item matrix, so the exact candidate list applies.
  const fast =
    steeredUser.editedCode === null && !items.changed && !opts.includeSeen
      ? fastTop(ctx, user, k, opts.exclude, plan)
      : null;
  const lists = ctx.candidates();
  if (lists) lists.stats[fast ? 'fast' : 'fallback']++;
  let top: Int32Array;
  let list: RecommendedItem[];
  let viewed: ItemViews;
  let full: { scores: Float32Array; exclude: Int32Array } | null = null;
  if (fast) {
    top = fast.top;
    list = toItems(bundle, top, fast.scores, true);
    viewed = plan ? plan.views(fast.anyMoved) : NO_VIEWS;
  } else {
    const exclude = exclusionList(bundle, user, opts);
    const scores = new Float32Array(ctx.nItems);
    items.scorer.scoreAll(user, steeredUser.vec, items.itemEmb, scores);
    viewed = plan ? plan.applyAll(user, scores) : NO_VIEWS;
    top = topKExcluding(scores, k, exclude);
    list = toItems(bundle, top, scores, false);
    full = { scores, exclude };
  }
  const steered = steeredUser.editedCode !== null || items.changed || viewed.anyMoved;

  const explainReq = opts.explain === true ? {} : opts.explain || null;
  if (explainReq) {
    const scope: ExplainScope = {
      ctx,
      compiled,
      user,
      uVec: steeredUser.vec,
      edited: steeredUser.editedCode ?? steeredUser.code,
      itemEmb: items.itemEmb,
      viewed,
      req: explainReq,
    };
    const model = bundle.recommender;
    const explain = model.kind === 'mf' ? mfExplainer(scope, model) : ncfExplainer(scope);
    for (const rec of list) rec.explanation = explain(rec.index);
  }

  const result: RecommendationResult = {
    userIndex: user,
    user: bundle.dataset.users.ids[user],
    k,
    items: list,
    steered,
    policies: compiled.map((p, r) => ({
      id: p.policy.id ?? null,
      kind: p.policy.kind,
      side: p.side,
      applied: p.userScoped ? steeredUser.applied[r] : items.changed && !p.identity,
    })),
  };

  if (opts.compare) {
    let baseTop = top;
    let baseItems = list;
    if (steered) {
      const base = full ? null : fastTop(ctx, user, k, opts.exclude, null);
      if (base) {
        baseTop = base.top;
        baseItems = toItems(bundle, baseTop, base.scores, true);
      } else {
        const { userEmb, itemEmb } = bundle.recommender.params;
        const baseScores = new Float32Array(ctx.nItems);
        ctx.scorer.scoreAll(
          user,
          userEmb.subarray(user * ctx.dim, (user + 1) * ctx.dim),
          itemEmb,
          baseScores,
        );
        baseTop = topKExcluding(baseScores, k, full ? full.exclude : exclusionList(bundle, user, opts));
        baseItems = toItems(bundle, baseTop, baseScores, false);
      }
    } else baseItems = toItems(bundle, top, full ? full.scores : fast!.scores, !full);
    result.unsteered = {
      items: baseItems,
      rbo: listRbo(top, baseTop),
      kendallTau: kendallTauB(top, baseTop, k),
    };
  }
  return result;
}

/**
 * The top k from the user's exact candidate list (see candidates.ts), re-scoring the list and the items
 * an MF item-view plan moves; null when the list cannot prove the result exact (the caller then scores
 * the whole catalogue). `scores` is aligned with `top` (by rank).
 */
function fastTop(
  ctx: SteerContext,
  user: number,
  k: number,
  extra: ArrayLike<number> | undefined,
  plan: ItemViewPlan | null,
): FastTop | null {
  const lists = ctx.candidates();
  if (!lists || (plan && (!plan.isMf || !plan.sparse))) return null;
  const first = topFromList(ctx, lists.listOf(user), user, k, extra, plan);
  // A user whose answer falls off the regular list gets a deeper one, for this request and the next.
  if (first !== null || !lists.deepen(user)) return first;
  return topFromList(ctx, lists.listOf(user), user, k, extra, plan);
}

type FastTop = { top: Int32Array; scores: Float32Array; anyMoved: boolean };

function topFromList(
  ctx: SteerContext,
  list: CandidateList,
  user: number,
  k: number,
  extra: ArrayLike<number> | undefined,
  plan: ItemViewPlan | null,
): FastTop | null {
  const { items: cItems, scores: cScores, count: n } = list;
  const marks = ctx.itemMarks;
  const gen = ctx.nextMarks();
  const EXCLUDED = gen;
  const LISTED = gen + 1;
  if (extra) for (let e = 0; e < extra.length; e++) marks[extra[e]] = EXCLUDED;
  // Reused per-context buffers (the request path is synchronous): no ArrayBuffer per request.
  const { idx, val } = ctx.candidateScratch(n);
  let count = 0;
  for (let r = 0; r < n; r++) {
    const i = cItems[r];
    if (marks[i] === EXCLUDED) continue;
    idx[count] = i;
    val[count++] = cScores[r];
  }
  if (!plan) return finishTop(list, k, idx, val, count, false);
  if (plan.onlyLowers) {
    // No item off the list can rise, so only the listed items need re-scoring: each through its own
    // active neurons (a few per item), in ascending neuron order — the full pass's order, so each score
    // takes the same Float32 steps.
    const slots = ctx.neuronSlots();
    for (let q = 0; q < plan.neurons.length; q++) slots[plan.neurons[q]] = q;
    const { indptr, neuron, value } = ctx.itemSparseCodesOn(plan.planned);
    for (let r = 0; r < count; r++) {
      const i = idx[r];
      let v = val[r];
      for (let t = indptr[i]; t < indptr[i + 1]; t++) {
        const q = slots[neuron[t]];
        if (q < 0) continue;
        const a0 = value[t];
        const d = Math.fround(plan.m[q] * a0 + plan.c[q]) - a0;
        if (d !== 0) v = Math.fround(v + d * plan.pull[q]);
      }
      val[r] = v;
    }
    for (let q = 0; q < plan.neurons.length; q++) slots[plan.neurons[q]] = -1;
    return finishTop(list, k, idx, val, count, plan.movesAnyItem());
  }

  // Otherwise the views' neurons in ascending order, each over the items active on it (the full pass's
  // order). An unlisted item whose score could rise sends the request to the full pass.
  const { indptr: tp, indices: ti } = ctx.bundle.dataset.interactions;
  for (let p = tp[user]; p < tp[user + 1]; p++) marks[ti[p]] = EXCLUDED;
  const work = ctx.itemScratch;
  for (let r = 0; r < count; r++) {
    work[idx[r]] = val[r];
    marks[idx[r]] = LISTED;
  }
  let anyMoved = false;
  for (let q = 0; q < plan.neurons.length; q++) {
    const j = plan.neurons[q];
    const m = plan.m[q];
    const c = plan.c[q];
    const pull = plan.pull[q];
    const active = ctx.itemsActiveOnNeuron(j);
    const acts = ctx.itemActivationsOnNeuron(j);
    for (let t = 0; t < active.length; t++) {
      const i = active[t];
      const a0 = acts[t];
      const d = Math.fround(m * a0 + c) - a0;
      if (d === 0) continue;
      anyMoved = true;
      const mark = marks[i];
      if (mark === LISTED) work[i] += d * pull;
      else if (mark !== EXCLUDED && d * pull > 0) return null;
    }
  }
  for (let r = 0; r < count; r++) val[r] = work[idx[r]];
  return finishTop(list, k, idx, val, count, anyMoved);
}

/** The top k of the candidates idx/val[0..count), or null when the list's bound cannot prove it exact. */
function finishTop(
  list: CandidateList,
  k: number,
  idx: Int32Array,
  val: Float32Array,
  count: number,
  anyMoved: boolean,
): FastTop | null {
  const { items: cItems, scores: cScores, count: n } = list;
  const kk = Math.min(k, count);
  const order = topOrder(idx, val, count, kk);
  if (!list.complete) {
    // Every item off the list and not moved ranks below the list's last entry (T, iN).
    if (kk < k) return null;
    const last = order[kk - 1];
    if (better(cScores[n - 1], cItems[n - 1], val[last], idx[last])) return null;
  }
  const top = new Int32Array(kk);
  const scores = new Float32Array(kk);
  for (let r = 0; r < kk; r++) {
    top[r] = idx[order[r]];
    scores[r] = val[order[r]];
  }
  return { top, scores, anyMoved };
}

/** Positions of the kk best (score desc, index asc) of idx/val[0..count), best first (insertion; kk small). */
function topOrder(idx: Int32Array, val: Float32Array, count: number, kk: number): Int32Array {
  const order = new Int32Array(kk);
  let size = 0;
  for (let p = 0; p < count; p++) {
    const s = val[p];
    if (Number.isNaN(s)) continue;
    const i = idx[p];
    if (size === kk && !better(s, i, val[order[size - 1]], idx[order[size - 1]])) continue;
    let q = size < kk ? size++ : size - 1;
    while (q > 0 && better(s, i, val[order[q - 1]], idx[order[q - 1]])) {
      order[q] = order[q - 1];
      q--;
    }
    order[q] = p;
  }
  return size === kk ? order : order.subarray(0, size);
}

/** True when (s, i) ranks above (t, j): higher score first, then lower index (as topKExcluding). */
function better(s: number, i: number, t: number, j: number): boolean {
  return s > t || (s === t && i < j);
}

/** `scores` indexed by item, or by rank when `byRank`. */
function toItems(
  bundle: ModelBundle,
  top: Int32Array,
  scores: Float32Array,
  byRank: boolean,
): RecommendedItem[] {
  const { items, itemTitles } = bundle.dataset;
  const out: RecommendedItem[] = new Array(top.length);
  for (let r = 0; r < top.length; r++) {
    const i = top[r];
    out[r] = { index: i, item: items.ids[i], title: itemTitles[i] ?? '', score: scores[byRank ? r : i] };
  }
  return out;
}

/** What explaining one request's items needs. */
interface ExplainScope {
  ctx: SteerContext;
  compiled: readonly CompiledPolicy[];
  user: number;
  uVec: Float32Array; // [dim] the user vector scored
  /** The user's edited code; null for the user's own (memoised) one. */
  edited: Float32Array | null;
  itemEmb: Float32Array; // [nItems × dim] the item matrix scored
  viewed: ItemViews;
  req: ExplainRequest;
}

/** The item vector the request scored: as the user's views left it, or its row of the (steered) matrix. */
function scoredItem({ ctx, itemEmb, viewed }: ExplainScope, item: number) {
  const view = viewed.view(item);
  return { view, vec: view ? view.vec : itemEmb.subarray(item * ctx.dim, (item + 1) * ctx.dim) };
}

/**
 * Explains MF scores for one request. Over the user's neurons by default; with one SAE per side only the
 * item side's neurons are labelled, so that is the side explained. The user's code is read once per
 * request, not once per item.
 */
function mfExplainer(scope: ExplainScope, model: MfModel): (item: number) => Explanation {
  const { ctx, compiled, user, uVec, edited, req } = scope;
  const side = req.side ?? (ctx.bundle.sae.shared ? 'user' : 'item');
  const uCode = side === 'user' ? (edited ? sparseCode(edited) : ctx.userCodeSparse(user)) : null;
  const labels = side === 'user' ? ctx.userLabels : ctx.labels;
  return (item) => {
    const { view, vec } = scoredItem(scope, item);
    return explainMf({
      model,
      user,
      item,
      uVec,
      iVec: vec,
      code: uCode ?? sparseCode(view ? view.code : steeredItemCode(ctx, compiled, item)),
      userSae: ctx.userSae,
      itemSae: ctx.itemSae,
      labels,
      side,
      topN: req.topN,
    });
  };
}

/** Explains NCF logits for one request (both codes, dense). */
function ncfExplainer(scope: ExplainScope): (item: number) => Explanation {
  const { ctx, compiled, user, uVec, edited, req } = scope;
  const uCode = edited ?? ctx.userCode(user);
  return (item) => {
    const { view, vec } = scoredItem(scope, item);
    return explainNcf({
      user,
      item,
      uVec,
      iVec: vec,
      uCode,
      iCode: view ? view.code : steeredItemCode(ctx, compiled, item),
      userSae: ctx.userSae,
      itemSae: ctx.itemSae,
      labels: ctx.labels,
      userLabels: ctx.userLabels,
      scorer: ctx.scorer,
      steps: req.steps,
      topN: req.topN,
    });
  };
}
