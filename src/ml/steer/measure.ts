import { measureFiltering } from './measure/filtering.ts';
import { measurePopularity } from './measure/popularity.ts';
import { measurePromotion } from './measure/promotion.ts';
import { openSession } from './measure/session.ts';
import type {
  FilteringRow,
  InterventionsReport,
  MeasureInput,
  PopularityRow,
  PromotionRow,
} from './measure/types.ts';
import { conceptMask, rankConcepts } from './pick.ts';

export { REPLACE_PROBE } from './measure/filtering.ts';
export type {
  FilteringRow,
  InterventionsReport,
  MeasureInput,
  MeasureOptions,
  PopularityRow,
  PromotionRow,
  TargetCheck,
} from './measure/types.ts';

const PAPER_CHOICES: Record<string, { filter: string[]; promote: string[] }> = {
  'movielens-1m': { filter: ['Horror'], promote: ["Children's"] },
};

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

export function measureInterventions(input: MeasureInput): InterventionsReport {
  const s = openSession(input);
  const { bundle, o } = s;
  const paper = PAPER_CHOICES[bundle.dataset.name];
  const hasTag = (c: string) => conceptMask(bundle, c).some((v) => v === 1);
  let auto: { filter: string; promote: string } | null = null;
  const autoChoice = () => (auto ??= autoConcepts(rankConcepts(bundle, s.itemCodes)));
  const filterConcepts =
    o.filterConcepts ?? (paper?.filter.every(hasTag) ? paper.filter : [autoChoice().filter].filter(Boolean));
  const promoteConcepts =
    o.promoteConcepts ??
    (paper?.promote.every(hasTag) ? paper.promote : [autoChoice().promote].filter(Boolean));

  const filtering = measureFiltering(s, filterConcepts);
  s.progress(0.4, 'filtering');
  const promotion = measurePromotion(s, promoteConcepts, input.userCodes);
  s.progress(0.6, 'promotion');
  const popularity = measurePopularity(s);
  return {
    dataset: bundle.dataset.name,
    recommender: s.model.kind,
    users: s.users.length,
    filtering,
    promotion,
    popularity,
    targets: checkTargets(filtering, promotion, popularity),
    choices: s.choices,
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

/** The targets, checked on the rows (weakest passing strength reported). */
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
