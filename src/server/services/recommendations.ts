import { recommend } from '../../ml/steer/recommend.ts';
import { ApiError } from '../errors.ts';
import type { ActiveModel } from '../plugins/app/registry.ts';
import { MAX_LIST_IDS } from '../schemas/common.ts';
import { DEFAULT_TOP_NEURONS, type RecommendationsQueryT } from '../schemas/recommendations.ts';
import { indicesOf, splitIds, userIndex } from './lookup.ts';
import { appliedPolicy, type LivePolicy, type PolicyService, type Snapshot } from './policies.ts';
import { encodeRecommendations } from './recommendations-json.ts';

/**
 * The hot path: resolve ids, pick the live policies (every enabled one plus those named in the query),
 * call `recommend`, shape the response. Serialised responses are cached by everything they depend on,
 * including the model version and the policies' revision, so an edit to a policy or a model switch is
 * never served stale, and a hit costs neither scoring nor serialisation.
 */
export class RecommendationService {
  private readonly cache: LruCache<Buffer>;

  constructor(
    private readonly policies: PolicyService,
    cacheSize: number,
    private readonly onCache?: (hit: boolean) => void,
  ) {
    this.cache = new LruCache(cacheSize, CACHE_MAX_BYTES, (body) => body.length);
  }

  /** The JSON body as UTF-8 bytes (the route sends them as they are). */
  get(active: ActiveModel, userId: string, q: RecommendationsQueryT): Buffer {
    const { bundle, version } = active;
    const user = userIndex(bundle, userId);
    const snap = this.policies.live(active);
    if (q.topNeurons !== undefined && !q.explain)
      throw new ApiError(
        400,
        'VALIDATION',
        'querystring.topNeurons applies only with explain=true',
        'querystring.topNeurons',
      );
    const refs = q.policy ? splitIds(q.policy, 'querystring.policy', MAX_LIST_IDS) : [];
    const excludeIds = q.exclude ? splitIds(q.exclude, 'querystring.exclude', MAX_LIST_IDS) : [];
    const key = this.cache.enabled
      ? `${version.id}|${snap.revision}|${user}|${q.k}|${q.explain ? (q.topNeurons ?? DEFAULT_TOP_NEURONS) : 0}|${q.compare ? 1 : 0}|${excludeIds.join(',')}|${refs.join(',')}`
      : '';
    if (key) {
      const hit = this.cache.get(key);
      this.onCache?.(hit !== undefined);
      if (hit !== undefined) return hit;
    }
    // Bytes, not a string: cached bodies then live outside the JS heap (tens of MB the GC need not move),
    // and a hit skips the UTF-8 encoding on every send.
    const body = this.compute(active, snap, user, q, refs, excludeIds);
    // Its own memory: the body is a view of the JSON writer's shared slab (128 KB or more), which a cached
    // view would keep alive for as long as the entry lives.
    if (key && body.length <= CACHE_MAX_BODY) {
      const own = Buffer.allocUnsafeSlow(body.length);
      body.copy(own);
      this.cache.set(key, own);
    }
    return body;
  }

  /**
   * The response body, uncached, with the policies of `snap` — the snapshot whose revision keyed the
   * cache (read once per request: with several processes each read is a query).
   */
  private compute(
    active: ActiveModel,
    snap: Snapshot,
    user: number,
    q: RecommendationsQueryT,
    refs: string[],
    excludeIds: string[],
  ): Buffer {
    const { bundle, version } = active;
    const exclude = indicesOf(bundle.dataset.items.index, excludeIds, 'querystring.exclude', 'UNKNOWN_ITEM');
    const chosen: LivePolicy[] = snap.enabled.slice();
    for (const p of this.policies.resolve(active, refs, 'querystring.policy', snap))
      if (!chosen.includes(p)) chosen.push(p);

    const result = recommend(bundle, user, {
      k: q.k,
      exclude,
      policies: chosen.map((p) => p.policy),
      explain: q.explain ? { topN: q.topNeurons ?? DEFAULT_TOP_NEURONS } : false,
      compare: q.compare,
    });
    const applied = chosen.filter((_, r) => result.policies[r]?.applied).map(appliedPolicy);
    return encodeRecommendations(result, version.id, applied);
  }

  clear(): void {
    this.cache.clear();
  }
}

/**
 * Bounds of the response cache beyond its entry count (PRISM_REC_CACHE): 10 000 explained top-200 lists
 * with comparisons would be ~5 GB. A body larger than CACHE_MAX_BODY is not cached at all.
 */
export const CACHE_MAX_BYTES = 256 * 2 ** 20;
const CACHE_MAX_BODY = 256 * 2 ** 10;

/** A bounded map evicting the least recently used entries: at most `capacity` of them, `maxWeight` in all. */
export class LruCache<V> {
  private readonly map = new Map<string, V>();
  private weight = 0;
  constructor(
    private readonly capacity: number,
    private readonly maxWeight = Number.POSITIVE_INFINITY,
    private readonly weigh: (v: V) => number = () => 0,
  ) {}

  get enabled(): boolean {
    return this.capacity > 0;
  }

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    this.remove(key);
    this.map.set(key, value);
    this.weight += this.weigh(value);
    while (this.map.size > this.capacity || (this.weight > this.maxWeight && this.map.size > 1))
      this.remove(this.map.keys().next().value as string);
  }

  clear(): void {
    this.map.clear();
    this.weight = 0;
  }

  /** The summed weight of the entries (bytes, for the response cache). */
  get totalWeight(): number {
    return this.weight;
  }

  private remove(key: string): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.weight -= this.weigh(old);
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}
