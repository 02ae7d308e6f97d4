import type { ModelBundle } from '../bundle.ts';
import { topKExcluding } from '../eval/topk.ts';
import { mfScoreRows } from '../models/mf/scorer.ts';
import type { PairScorer } from '../models/types.ts';

/** Candidates kept per user (the exact unsteered top-N). */
export const CANDIDATES_PER_USER = 64;
/** Above this many stored entries (nUsers × N) the lists are not kept: serving scores every item. */
const MAX_ENTRIES = 64_000_000;
/** Entries (users × length) the on-demand deeper lists may hold in all (32 MB). */
const MAX_DEEP_ENTRIES = 4_000_000;

/** One user's exact list, best first: `count` entries, `complete` when it holds every unseen item. */
export interface CandidateList {
  items: Int32Array;
  scores: Float32Array;
  count: number;
  complete: boolean;
}

/**
 * Per user, the exact unsteered top-N items (training positives left out), ranked by (score desc,
 * index asc) — computed with the same kernels as a full pass (`scoreAll` + `topKExcluding`), so their
 * scores are bit-identical. Filled lazily per user, or for every user at model activation (`SteerContext.warmUp`).
 *
 * Why this is exact: the ranking is a strict total order, so the top k of any request is a prefix of
 * the top N once the extra exclusions are skipped, as long as N − (excluded list entries) ≥ k. A policy
 * that moves only known items (an item view on an MF model) re-scores the list plus the moved items;
 * every other item keeps its unsteered score, which ranks below the list's last entry, so the result is
 * exact whenever the k-th steered candidate still ranks at or above that last entry (checked per
 * request; otherwise the caller scores the whole catalogue).
 */
export class CandidateLists {
  readonly size: number;
  private readonly items: Int32Array; // [nUsers × size]
  private readonly scores: Float32Array; // [nUsers × size]
  private readonly counts: Int32Array; // [nUsers], −1 until computed
  private readonly scratch: Float32Array; // [nItems]
  /** Requests answered from the lists, and those that had to score the whole catalogue. */
  readonly stats = { fast: 0, fallback: 0 };
  /** Length of the deeper lists made for users whose steered top k falls off their list. */
  readonly deepSize: number;
  private readonly deep = new Map<number, CandidateList>();

  constructor(
    private readonly bundle: ModelBundle,
    private readonly scorer: PairScorer,
    size = CANDIDATES_PER_USER,
  ) {
    const { nUsers, nItems } = bundle.recommender;
    this.size = Math.min(size, nItems);
    this.items = new Int32Array(nUsers * this.size);
    this.scores = new Float32Array(nUsers * this.size);
    this.counts = new Int32Array(nUsers).fill(-1);
    this.scratch = new Float32Array(nItems);
    this.deepSize = Math.min(nItems, 4 * this.size);
  }

  /** The list to read for `user`: its deeper one once made, else the regular one (computed if needed). */
  listOf(user: number): CandidateList {
    const deep = this.deep.get(user);
    if (deep) return deep;
    const count = this.ensure(user);
    return {
      items: this.itemsOf(user),
      scores: this.scoresOf(user),
      count,
      complete: this.complete(count),
    };
  }

  /**
   * Makes a deeper exact list for `user` (`deepSize` entries), for a user whose steered top k keeps
   * falling off the regular list (a suppress policy on most of its candidates): later requests read it
   * instead of scoring the whole catalogue. False when there is none to make (already made, no deeper
   * than the regular one, or the memory bound reached).
   */
  deepen(user: number): boolean {
    if (this.deep.has(user) || this.deepSize <= this.size) return false;
    if ((this.deep.size + 1) * this.deepSize > MAX_DEEP_ENTRIES) return false;
    const top = this.topOf(user, this.deepSize);
    const scores = new Float32Array(top.length);
    for (let r = 0; r < top.length; r++) scores[r] = this.scratch[top[r]];
    this.deep.set(user, { items: top, scores, count: top.length, complete: top.length < this.deepSize });
    return true;
  }

  /** The user's exact unsteered top n (training positives left out); scores left in `scratch`. */
  private topOf(user: number, n: number): Int32Array {
    const { dim, params } = this.bundle.recommender;
    const { indptr, indices } = this.bundle.dataset.interactions;
    this.scorer.scoreAll(
      user,
      params.userEmb.subarray(user * dim, (user + 1) * dim),
      params.itemEmb,
      this.scratch,
    );
    return topKExcluding(this.scratch, n, indices, indptr[user], indptr[user + 1]);
  }

  /** Whether lists of this size fit the memory bound for the bundle. */
  static fits(bundle: ModelBundle, size = CANDIDATES_PER_USER): boolean {
    return bundle.recommender.nUsers * Math.min(size, bundle.recommender.nItems) <= MAX_ENTRIES;
  }

  /** Number of candidates of `user` (fewer than `size` only when the whole unseen catalogue is listed). */
  ensure(user: number): number {
    const have = this.counts[user];
    if (have >= 0) return have;
    const top = this.topOf(user, this.size);
    const o = user * this.size;
    for (let r = 0; r < top.length; r++) {
      this.items[o + r] = top[r];
      this.scores[o + r] = this.scratch[top[r]];
    }
    this.counts[user] = top.length;
    return top.length;
  }

  /** Whether the list holds every unseen item (then no bound needs checking). */
  complete(count: number): boolean {
    return count < this.size;
  }

  itemsOf(user: number): Int32Array {
    return this.items.subarray(user * this.size, (user + 1) * this.size);
  }

  scoresOf(user: number): Float32Array {
    return this.scores.subarray(user * this.size, (user + 1) * this.size);
  }

  /** Unsteered scores of arbitrary items for `user` (bit-identical to the full pass). */
  scoreRows(user: number, rows: ArrayLike<number>, count: number, out: Float32Array): void {
    const model = this.bundle.recommender;
    if (model.kind !== 'mf') throw new Error('candidate re-scoring is MF-only');
    const { dim, params } = model;
    mfScoreRows(
      model,
      user,
      params.userEmb.subarray(user * dim, (user + 1) * dim),
      params.itemEmb,
      rows,
      count,
      out,
    );
  }
}
