import type { ModelBundle } from '../bundle.ts';
import { neuronLabels } from '../explain/compact.ts';
import { scorerFor } from '../models/scorer.ts';
import type { PairScorer, Recommender } from '../models/types.ts';
import { decoderDot, encode, inferSparse } from '../sae/model.ts';
import {
  allocSparseCodes,
  codeCapacity,
  normaliseRows,
  type SparseCode,
  type SparseCodes,
  sparseCode,
} from '../sae/sparse.ts';
import type { Sae } from '../sae/types.ts';
import { CANDIDATES_PER_USER, CandidateLists } from './candidates.ts';

/** Embedding tables of either recommender kind. */
export function embeddings(model: Recommender): { userEmb: Float32Array; itemEmb: Float32Array } {
  return { userEmb: model.params.userEmb, itemEmb: model.params.itemEmb };
}

/** Item matrix after the item-side policies of one policy set, with a scorer bound to it. */
export interface SteeredItems {
  itemEmb: Float32Array; // [nItems × dim]
  scorer: PairScorer;
  changed: boolean;
}

const ITEM_CACHE_SIZE = 16;
const ZERO_ROW = [0];
/** Items and users encoded per warm-up step. */
const WARM_ITEM_BLOCK = 256;
const WARM_USER_BLOCK = 64;

/**
 * Per-bundle state that steering derives once and reuses across requests: neuron labels, the scorer,
 * the item codes, per-neuron reference activations, and the edited item matrices keyed on the item-side
 * policies (so a global item policy costs one pass when first seen, then nothing per request).
 * Held in a WeakMap: it goes away with the bundle.
 */
export class SteerContext {
  readonly latents: number;
  readonly dim: number;
  /** Labels of the item SAE's neurons (concept discovery reads item codes). */
  readonly labels: string[];
  /** Labels of the user SAE's neurons: `labels` when the SAE is shared, else all "" (never analysed). */
  readonly userLabels: readonly string[];
  /** +1 for a neuron that fires on popular items, −1 for a "niche" one (label, else top-50 percentile). */
  readonly popularitySign: Int8Array;
  /** `popularitySign` of the user SAE's neurons: the same when shared, else all +1 (never analysed). */
  readonly userPopularitySign: Int8Array;
  readonly scorer: PairScorer;
  readonly nUsers: number;
  readonly nItems: number;
  private itemCodesCache: Float32Array | null = null;
  private userRefCache: Float64Array | null = null;
  private readonly userColumns = new Map<number, Float32Array>();
  private itemRefCache: Float64Array | null = null;
  private readonly itemCache = new Map<string, SteeredItems>();
  private activeItemsCache: Int32Array[] | null = null;
  private candidateLists: CandidateLists | null | undefined;
  private candidateSize = CANDIDATES_PER_USER;
  /** Per user: the nonzero entries of the unedited user's code (memo of `encodeUser`). */
  private readonly userCodes: (SparseCode | undefined)[];
  private readonly marks: Int32Array;
  private markGen = 0;
  /** Per-item scratch scores [nItems] for the request path (synchronous, so one buffer serves all). */
  readonly itemScratch: Float32Array;

  constructor(readonly bundle: ModelBundle) {
    const model = bundle.recommender;
    this.latents = bundle.sae.user.config.latents;
    this.dim = model.dim;
    this.nUsers = model.nUsers;
    this.nItems = model.nItems;
    this.labels = neuronLabels(bundle.neurons, this.latents);
    this.userLabels = bundle.sae.shared ? this.labels : new Array<string>(this.latents).fill('');
    this.popularitySign = new Int8Array(this.latents).fill(1);
    for (const n of bundle.neurons)
      if (n.index >= 0 && n.index < this.latents && (n.label.startsWith('niche') || n.popPct50 > 50))
        this.popularitySign[n.index] = -1;
    this.userPopularitySign = bundle.sae.shared ? this.popularitySign : new Int8Array(this.latents).fill(1);
    this.scorer = scorerFor(model);
    this.userCodes = new Array(this.nUsers);
    this.marks = new Int32Array(this.nItems);
    this.itemScratch = new Float32Array(this.nItems);
  }

