import type { NeuronKind } from './types.ts';

/**
 * The automatic labelling rule (no human in the loop, no hand-picked neurons).
 *
 * A neuron's top-K items are compared against the catalogue: a share only counts as evidence when it is
 * well above what a random set of items would show. For a property carried by a share `base` of all items
 * the top-K share must reach
 *
 *     minShareFor(base) = max(MIN_SHARE, base + GAP_FRACTION · (1 − base))
 *
 * i.e. at least 60 %, and at least half-way from the base rate to 100 % (Drama at 40 % of items needs 0.7,
 * the 1990s at 58 % of ML-1M movies need 0.79, Horror at 9 % needs 0.6).
 *
 * - **concept**: the tag with the highest purity@20 (ties: @50, @10, rarer tag, name) whose purity@20
 *   reaches minShareFor(its base rate). (@20 only: a TopK SAE's neuron may be active on fewer than 50
 *   items, and purity@K counts missing slots against it; @10 and @50 are reported in the evidence.)
 * - **era**: the dominant decade of the top-50 when its share reaches minShareFor(decade's share of items).
 * - **popularity band**: "popular" when the top-50 mean popularity percentile ≤ POPULAR_MAX_PCT, "niche"
 *   when ≥ NICHE_MIN_PCT (a random set of items averages ≈ 50 %); only for neurons active on at least
 *   BAND_MIN_ITEMS items (the percentile averages over the listed items, so a short list proves little).
 * - Several passing parts combine, in the order band, era, concept ("popular 1990s Action"), kind
 *   'combined'; one part gives its own kind; none gives 'unlabelled' with an empty label.
 */
export const MIN_SHARE = 0.6;
export const GAP_FRACTION = 0.5;
export const POPULAR_MAX_PCT = 5;
export const NICHE_MIN_PCT = 80;
export const BAND_MIN_ITEMS = 20;

export function minShareFor(baseRate: number): number {
  return Math.max(MIN_SHARE, baseRate + GAP_FRACTION * (1 - baseRate));
}

/** A share reaches the threshold; the tolerance keeps 12/20 = 0.6 passing a threshold computed as 0.6000000000000001. */
const reaches = (share: number, baseRate: number): boolean => share >= minShareFor(baseRate) - 1e-9;

export interface ConceptEvidence {
  tag: string;
  purity10: number;
  purity20: number;
  purity50: number;
  baseRate: number;
}

export interface NeuronEvidence {
  /** The passing-or-not best tag (see rule); null when the catalogue has no tags or the neuron no items. */
  concept: ConceptEvidence | null;
  decade: number | null;
  decadeShare50: number;
  decadeBaseRate: number;
  popPct50: number;
  /** Length of the neuron's top-50 list (items it is active on, at most 50). */
  listed: number;
}

export interface NeuronLabel {
  label: string;
  kind: NeuronKind;
  concept: string | null;
  evidence: string;
}

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
/** "top-50 items", or "only 12 items" when the neuron is active on fewer than 50. */
const topOf = (listed: number): string => (listed >= 50 ? 'top-50 items' : `only ${listed} items`);

export function conceptPasses(c: ConceptEvidence): boolean {
  return reaches(c.purity20, c.baseRate);
}

export function eraPasses(e: NeuronEvidence): boolean {
  return e.decade !== null && reaches(e.decadeShare50, e.decadeBaseRate);
}

export function popularityBand(popPct50: number, listed: number): 'popular' | 'niche' | null {
  if (listed < BAND_MIN_ITEMS) return null;
  if (popPct50 <= POPULAR_MAX_PCT) return 'popular';
  if (popPct50 >= NICHE_MIN_PCT) return 'niche';
  return null;
}

export function labelNeuron(e: NeuronEvidence): NeuronLabel {
  const parts: string[] = [];
  const reasons: string[] = [];
  const kinds: NeuronKind[] = [];
  const band = popularityBand(e.popPct50, e.listed);
  if (band) {
    parts.push(band);
    kinds.push('popularity');
    reasons.push(
      `its ${topOf(e.listed)} sit at the ${e.popPct50.toFixed(1)} % popularity percentile on average (${band === 'popular' ? `≤ ${POPULAR_MAX_PCT}` : `≥ ${NICHE_MIN_PCT}`} %)`,
    );
  }
  if (eraPasses(e)) {
    parts.push(`${e.decade}s`);
    kinds.push('era');
    reasons.push(
      `${pct(e.decadeShare50)} of its top-50 items are from the ${e.decade}s (catalogue ${pct(e.decadeBaseRate)}, needs ≥ ${pct(minShareFor(e.decadeBaseRate))})`,
    );
  }
  const c = e.concept;
  const conceptOk = c !== null && conceptPasses(c);
  if (conceptOk) {
    parts.push(c.tag);
    kinds.push('concept');
    reasons.push(
      `purity of "${c.tag}" is ${c.purity10.toFixed(2)}/${c.purity20.toFixed(2)}/${c.purity50.toFixed(2)} at K=10/20/50 (catalogue ${pct(c.baseRate)}, needs ≥ ${minShareFor(c.baseRate).toFixed(2)} at K=20)`,
    );
  }
  if (parts.length === 0) {
    if (e.listed === 0)
      return {
        label: '',
        kind: 'unlabelled',
        concept: null,
        evidence: 'Unlabelled: active on users only, on no item.',
      };
    const best = c
      ? `best tag "${c.tag}" purity@20 ${c.purity20.toFixed(2)} (needs ${minShareFor(c.baseRate).toFixed(2)})`
      : 'no tags';
    const era = e.decade !== null ? `, ${pct(e.decadeShare50)} of top-50 from the ${e.decade}s` : '';
    return {
      label: '',
      kind: 'unlabelled',
      concept: null,
      evidence: `Unlabelled: ${best}${era}, popularity percentile of its ${topOf(e.listed)} ${e.popPct50.toFixed(1)} %.`,
    };
  }
  const label = parts.join(' ');
  const sentence = `"${label}": ${reasons.join('; ')}.`;
  return {
    label,
    kind: kinds.length > 1 ? 'combined' : kinds[0],
    concept: conceptOk ? c.tag : null,
    evidence: sentence,
  };
}
