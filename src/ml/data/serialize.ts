import { decodeArtifact, encodeArtifact, type TensorMap } from '../artifact/format.ts';
import { MlError } from '../core/errors.ts';
import { idMapFromIds } from './idmap.ts';
import type { Dataset } from './types.ts';

const KIND = 'catalog';

/**
 * A whole Dataset as one artifact (kind "catalog"): ids, titles, tags, user attributes and planted
 * genre names in the JSON meta; interactions, years and planted arrays as tensors. Ragged lists
 * (per-item planted genres, per-user favourite genres) are stored CSR-style as offsets + values.
 */
export function saveCatalog(dataset: Dataset): Uint8Array {
  const { interactions: x } = dataset;
  const tensors: TensorMap = { indptr: x.indptr, indices: x.indices, itemYears: dataset.itemYears };
  if (x.values) tensors.values = x.values;
  const meta: Record<string, unknown> = {
    name: dataset.name,
    rows: x.rows,
    cols: x.cols,
    userIds: dataset.users.ids,
    itemIds: dataset.items.ids,
    itemTitles: dataset.itemTitles,
    itemTags: dataset.itemTags,
  };
  if (dataset.userAttributes) meta.userAttributes = dataset.userAttributes;
  const planted = dataset.planted;
  if (planted) {
    meta.planted = { genreNames: planted.genreNames };
    putRagged(tensors, 'plantedItemGenres', planted.itemGenres);
    tensors.plantedItemEra = planted.itemEra;
    tensors.plantedItemPopularityRank = planted.itemPopularityRank;
    if (planted.userGenres) putRagged(tensors, 'plantedUserGenres', planted.userGenres);
    if (planted.userEra) tensors.plantedUserEra = planted.userEra;
  }
  return encodeArtifact(KIND, meta, tensors);
}

export function loadCatalog(bytes: Uint8Array): Dataset {
  const { meta, tensors: t } = decodeArtifact(bytes, KIND);
  const fail = (what: string): never => {
    throw new MlError('BAD_ARTIFACT', `catalog: ${what}`, what);
  };
  const strings = (key: string): string[] => {
    const v = meta[key];
    if (!Array.isArray(v)) fail(`meta.${key} missing`);
    return v as string[];
  };
  const rows = meta.rows as number;
  const cols = meta.cols as number;
  const userIds = strings('userIds');
  const itemIds = strings('itemIds');
  const itemTitles = strings('itemTitles');
  const itemTags = meta.itemTags as string[][];
  if (userIds.length !== rows || itemIds.length !== cols)
    fail('id counts do not match the interactions shape');
  if (itemTitles.length !== cols || !Array.isArray(itemTags) || itemTags.length !== cols)
    fail('item metadata length does not match the item count');
  for (const name of ['indptr', 'indices', 'itemYears']) if (!t[name]) fail(`tensor ${name} missing`);
  const indptr = t.indptr as Int32Array;
  if (indptr.length !== rows + 1 || indptr[rows] !== t.indices.length) fail('indptr shape');
  const dataset: Dataset = {
    name: String(meta.name),
    users: idMapFromIds(userIds),
    items: idMapFromIds(itemIds),
    interactions: {
      rows,
      cols,
      indptr,
      indices: t.indices as Int32Array,
      values: t.values as Float32Array | undefined,
    },
    itemTitles,
    itemTags,
    itemYears: t.itemYears as Int32Array,
  };
  if (meta.userAttributes) dataset.userAttributes = meta.userAttributes as Record<string, string[]>;
  const plantedMeta = meta.planted as { genreNames: string[] } | undefined;
  if (plantedMeta) {
    dataset.planted = {
      genreNames: plantedMeta.genreNames,
      itemGenres: getRagged(t, 'plantedItemGenres', fail),
      itemEra: t.plantedItemEra as Int32Array,
      itemPopularityRank: t.plantedItemPopularityRank as Int32Array,
    };
    if (t.plantedUserGenresOffsets) dataset.planted.userGenres = getRagged(t, 'plantedUserGenres', fail);
    if (t.plantedUserEra) dataset.planted.userEra = t.plantedUserEra as Int32Array;
  }
  return dataset;
}

function putRagged(tensors: TensorMap, name: string, lists: Int32Array[]): void {
  const offsets = new Int32Array(lists.length + 1);
  for (let k = 0; k < lists.length; k++) offsets[k + 1] = offsets[k] + lists[k].length;
  const values = new Int32Array(offsets[lists.length]);
  lists.forEach((l, k) => {
    values.set(l, offsets[k]);
  });
  tensors[`${name}Offsets`] = offsets;
  tensors[`${name}Values`] = values;
}

function getRagged(t: TensorMap, name: string, fail: (what: string) => never): Int32Array[] {
  const offsets = t[`${name}Offsets`] as Int32Array | undefined;
  const values = t[`${name}Values`] as Int32Array | undefined;
  if (!offsets || !values) return fail(`tensor ${name} missing`);
  const out: Int32Array[] = [];
  for (let k = 0; k + 1 < offsets.length; k++) out.push(values.slice(offsets[k], offsets[k + 1]));
  return out;
}
