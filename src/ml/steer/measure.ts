import type { ModelBundle } from '../bundle.ts';
import type { ProgressCallback } from '../core/progress.ts';
import { Rng } from '../core/rng.ts';
import type { Split } from '../data/types.ts';
import { rbo } from '../eval/fidelity.ts';
import { evaluateRanking } from '../eval/ranking.ts';
import { topKExcluding } from '../eval/topk.ts';
import type { PairScorer } from '../models/types.ts';
import { encode } from '../sae/model.ts';
import { applyItemViews, compilePolicies, steerItems, steerUser } from './apply.ts';
import { steerContext } from './context.ts';
import {
  bestNeuronFor,
  conceptMask,
  longTailMask,
  popularityNeurons,
  promotionNeuronFor,
  rankConcepts,
  topItemsOf,
  topUsersBy,
} from './pick.ts';
import { type Policy, resolveConcept } from './policy.ts';

/** Replace mode's strength in the filtering runs: nothing edited, so the row shows the reconstruction swap alone. */
export const REPLACE_PROBE = 1e-6;

/**
 * Effect of the interventions, measured as the report's `interventions` section (issue 4 item 3).
 *
 * Automatic choices (override with options):
 * - Concepts: on MovieLens the paper's ("Horror" filtered, "Children's" promoted) when the tags exist;
 *   otherwise among the tags on ≥ 1 % of items (see `autoConcepts`) the most specific one whose best
 *   neuron has purity@20 ≥ 0.9 is filtered and the sharpest other one promoted.
 * - Concept neurons: filtering suppresses every neuron labelled with the concept (label or concept tag;
 *   the best neuron by purity@20 when none is labelled); promotion goes through the one neuron among the
 *   concept's purest (purity@20 within 0.2 of the best) that the most users carry (pick.ts).
 * - Filtering: users = the `segmentShare` (10 %) of users whose unsteered top-30 has the highest share
 *   of the concept (share > 0); a `suppress` policy on the concept neurons for exactly those users, on
 *   the items' codes as those users see them (default) and, for comparison, on the users' own codes
 *   (with one SAE per side, as popularity on users, left out: no user neuron carries an item concept).
 *   share = the concept's share of the top-30; collateral_rbo = RBO (p 0.9, depth 30, truncated as in
 *   eval/fidelity.ts, so identical lists score 0.958) between the top-30 lists computed WITHOUT the
 *   concept's items, before vs after. Replace mode (users' codes) also runs at a vanishing strength
 *   (REPLACE_PROBE, 1e-6: strength 0 is the identity in both modes) to show what the reconstruction swap
 *   alone costs, which the delta mode saves; `untargeted_changed` counts sampled other users whose list moved (must be 0 in delta mode).
 * - Promotion: audience pool = the `audienceShare` (10 %) of users with the concept neuron most active.
 *   Item = among the concept's items in the neuron's top-50 that are at least as popular as the median
 *   item (all of them when none is), the one outside the most pool members' top-20 (ties: stronger
 *   activation); audience = pool members without it in their top-20 (nor in
 *   training). A `promote` policy on that item; success = share of the audience for whom it enters the
 *   top-30 (top-10) — at strength 0, those who already had it at ranks 21–30; others_rising = share of
 *   the remaining users (not in the pool, item neither in their top-30 before nor in training) for whom
 *   it enters the top-30.
 * - Popularity: the popularity neurons (pick.ts) edited by a `popularity` policy on every item or every
 *   user (with MF the item side trades accuracy far worse: much of the popularity sits in the item
 *   bias, which no SAE edit reaches); long-tail = items outside the 20 % most popular; long-tail share of all top-10 slots and
 *   HR@10/NDCG@10 (full ranking) over the split's test users.
 * - Users: every user for MF; for NCF (an MLP pass per user is ~100× dearer) a seeded sample of
 *   `maxUsers` (default 1000).
 * Lists always exclude the user's training positives (split.train).
 */