  /**
   * The exact unsteered top-N per user (MF only; null for NCF or when they would not fit in memory),
   * each list computed on the user's first request or by `warmUp`.
   */
  candidates(): CandidateLists | null {
    if (this.candidateLists === undefined)
      this.candidateLists =
        this.bundle.recommender.kind === 'mf' &&
        this.candidateSize > 0 &&
        CandidateLists.fits(this.bundle, this.candidateSize)
          ? new CandidateLists(this.bundle, this.scorer, this.candidateSize)
          : null;
    return this.candidateLists;
  }

  /** Sets the candidate-list length (0: none, every request scores the whole catalogue); drops the lists. */
  configureCandidates(size: number): void {
    this.candidateSize = size;
    this.candidateLists = undefined;
  }

  /**
   * A fresh generation of per-item marks (one Int32Array reused by every request): `mark(i, tag)`
   * then `markOf(i) === gen + tag`. Returns the generation base; tags 0..3.
   */
  nextMarks(): number {
    this.markGen += 4;
    if (this.markGen > 0x7ffffff0) {
      this.marks.fill(0);
      this.markGen = 4;
    }
    return this.markGen;
  }

  get itemMarks(): Int32Array {
    return this.marks;
  }

  /** Memoises every user's code not memoised yet, encoding a block of users at a time. */
  fillUserCodes(): void {
    for (const _block of this.encodeUserBlocks());
  }

  /**
   * Computes now everything requests would otherwise compute on first use (item codes, every user's
   * code and, for MF, exact candidate list), yielding after each small unit of work (a block of items
   * or users, one user's candidate list) so that a server can spread it over event-loop turns.
   * Draining it synchronously (`for (const _ of ctx.warmUp());`) does the same work in one go.
   */
  *warmUp(): Generator<void, void, undefined> {
    if (!this.itemCodesCache) yield* this.encodeItems();
    this.itemActivationsOnNeuron(0);
    if (this.bundle.recommender.kind === 'mf') this.itemSparseCodes(); // only MF's fast path reads them
    yield;
    yield* this.encodeUserBlocks();
    const lists = this.candidates();
    if (lists)
      for (let u = 0; u < this.nUsers; u++) {
        lists.ensure(u);
        yield;
      }
    this.userRef();
  }

  /** Memoises every user's code, a block of users at a time, yielding after each block. */
  private *encodeUserBlocks(): Generator<void, void, undefined> {
    for (let u0 = 0; u0 < this.nUsers; u0 += WARM_USER_BLOCK) {
      this.encodeUsers(u0, Math.min(this.nUsers, u0 + WARM_USER_BLOCK));
      yield;
    }
  }

  /**
   * Memoises the codes of users [u0, u1) not memoised yet, encoding them as one block — the same codes
   * as `userCode` row by row (every row is coded on its own), without its per-row buffers.
   */
  private encodeUsers(u0: number, u1: number): void {
    let missing = false;
    for (let u = u0; u < u1 && !missing; u++) missing = !this.userCodes[u];
    if (!missing) return;
    const sae = this.userSae;
    const n = u1 - u0;
    const rows = Int32Array.from({ length: n }, (_, q) => u0 + q);
    const xh = new Float32Array(n * this.dim);
    normaliseRows(sae, this.bundle.recommender.params.userEmb, rows, xh);
    const codes = allocSparseCodes(n, sae, codeCapacity(sae));
    inferSparse(sae, xh, n, codes);
    for (let q = 0; q < n; q++) {
      if (this.userCodes[u0 + q]) continue;
      const o = q * codes.cap;
      const slots: number[] = [];
      for (let a = 0; a < codes.count[q]; a++) if (codes.val[o + a] !== 0) slots.push(o + a);
      slots.sort((a, b) => codes.idx[a] - codes.idx[b]); // ascending latent, as `userCode` stores them
      this.userCodes[u0 + q] = {
        idx: Int32Array.from(slots, (a) => codes.idx[a]),
        val: Float32Array.from(slots, (a) => codes.val[a]),
      };
    }
  }

  /** The code of user `user`'s own (unedited) vector: `encodeUser` of its row, memoised sparsely. */
  userCode(user: number): Float32Array {
    const { idx, val } = this.userCodeSparse(user);
    const z = new Float32Array(this.latents);
    for (let a = 0; a < idx.length; a++) z[idx[a]] = val[a];
    return z;
  }

