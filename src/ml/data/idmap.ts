import type { IdMap } from './types.ts';

export function idMapFromIds(ids: string[]): IdMap {
  const index = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) index.set(ids[i], i);
  return { ids, index };
}

/**
 * Dense indices for non-negative integer ids: the distinct ids sorted ascending become 0..n-1.
 * Returns the sorted distinct ids and each input's dense index.
 */
export function densifyIntIds(raw: Int32Array): { ids: Int32Array; dense: Int32Array } {
  let max = -1;
  for (let i = 0; i < raw.length; i++) if (raw[i] > max) max = raw[i];
  const dense = new Int32Array(raw.length);
  if (max < 64 * 1024 * 1024) {
    const slot = new Int32Array(max + 1).fill(-1);
    for (let i = 0; i < raw.length; i++) slot[raw[i]] = 0;
    let n = 0;
    for (let v = 0; v <= max; v++) if (slot[v] === 0) slot[v] = n++;
    const ids = new Int32Array(n);
    for (let v = 0; v <= max; v++) if (slot[v] >= 0) ids[slot[v]] = v;
    for (let i = 0; i < raw.length; i++) dense[i] = slot[raw[i]];
    return { ids, dense };
  }
  const ids = Int32Array.from(new Set(raw)).sort();
  const index = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) index.set(ids[i], i);
  for (let i = 0; i < raw.length; i++) dense[i] = index.get(raw[i])!;
  return { ids, dense };
}

/** Assigns dense indices to string ids in order of first appearance. */
export class StringIdIndexer {
  readonly ids: string[] = [];
  readonly index = new Map<string, number>();
  get(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }
  toIdMap(): IdMap {
    return { ids: this.ids, index: this.index };
  }
}