export interface MeasureOptions {
  filterConcepts?: string[];
  promoteConcepts?: string[];
  /** Suppress strengths on the items' codes (the default suppress), and on the users' codes. */
  filterStrengths?: number[];
  filterUserStrengths?: number[];
  promoteStrengths?: number[];
  /** Popularity strengths on the users' codes (additive), and on the items' codes (proportional). */
  popularityStrengths?: number[];
  popularityItemStrengths?: number[];
  popularitySides?: ('items' | 'users')[];
  segmentShare?: number;
  audienceShare?: number;
  maxUsers?: number;
  seed?: number;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export interface MeasureInput {
  bundle: ModelBundle;
  split: Split;
  /** Codes of the unedited embeddings, when the caller already has them (else encoded here). */
  userCodes?: Float32Array; // [nUsers × latents]
  itemCodes?: Float32Array; // [nItems × latents]
  options?: MeasureOptions;
}

export interface FilteringRow {
  concept: string;
  neuron: number;
  /** Every neuron the policy edited (the concept's labelled neurons, or `neuron` alone). */
  neurons: number[];
  /** Whose codes the suppress policy edited: the items as the targeted users see them, or the users'. */
  on: 'users' | 'items';
  strength: number;
  mode: 'delta' | 'replace';
  users: number;
  share_before: number;
  share_after: number;
  collateral_rbo: number;
  untargeted_checked: number;
  untargeted_changed: number;
}

export interface PromotionRow {
  item: string;
  title: string;
  concept: string;
  neuron: number;
  strength: number;
  audience: number;
  success_top30: number;
  success_top10: number;
  others_rising: number;
  others: number;
}

export interface PopularityRow {
  on: 'items' | 'users';
  neurons: number[];
  strength: number;
  longtail_before: number;
  longtail_after: number;
  'hr@10_before': number;
  'hr@10_after': number;
  'ndcg@10_before': number;
  'ndcg@10_after': number;
}

export interface TargetCheck {
  met: boolean;
  /** The first strength meeting it (weakest first), else null. */
  strength: number | null;
  rule: string;
}

export interface InterventionsReport {
  dataset: string;
  recommender: 'mf' | 'ncf';
  users: number;
  filtering: FilteringRow[];
  promotion: PromotionRow[];
  popularity: PopularityRow[];
  targets: { filtering: TargetCheck; promotion: TargetCheck; popularity: TargetCheck };
  choices: string[];
}

const PAPER_CHOICES: Record<string, { filter: string[]; promote: string[] }> = {
  'movielens-1m': { filter: ['Horror'], promote: ["Children's"] },
};

const DEPTH = 30;

export function measureInterventions(input: MeasureInput): InterventionsReport {
  const { bundle, split } = input;
  const o = input.options ?? {};
  const ctx = steerContext(bundle);
  const model = bundle.recommender;
  const { dim, latents } = ctx;
  const itemCodes = input.itemCodes ?? ctx.itemCodes();
  const train = split.train;
  const choices: string[] = [];
  const progress = (fraction: number, message: string) =>
    o.onProgress?.({ stage: 'interventions', fraction, seconds: 0, message });

  // Users measured.
  const maxUsers = o.maxUsers ?? (model.kind === 'mf' ? ctx.nUsers : 1000);
  let users = Int32Array.from({ length: ctx.nUsers }, (_, u) => u);
  if (maxUsers < ctx.nUsers) {
    users = new Rng(o.seed ?? 0).shuffle(users).subarray(0, maxUsers).sort();
    choices.push(`${maxUsers} of ${ctx.nUsers} users sampled (seed ${o.seed ?? 0}).`);
  }
  // The concept and popularity neurons are item-SAE neurons: with one SAE per side no user neuron stands
  // for them, so the runs that edit the users' codes are left out.
  const onUserCodes = bundle.sae.shared;
  if (!onUserCodes)
    choices.push(
      "One SAE per side: filtering and popularity runs on the users' codes left out (no user neuron carries the item SAE's concepts).",
    );
  const uVec = (u: number) => model.params.userEmb.subarray(u * dim, (u + 1) * dim);
  const scores = new Float32Array(ctx.nItems);
  const topOf = (
    scorer: PairScorer,
    vec: Float32Array,
    itemEmb: Float32Array,
    u: number,
    k: number,
    ex?: Int32Array,
  ) => {
    scorer.scoreAll(u, vec, itemEmb, scores);
    return ex
      ? topKExcluding(scores, k, ex)
      : topKExcluding(scores, k, train.indices, train.indptr[u], train.indptr[u + 1]);
  };

  /** Scores every item for user u under the compiled policies, as `recommend` does, into `scores`. */
  const scoreSteered = (compiled: ReturnType<typeof compilePolicies>, u: number) => {
    const su = steerUser(ctx, compiled, u);
    const items = steerItems(ctx, compiled);
    items.scorer.scoreAll(u, su.vec, items.itemEmb, scores);
    applyItemViews(ctx, compiled, su.itemViews, u, su.vec, items, scores);
  };

  // Unsteered top-(30+1) per measured user; +1 so "30th best other than item X" is always known.
  const base = new Map<number, { top: Int32Array; scores: Float32Array }>();
  for (const u of users) {
    o.signal?.throwIfAborted();
    const top = topOf(ctx.scorer, uVec(u), model.params.itemEmb, u, DEPTH + 1);
    base.set(u, { top, scores: Float32Array.from(top, (i) => scores[i]) });
  }
  progress(0.1, 'baseline lists');

  const paper = PAPER_CHOICES[bundle.dataset.name];
  const hasTag = (c: string) => conceptMask(bundle, c).some((v) => v === 1);
  let auto: { filter: string; promote: string } | null = null;
  const autoChoice = () => (auto ??= autoConcepts(rankConcepts(bundle, itemCodes)));
  const filterConcepts =
    o.filterConcepts ?? (paper?.filter.every(hasTag) ? paper.filter : [autoChoice().filter].filter(Boolean));
  const promoteConcepts =
    o.promoteConcepts ??
    (paper?.promote.every(hasTag) ? paper.promote : [autoChoice().promote].filter(Boolean));

  // ---- Filtering -------------------------------------------------------------------------------------
  const filtering: FilteringRow[] = [];
  for (const concept of filterConcepts) {
    const mask = conceptMask(bundle, concept);
    const { neuron, purity20 } = bestNeuronFor(bundle, itemCodes, concept);
    // Suppress the concept as the service would: every neuron labelled with it; the best neuron alone
    // when the labels do not name it.
    const labelled = labelledNeurons(bundle, concept);
    const target: Pick<Policy, 'neuron' | 'concept'> = labelled.length > 0 ? { concept } : { neuron };
    const shareOf = (top: ArrayLike<number>) => {
      let hits = 0;
      for (let r = 0; r < Math.min(DEPTH, top.length); r++) hits += mask[top[r]];
      return hits / DEPTH;
    };
    const byShare = Array.from(users)
      .map((u) => ({ u, share: shareOf(base.get(u)!.top) }))
      .filter((x) => x.share > 0)
      .sort((a, b) => b.share - a.share || a.u - b.u);
    const segment = byShare
      .slice(0, Math.max(1, Math.round((o.segmentShare ?? 0.1) * users.length)))
      .map((x) => x.u);
    const inSegment = new Set(segment);
    choices.push(
      `Filtering "${concept}": ${labelled.length > 0 ? `the ${labelled.length} neurons labelled "${concept}" (best: ${neuron}, purity@20 ${purity20.toFixed(2)})` : `neuron ${neuron} (purity@20 ${purity20.toFixed(2)})`}, ${segment.length} users with the highest "${concept}" share in their top-30 (≥ ${(byShare[segment.length - 1]?.share ?? 0).toFixed(2)}).`,
    );
    const conceptItems = Int32Array.from(Array.from(mask).flatMap((v, i) => (v ? [i] : [])));
    const withoutConcept = new Map<number, { ex: Int32Array; before: Int32Array }>();
    for (const u of segment) {
      const ex = mergeSorted(train.indices.subarray(train.indptr[u], train.indptr[u + 1]), conceptItems);
      withoutConcept.set(u, { ex, before: topOf(ctx.scorer, uVec(u), model.params.itemEmb, u, DEPTH, ex) });
    }
    const untargeted = Array.from(users).filter((u) => !inSegment.has(u));
    const sample = new Rng(1).shuffle(untargeted).slice(0, 200);
    const runs: [number, 'users' | 'items', 'delta' | 'replace'][] = [
      ...(o.filterStrengths ?? [0, 0.5, 1, 2, 3, 4, 5, 6, 8]).map((x): [number, 'items', 'delta'] => [
        x,
        'items',
        'delta',
      ]),
      ...(onUserCodes ? userCodeRuns(o.filterUserStrengths ?? [0.5, 1, 2]) : []),
    ];
    for (const [strength, on, mode] of runs) {
      o.signal?.throwIfAborted();
      const policy: Policy = {
        kind: 'suppress',
        ...target,
        strength,
        users: segment.map((u) => bundle.dataset.users.ids[u]),
        on,
        mode,
      };
      const compiled = compilePolicies(ctx, [policy]);
      let before = 0;
      let after = 0;
      let collateral = 0;
      for (const u of segment) {
        scoreSteered(compiled, u);
        const top = topKExcluding(scores, DEPTH, train.indices, train.indptr[u], train.indptr[u + 1]);
        before += shareOf(base.get(u)!.top);
        after += shareOf(top);
        const w = withoutConcept.get(u)!;
        collateral += rbo(w.before, topKExcluding(scores, DEPTH, w.ex), 0.9, DEPTH);
      }
      let changed = 0;
      for (const u of sample) {
        scoreSteered(compiled, u);
        const top = topKExcluding(scores, DEPTH, train.indices, train.indptr[u], train.indptr[u + 1]);
        if (!sameList(top, base.get(u)!.top)) changed++;
      }
      const n = segment.length;
      filtering.push({
        concept,
        neuron,
        neurons: labelled.length > 0 ? labelled : [neuron],
        on,
        strength,
        mode,
        users: n,
        share_before: before / n,
        share_after: after / n,
        collateral_rbo: collateral / n,
        untargeted_checked: sample.length,
        untargeted_changed: changed,
      });
    }
  }
  progress(0.4, 'filtering');

  // ---- Promotion -------------------------------------------------------------------------------------
  const promotion: PromotionRow[] = [];
  // The audience is read at item-SAE neurons: with one SAE per side, the users as the item SAE encodes
  // them (their own codes are in another dictionary, whose neuron j means something else).
  let audience: Float32Array | undefined;
  const audienceCodes = () =>
    (audience ??=
      onUserCodes && input.userCodes
        ? input.userCodes
        : encode(onUserCodes ? ctx.userSae : ctx.itemSae, model.params.userEmb, ctx.nUsers));
  if (!onUserCodes && promoteConcepts.length > 0)
    choices.push(
      'One SAE per side: the promotion audience is read from the users as the item SAE encodes them.',
    );
  for (const concept of promoteConcepts) {
    const mask = conceptMask(bundle, concept);
    const { neuron, purity20, activeUsers } = promotionNeuronFor(bundle, itemCodes, audienceCodes(), concept);
    const measured = new Set(users);
    const pool = topUsersBy(audienceCodes(), latents, neuron, o.audienceShare ?? 0.1).filter((u) =>
      measured.has(u),
    );
    const inPool = new Set(pool);
    const top50 = topItemsOf(itemCodes, latents, neuron, 50);
    // The concept's items among the neuron's top-50, as popular as the catalogue's median item at least
    // (an item almost nobody interacted with keeps a near-random embedding the recommender ignores).
    const medianPop = median(bundle.popularity);
    const onConcept = top50.filter((i) => mask[i] === 1);
    const known = onConcept.filter((i) => bundle.popularity[i] >= medianPop);
    const candidates = known.length > 0 ? known : onConcept;
    const rank = (u: number, item: number) => base.get(u)!.top.indexOf(item); // −1 when outside the top-31
    const isPositive = (u: number, item: number) =>
      contains(train.indices, train.indptr[u], train.indptr[u + 1], item);
    const audienceOf = (item: number) =>
      pool.filter((u) => !isPositive(u, item) && !(rank(u, item) >= 0 && rank(u, item) < 20));
    let item = (candidates.length > 0 ? candidates : top50)[0] ?? 0;
    let bestCount = -1;
    for (const i of candidates.length > 0 ? candidates : top50) {
      const c = audienceOf(i).length;
      if (c > bestCount) {
        bestCount = c;
        item = i;
      }
    }
    const audience = audienceOf(item);
    const others = Array.from(users).filter(
      (u) => !inPool.has(u) && !isPositive(u, item) && !(rank(u, item) >= 0 && rank(u, item) < DEPTH),
    );
    const itemId = bundle.dataset.items.ids[item];
    choices.push(
      `Promotion "${concept}": neuron ${neuron} (purity@20 ${purity20.toFixed(2)}, active on ${activeUsers} users), item ${itemId} "${bundle.dataset.itemTitles[item]}" (popularity ${bundle.popularity[item]}); pool = ${pool.length} users most active on the neuron, audience ${audience.length} of them without it in their top-20; ${others.length} other users.`,
    );
    for (const strength of o.promoteStrengths ?? [0, 0.5, 1, 2, 4, 8, 16]) {
      o.signal?.throwIfAborted();
      const compiled = compilePolicies(ctx, [{ kind: 'promote', neuron, strength, items: [itemId] }]);
      const steered = steerItems(ctx, compiled);
      const iVec = steered.itemEmb.subarray(item * dim, (item + 1) * dim);
      const enters = (u: number, k: number) => {
        const s = Math.fround(ctx.scorer.score(u, item, uVec(u), iVec));
        const b = base.get(u)!;
        // the k-th best item other than `item` in the unsteered list
        const r = b.top.indexOf(item);
        const at = r >= 0 && r < k ? k : k - 1;
        if (at >= b.top.length) return true;
        return s > b.scores[at] || (s === b.scores[at] && item < b.top[at]);
      };
      let top30 = 0;
      let top10 = 0;
      for (const u of audience) {
        if (enters(u, DEPTH)) top30++;
        if (enters(u, 10)) top10++;
      }
      let rising = 0;
      for (const u of others) if (enters(u, DEPTH)) rising++;
      promotion.push({
        item: itemId,
        title: bundle.dataset.itemTitles[item] ?? '',
        concept,
        neuron,
        strength,
        audience: audience.length,
        success_top30: audience.length ? top30 / audience.length : 0,
        success_top10: audience.length ? top10 / audience.length : 0,
        others_rising: others.length ? rising / others.length : 0,
        others: others.length,
      });
    }
  }
  progress(0.6, 'promotion');

  // ---- Popularity ------------------------------------------------------------------------------------
  const popularity: PopularityRow[] = [];
  const popNeurons = popularityNeurons(bundle, itemCodes);
  const labelled = bundle.neurons.some((n) => n.kind === 'popularity');
  choices.push(
    `Popularity: neuron(s) ${popNeurons.join(', ')} (${labelled ? 'labelled popularity' : 'best correlation of item activation with log popularity'}); long tail = items outside the 20 % most popular.`,
  );
  const tail = longTailMask(bundle.popularity);
  const measured = new Set(users);
  const evalSplit: Split = { ...split, testUsers: split.testUsers.filter((u) => measured.has(u)) };
  const evaluate = (scoreInto: (u: number, out: Float32Array) => void) => {
    let slots = 0;
    let longTail = 0;
    const m = evaluateRanking(
      (u, out) => {
        scoreInto(u, out);
        const top = topKExcluding(out, 10, train.indices, train.indptr[u], train.indptr[u + 1]);
        slots += top.length;
        for (const i of top) longTail += tail[i];
      },
      evalSplit,
      { k: 10, signal: o.signal },
    );
    return { hr: m.hr, ndcg: m.ndcg, longtail: slots ? longTail / slots : 0 };
  };
  const plain = evaluate((u, out) => ctx.scorer.scoreAll(u, uVec(u), model.params.itemEmb, out));
  const sides = (o.popularitySides ?? ['items', 'users']).filter((on) => onUserCodes || on === 'items');
  sides.forEach((on, sideIndex) => {
    const strengths =
      on === 'users'
        ? (o.popularityStrengths ?? [-0.025, -0.05, -0.075, -0.1, -0.15, -0.2, -0.3, -0.5, -0.75, -1])
        : (o.popularityItemStrengths ?? o.popularityStrengths ?? [-0.25, -0.5, -1, -2, -4]);
    for (const strength of strengths) {
      const policies: Policy[] = popNeurons.map((neuron) => ({ kind: 'popularity', neuron, strength, on }));
      const compiled = compilePolicies(ctx, policies);
      const items = steerItems(ctx, compiled);
      const after = evaluate((u, out) =>
        items.scorer.scoreAll(u, steerUser(ctx, compiled, u).vec, items.itemEmb, out),
      );
      popularity.push({
        on,
        neurons: popNeurons,
        strength,
        longtail_before: plain.longtail,
        longtail_after: after.longtail,
        'hr@10_before': plain.hr,
        'hr@10_after': after.hr,
        'ndcg@10_before': plain.ndcg,
        'ndcg@10_after': after.ndcg,
      });
    }
    progress(0.6 + (0.4 * (sideIndex + 1)) / sides.length, `popularity on ${on}`);
  });

  return {
    dataset: bundle.dataset.name,
    recommender: model.kind,
    users: users.length,
    filtering,
    promotion,
    popularity,
    targets: checkTargets(filtering, promotion, popularity),
    choices,
  };
}

/**
 * Without the paper's choices: filter the most specific sharp concept (fewest items among those whose
 * best neuron has purity@20 ≥ 0.9 — a genre like Horror rather than a catch-all like "indie"), promote
 * through the sharpest of the others (ranked by purity, then breadth).
 */
export function autoConcepts(ranked: ReturnType<typeof rankConcepts>): { filter: string; promote: string } {
  if (ranked.length === 0) return { filter: '', promote: '' };
  const sharp = ranked.filter((c) => c.purity20 >= 0.9);
  const filter = (sharp.length > 0 ? sharp : ranked)
    .slice()
    .sort((a, b) => a.items - b.items || a.concept.localeCompare(b.concept))[0].concept;
  const promote = ranked.find((c) => c.concept !== filter)?.concept ?? filter;
  return { filter, promote };
}

/** The issue's targets, checked on the rows (weakest passing strength reported). */
export function checkTargets(
  filtering: FilteringRow[],
  promotion: PromotionRow[],
  popularity: PopularityRow[],
): InterventionsReport['targets'] {
  const first = <T extends { strength: number }>(rows: T[], ok: (r: T) => boolean) => {
    const hit = rows.filter(ok).sort((a, b) => Math.abs(a.strength) - Math.abs(b.strength))[0];
    return { met: hit !== undefined, strength: hit ? hit.strength : null };
  };
  return {
    filtering: {
      ...first(
        filtering.filter((r) => r.mode === 'delta'),
        (r) => r.share_before > 0 && r.share_after <= 0.1 * r.share_before && r.collateral_rbo >= 0.8,
      ),
      rule: 'concept share cut by ≥ 90 % with collateral RBO ≥ 0.8 (delta mode)',
    },
    promotion: {
      ...first(promotion, (r) => r.success_top30 >= 0.8 && r.others_rising <= 0.2),
      rule: 'item enters the top-30 for ≥ 80 % of its audience and ≤ 20 % of other users',
    },
    popularity: {
      ...first(
        popularity,
        (r) => r.longtail_after >= 2 * r.longtail_before && r['hr@10_after'] >= 0.9 * r['hr@10_before'],
      ),
      rule: 'long-tail share of top-10 at least doubled with HR@10 down ≤ 10 % relative',
    },
  };
}

/** The filtering runs on the users' codes: delta at each strength, then replace at a vanishing one. */
function userCodeRuns(strengths: number[]): [number, 'users', 'delta' | 'replace'][] {
  return [
    ...strengths.map((x): [number, 'users', 'delta'] => [x, 'users', 'delta']),
    [REPLACE_PROBE, 'users', 'replace'],
  ];
}

function labelledNeurons(bundle: ModelBundle, concept: string): number[] {
  try {
    return resolveConcept(bundle.neurons, concept);
  } catch {
    return [];
  }
}

function median(values: Int32Array): number {
  const sorted = Int32Array.from(values).sort();
  return sorted.length ? sorted[sorted.length >> 1] : 0;
}

function sameList(a: Int32Array, b: Int32Array): boolean {
  for (let r = 0; r < Math.min(a.length, b.length, DEPTH); r++) if (a[r] !== b[r]) return false;
  return true;
}

function contains(sorted: Int32Array, start: number, end: number, x: number): boolean {
  let lo = start;
  let hi = end - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === x) return true;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Union of two ascending lists, ascending, without duplicates. */
function mergeSorted(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let w = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (w === 0 || out[w - 1] !== x) out[w++] = x;
  }
  return out.subarray(0, w);
}