  /** `userCode` as its nonzero entries: ascending latent indices and their activations (memoised; read only). */
  userCodeSparse(user: number): SparseCode {
    let hit = this.userCodes[user];
    if (!hit) {
      const { dim } = this;
      hit = sparseCode(
        this.encodeUser(this.bundle.recommender.params.userEmb.subarray(user * dim, (user + 1) * dim)),
      );
      this.userCodes[user] = hit;
    }
    return hit;
  }

  private rowInput: Float32Array | null = null;
  private rowCodes: SparseCodes | null = null;

  /**
   * The user SAE's code of one vector [latents] — the same activations as `encode`, without its
   * 256-row block buffers (this runs once per request).
   */
  encodeUser(vec: Float32Array): Float32Array {
    const sae = this.userSae;
    this.rowInput ??= new Float32Array(this.dim);
    this.rowCodes ??= allocSparseCodes(1, sae, codeCapacity(sae));
    normaliseRows(sae, vec, ZERO_ROW, this.rowInput);
    inferSparse(sae, this.rowInput, 1, this.rowCodes);
    const z = new Float32Array(this.latents);
    const { idx, val, count } = this.rowCodes;
    for (let a = 0; a < count[0]; a++) z[idx[a]] = val[a];
    return z;
  }

  get userSae(): Sae {
    return this.bundle.sae.user;
  }

  get itemSae(): Sae {
    return this.bundle.sae.item;
  }

  /** Item codes [nItems × latents] of the unedited item embeddings. */
  itemCodes(): Float32Array {
    if (!this.itemCodesCache) for (const _block of this.encodeItems());
    return this.itemCodesCache as Float32Array;
  }

  /** Encodes every item into `itemCodesCache`, yielding after each block of rows. */
  private *encodeItems(): Generator<void, void, undefined> {
    const { dim, latents, nItems } = this;
    const codes = new Float32Array(nItems * latents);
    const itemEmb = this.bundle.recommender.params.itemEmb;
    for (let r0 = 0; r0 < nItems; r0 += WARM_ITEM_BLOCK) {
      const r1 = Math.min(nItems, r0 + WARM_ITEM_BLOCK);
      encode(
        this.itemSae,
        itemEmb.subarray(r0 * dim, r1 * dim),
        r1 - r0,
        codes.subarray(r0 * latents, r1 * latents),
      );
      yield;
    }
    this.itemCodesCache = codes;
  }

  private scratchIdx = new Int32Array(0);
  private scratchVal = new Float32Array(0);

  /** Two reusable buffers of at least n entries for the request path (synchronous: one caller at a time). */
  candidateScratch(n: number): { idx: Int32Array; val: Float32Array } {
    if (this.scratchIdx.length < n) {
      this.scratchIdx = new Int32Array(n);
      this.scratchVal = new Float32Array(n);
    }
    return { idx: this.scratchIdx, val: this.scratchVal };
  }

  /** Items whose (unedited) code has neuron j active, ascending. */
  itemsActiveOnNeuron(j: number): Int32Array {
    if (!this.activeItemsCache) this.itemsActiveOn([j]);
    return (this.activeItemsCache as Int32Array[])[j];
  }

  private activeValsCache: Float32Array[] | null = null;
  private sparseItems: ItemSparseCodes | null = null;

  /** Every item's (unedited) code in compressed rows, neurons ascending within a row. */
  itemSparseCodes(): ItemSparseCodes {
    if (!this.sparseItems) {
      const codes = this.itemCodes();
      const { nItems, latents } = this;
      const indptr = new Int32Array(nItems + 1);
      let nnz = 0;
      for (let x = 0; x < codes.length; x++) if (codes[x] !== 0) nnz++;
      const neuron = new Int32Array(nnz);
      const value = new Float32Array(nnz);
      let t = 0;
      let nonNegative = true;
      for (let i = 0; i < nItems; i++) {
        for (let j = 0; j < latents; j++) {
          const a = codes[i * latents + j];
          if (a === 0) continue;
          if (a < 0) nonNegative = false;
          neuron[t] = j;
          value[t++] = a;
        }
        indptr[i + 1] = t;
      }
      this.sparseItems = { indptr, neuron, value, nonNegative };
    }
    return this.sparseItems;
  }

  private restrictedCodes = new WeakMap<Int32Array, ItemSparseCodes>();
  private restrictedByKey = new Map<string, ItemSparseCodes>();

