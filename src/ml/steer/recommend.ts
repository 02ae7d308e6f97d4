import type { ModelBundle } from '../bundle.ts';
import { MlError } from '../core/errors.ts';
import { kendallTauB, rbo } from '../eval/fidelity.ts';
import { topKExcluding } from '../eval/topk.ts';
import { explainMf } from '../explain/mf.ts';
import { explainNcf } from '../explain/ncf.ts';
import type { Explanation } from '../explain/types.ts';
import {
  applyItemViews,
  type CompiledPolicy,
  compilePolicies,
  type ItemViews,
  steeredItemCode,
  steerItems,
  steerUser,
} from './apply.ts';
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
  /** Aimed at users: it targeted this user. Global item policy: it edited at least one item. */
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
  const compiled = compilePolicies(ctx, opts.policies ?? []);
  const exclude = exclusionList(bundle, user, opts);

  const steeredUser = steerUser(ctx, compiled, user);
  const items = steerItems(ctx, compiled);
  const scores = new Float32Array(ctx.nItems);
  items.scorer.scoreAll(user, steeredUser.vec, items.itemEmb, scores);
  const viewed = applyItemViews(ctx, compiled, steeredUser.itemViews, user, steeredUser.vec, items, scores);
  const top = topKExcluding(scores, k, exclude);
  const steered = steeredUser.editedCode !== null || items.changed || viewed.moved > 0;

  const explainReq = opts.explain === true ? {} : opts.explain || null;
  const list = toItems(bundle, top, scores);
  if (explainReq) {
    const uCode = steeredUser.editedCode ?? steeredUser.code ?? ctx.encodeUser(steeredUser.vec);
    for (const rec of list)
      rec.explanation = explainItem(
        ctx,
        compiled,
        user,
        rec.index,
        steeredUser.vec,
        uCode,
        items.itemEmb,
        viewed,
        explainReq,
      );
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
      applied: p.userScoped ? steeredUser.applied[r] : items.changed,
    })),
  };

  if (opts.compare) {
    let baseTop = top;
    let baseScores = scores;
    if (steered) {
      const { userEmb, itemEmb } = bundle.recommender.params;
      baseScores = new Float32Array(ctx.nItems);
      ctx.scorer.scoreAll(user, userEmb.subarray(user * ctx.dim, (user + 1) * ctx.dim), itemEmb, baseScores);
      baseTop = topKExcluding(baseScores, k, exclude);
    }
    result.unsteered = {
      items: toItems(bundle, baseTop, baseScores),
      rbo: rbo(top, baseTop, 0.9, k),
      kendallTau: kendallTauB(top, baseTop, k),
    };
  }
  return result;
}

function toItems(bundle: ModelBundle, top: Int32Array, scores: Float32Array): RecommendedItem[] {
  const { items, itemTitles } = bundle.dataset;
  return Array.from(top, (i) => ({
    index: i,
    item: items.ids[i],
    title: itemTitles[i] ?? '',
    score: scores[i],
  }));
}

function explainItem(
  ctx: SteerContext,
  compiled: readonly CompiledPolicy[],
  user: number,
  item: number,
  uVec: Float32Array,
  uCode: Float32Array,
  itemEmb: Float32Array,
  viewed: ItemViews,
  req: ExplainRequest,
): Explanation {
  const { dim } = ctx;
  const view = viewed.view(item);
  const iVec = view ? view.vec : itemEmb.subarray(item * dim, (item + 1) * dim);
  const iCode = view ? view.code : steeredItemCode(ctx, compiled, item);
  const model = ctx.bundle.recommender;
  const common = {
    user,
    item,
    uVec,
    iVec,
    uCode,
    iCode,
    userSae: ctx.userSae,
    itemSae: ctx.itemSae,
    labels: ctx.labels,
  };
  if (model.kind === 'mf') return explainMf({ ...common, model, side: req.side, topN: req.topN });
  return explainNcf({ ...common, scorer: ctx.scorer, steps: req.steps, topN: req.topN });
}
