/**
 * Concept tags as dense ids: every distinct tag of `itemTags` gets an id (ordered by name, so ids do not
 * depend on item order), each item its sorted tag ids, each tag its base rate (share of items carrying it).
 */
export interface TagIndex {
  names: string[]; // [nTags], ascending
  itemTagIds: Int32Array[]; // [nItems] sorted tag ids per item (duplicates removed)
  counts: Int32Array; // [nTags] items carrying the tag
  baseRates: Float64Array; // [nTags] counts / nItems
}

export function buildTagIndex(itemTags: string[][]): TagIndex {
  const names = [...new Set(itemTags.flat())].sort();
  const id = new Map(names.map((n, i) => [n, i]));
  const counts = new Int32Array(names.length);
  const itemTagIds = itemTags.map((tags) => {
    const ids = Int32Array.from(new Set(tags.map((t) => id.get(t)!))).sort();
    for (const t of ids) counts[t]++;
    return ids;
  });
  const n = Math.max(1, itemTags.length);
  const baseRates = Float64Array.from(counts, (c) => c / n);
  return { names, itemTagIds, counts, baseRates };
}