  /**
   * `itemSparseCodes` keeping only the entries on the neurons of `views` (each a compiled policy's neuron
   * list): what a suppress view can move. A request reads a candidate's row here instead of its whole code,
   * and most rows are empty, so the few cache lines this touches stay warm. Built once per neuron set.
   */
  itemSparseCodesOn(views: readonly { neurons: Int32Array }[]): ItemSparseCodes {
    if (views.length === 1) {
      const hit = this.restrictedCodes.get(views[0].neurons);
      if (hit) return hit;
      const codes = this.restrictTo(views[0].neurons);
      this.restrictedCodes.set(views[0].neurons, codes);
      return codes;
    }
    const union = new Set<number>();
    for (const v of views) for (const j of v.neurons) union.add(j);
    const neurons = Int32Array.from(union).sort();
    const key = neurons.join(',');
    let codes = this.restrictedByKey.get(key);
    if (!codes) {
      if (this.restrictedByKey.size >= 64) this.restrictedByKey.clear();
      codes = this.restrictTo(neurons);
      this.restrictedByKey.set(key, codes);
    }
    return codes;
  }

  private pullCaches = new WeakMap<Int32Array, { values: Float64Array; ready: Uint8Array }>();

  /**
   * Per user, the pulls s·(u·W_j) of `neurons` (one view's neuron list, in its order) on the user's own
   * vector, filled on a user's first request: the same loop, so the same doubles, without reading the
   * neurons' decoder rows on every request. [nUsers × neurons.length]; null (compute them each time) when
   * that would pass MAX_CACHED_PULLS.
   */
  userPulls(neurons: Int32Array, user: number): Float64Array | null {
    if (this.nUsers * neurons.length > MAX_CACHED_PULLS) return null;
    let cache = this.pullCaches.get(neurons);
    if (!cache) {
      cache = {
        values: new Float64Array(this.nUsers * neurons.length),
        ready: new Uint8Array(this.nUsers),
      };
      this.pullCaches.set(neurons, cache);
    }
    const n = neurons.length;
    const out = cache.values.subarray(user * n, (user + 1) * n);
    if (cache.ready[user] === 0) {
      const { dim } = this;
      const { W, inputScale } = this.itemSae.params;
      const uVec = this.bundle.recommender.params.userEmb.subarray(user * dim, (user + 1) * dim);
      for (let r = 0; r < n; r++) out[r] = pullOf(uVec, W, neurons[r], dim, inputScale[0]);
      cache.ready[user] = 1;
    }
    return out;
  }

  private restrictTo(neurons: Int32Array): ItemSparseCodes {
    const all = this.itemSparseCodes();
    const keep = new Uint8Array(this.latents);
    for (const j of neurons) keep[j] = 1;
    const indptr = new Int32Array(this.nItems + 1);
    let nnz = 0;
    for (let t = 0; t < all.neuron.length; t++) nnz += keep[all.neuron[t]];
    const neuron = new Int32Array(nnz);
    const value = new Float32Array(nnz);
    let w = 0;
    for (let i = 0; i < this.nItems; i++) {
      for (let t = all.indptr[i]; t < all.indptr[i + 1]; t++)
        if (keep[all.neuron[t]] === 1) {
          neuron[w] = all.neuron[t];
          value[w++] = all.value[t];
        }
      indptr[i + 1] = w;
    }
    return { indptr, neuron, value, nonNegative: all.nonNegative };
  }

  /** Per latent, a slot (−1 when free) that a request may use to map neurons to positions; reset after use. */
  neuronSlots(): Int32Array {
    if (!this.slots) this.slots = new Int32Array(this.latents).fill(-1);
    return this.slots;
  }
  private slots: Int32Array | null = null;

  /**
   * Neuron j's activations on `itemsActiveOnNeuron(j)`, aligned with it: read in sequence instead of
   * one cache line of the [nItems × latents] code matrix per item.
   */
  itemActivationsOnNeuron(j: number): Float32Array {
    if (!this.activeValsCache) {
      const codes = this.itemCodes();
      this.activeValsCache = [];
      for (let n = 0; n < this.latents; n++) {
        const items = this.itemsActiveOnNeuron(n);
        const vals = new Float32Array(items.length);
        for (let t = 0; t < items.length; t++) vals[t] = codes[items[t] * this.latents + n];
        this.activeValsCache.push(vals);
      }
    }
    return this.activeValsCache[j];
  }

