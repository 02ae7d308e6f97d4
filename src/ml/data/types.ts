/**
 * The one in-memory dataset representation every loader produces and every model consumes.
 * Internal indices are dense 0..n-1; the dataset's own ids (MovieID, artistID, …) are kept as strings
 * so reports and the API speak the ids users know.
 */

/** Compressed sparse rows: row r's columns are indices[indptr[r] .. indptr[r+1]), sorted ascending. */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Int32Array; // [rows + 1]
  indices: Int32Array; // [nnz] column indices, ascending within a row, no duplicates
  values?: Float32Array; // [nnz] optional weights (ratings, listen counts); implicit feedback ignores them
}

/** Both directions between a dataset's own ids and dense internal indices. */
export interface IdMap {
  ids: string[]; // [n] external id of internal index i
  index: Map<string, number>; // external id → internal index
}

export interface Dataset {
  /** Short name, e.g. 'movielens-1m', 'lastfm-hetrec', 'synthetic', 'csv'. */
  name: string;
  users: IdMap;
  items: IdMap;
  /** Implicit feedback: every stored (user, item) pair is a positive. [nUsers × nItems] */
  interactions: Csr;
  itemTitles: string[]; // [nItems]
  /** Concept tags per item: genres for MovieLens, top user tags for Last.FM, planted genres for synthetic. */
  itemTags: string[][]; // [nItems][]
  /** Release year per item, 0 when unknown. */
  itemYears: Int32Array; // [nItems]
  /** Optional per-user attributes, name → value per user [nUsers] (MovieLens users.dat: gender, age, occupation, zip). */
  userAttributes?: Record<string, string[]>;
  /** Optional ground truth the synthetic generator planted (for tests). */
  planted?: {
    itemGenres: Int32Array[]; // [nItems] planted genre indices per item
    genreNames: string[];
    itemEra: Int32Array; // [nItems] planted decade (e.g. 1990)
    itemPopularityRank: Int32Array; // [nItems] 0 = most popular by construction
    /** Each user's favourite genres and preferred era (optional: older catalogs may lack them). */
    userGenres?: Int32Array[]; // [nUsers] planted favourite genre indices per user
    userEra?: Int32Array; // [nUsers] preferred decade
  };
}

export const nUsers = (d: Dataset): number => d.users.ids.length;
export const nItems = (d: Dataset): number => d.items.ids.length;

/** A per-user hold-out split. Test users are those with at least one held-out positive. */
export interface Split {
  train: Csr; // [nUsers × nItems] training positives
  test: Csr; // [nUsers × nItems] held-out positives (empty rows for users kept for training only)
  testUsers: Int32Array; // users with a non-empty test row, ascending
}
