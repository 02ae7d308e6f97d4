import type { ModelBundle } from '../../bundle.ts';
import type { ProgressCallback } from '../../core/progress.ts';
import type { Split } from '../../data/types.ts';

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