  /** Items whose (unedited) code has any of `neurons` active, ascending. */
  itemsActiveOn(neurons: readonly number[]): Int32Array {
    if (!this.activeItemsCache) {
      const codes = this.itemCodes();
      const lists: number[][] = Array.from({ length: this.latents }, () => []);
      for (let i = 0; i < this.nItems; i++)
        for (let j = 0; j < this.latents; j++) if (codes[i * this.latents + j] !== 0) lists[j].push(i);
      this.activeItemsCache = lists.map((l) => Int32Array.from(l));
    }
    if (neurons.length === 1) return this.activeItemsCache[neurons[0]];
    const set = new Set<number>();
    for (const j of neurons) for (const i of this.activeItemsCache[j]) set.add(i);
    return Int32Array.from(set).sort();
  }

  /** Largest activation of each neuron over items [latents]. */
  itemRef(): Float64Array {
    if (!this.itemRefCache) this.itemRefCache = columnMax(this.itemCodes(), this.nItems, this.latents);
    return this.itemRefCache;
  }

  /** Largest activation of each neuron over users [latents] (from the memoised user codes). */
  userRef(): Float64Array {
    if (!this.userRefCache) {
      const ref = new Float64Array(this.latents);
      this.fillUserCodes();
      for (const code of this.userCodes) {
        const { idx, val } = code as { idx: Int32Array; val: Float32Array };
        for (let a = 0; a < idx.length; a++) if (val[a] > ref[idx[a]]) ref[idx[a]] = val[a];
      }
      this.userRefCache = ref;
    }
    return this.userRefCache;
  }

  /** Activation of neuron j for every user [nUsers] (from the memoised user codes; 32 columns kept). */
  userColumn(j: number): Float32Array {
    const hit = this.userColumns.get(j);
    if (hit) return hit;
    this.fillUserCodes();
    const out = new Float32Array(this.nUsers);
    for (let u = 0; u < this.nUsers; u++) {
      const { idx, val } = this.userCodes[u] as { idx: Int32Array; val: Float32Array };
      for (let a = 0; a < idx.length; a++)
        if (idx[a] === j) {
          out[u] = val[a];
          break;
        }
    }
    this.userColumns.set(j, out);
    if (this.userColumns.size > 32) this.userColumns.delete(this.userColumns.keys().next().value as number);
    return out;
  }

  /** The cached steered item matrix for `key`, building it with `build` on a miss (LRU of 16). */
  steeredItems(key: string, build: () => Float32Array): SteeredItems {
    const hit = this.itemCache.get(key);
    if (hit) {
      this.itemCache.delete(key);
      this.itemCache.set(key, hit);
      return hit;
    }
    const itemEmb = build();
    const entry: SteeredItems = { itemEmb, scorer: scorerFor(this.bundle.recommender), changed: true };
    this.itemCache.set(key, entry);
    if (this.itemCache.size > ITEM_CACHE_SIZE)
      this.itemCache.delete(this.itemCache.keys().next().value as string);
    return entry;
  }
}

function columnMax(z: Float32Array, n: number, m: number): Float64Array {
  const out = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    const o = r * m;
    for (let j = 0; j < m; j++) if (z[o + j] > out[j]) out[j] = z[o + j];
  }
  return out;
}

const contexts = new WeakMap<ModelBundle, SteerContext>();

/** The bundle's steering state, created on first use. Call once at activation to warm it. */
export function steerContext(bundle: ModelBundle): SteerContext {
  let ctx = contexts.get(bundle);
  if (!ctx) {
    ctx = new SteerContext(bundle);
    contexts.set(bundle, ctx);
  }
  return ctx;
}

/** Item codes in compressed rows: row i is neuron[indptr[i]..indptr[i+1]) with value[…], neurons ascending. */
export interface ItemSparseCodes {
  indptr: Int32Array; // [nItems + 1]
  neuron: Int32Array; // [nnz]
  value: Float32Array; // [nnz]
  /** No activation below 0 (ReLU, TopK and pursuit codes): scale-down edits can only lower them. */
  nonNegative: boolean;
}

/** Above this many (user, neuron) pulls per view (32 MB), `userPulls` keeps none. */
const MAX_CACHED_PULLS = 4_000_000;

/** s·(u·W_j): how much neuron j of an item's code moves this user's score per unit of activation (MF). */
export function pullOf(uVec: Float32Array, W: Float32Array, j: number, dim: number, s: number): number {
  return decoderDot(uVec, W, j, dim) * s;
}
