import type { Csr, Dataset } from '../../../src/ml/data/types.ts';

/** A catalogue of items `m0…` with these tags and years, one user and no interactions (concept tests). */
export function catalogue(tags: string[][], years: Int32Array, name = 'fixture'): Dataset {
  const ids = tags.map((_, i) => `m${i}`);
  const empty: Csr = { rows: 1, cols: ids.length, indptr: new Int32Array(2), indices: new Int32Array(0) };
  return {
    name,
    users: { ids: ['u0'], index: new Map([['u0', 0]]) },
    items: { ids, index: new Map(ids.map((x, i) => [x, i])) },
    interactions: empty,
    itemTitles: ids,
    itemTags: tags,
    itemYears: years,
  };
}
