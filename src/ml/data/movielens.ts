import { join } from 'node:path';
import { MlError } from '../core/errors.ts';
import { buildCsr } from './csr.ts';
import { densifyIntIds, idMapFromIds } from './idmap.ts';
import {
  estimateLines,
  FloatList,
  fileExists,
  IntList,
  latin1OrUtf8,
  readDataFile,
  requireDirectory,
  scanRecords,
} from './scan.ts';
import type { Dataset } from './types.ts';

/** The files a MovieLens-1M directory is read from (ratings: the first present; users.dat optional). */
export const MOVIELENS_FILES = {
  ratings: ['ratings.dat', 'ratings-no-timestamps.dat'],
  movies: 'movies.dat',
  users: 'users.dat',
} as const;

/** The ratings file of a MovieLens-1M directory (ratings.dat, else ratings-no-timestamps.dat); BAD_FILE when neither. */
export function movieLensRatingsPath(dir: string): string {
  requireDirectory(dir);
  const path = MOVIELENS_FILES.ratings.map((f) => join(dir, f)).find(fileExists);
  if (!path)
    throw new MlError('BAD_FILE', `${dir}: neither ratings.dat nor ratings-no-timestamps.dat found`, dir);
  return path;
}

/**
 * MovieLens-1M directory: `ratings.dat` (`user::movie::rating::timestamp`) or, when that is absent,
 * `ratings-no-timestamps.dat` (`user::movie::rating`); `movies.dat` (ISO-8859-1,
 * `id::Title (Year)::Genre|Genre`); `users.dat` when present (`id::gender::age::occupation::zip`).
 * Implicit feedback: every rating is a positive (the rating is kept as the CSR value). Items are the
 * rated movies, ordered by MovieID; users ordered by UserID. Movies listed but never rated are skipped.
 */
export function loadMovieLens(dir: string): Dataset {
  const ratingsPath = movieLensRatingsPath(dir);

  const buf = readDataFile(ratingsPath);
  const cap = estimateLines(buf);
  const rawUsers = new IntList(cap);
  const rawItems = new IntList(cap);
  const ratings = new FloatList(cap);
  scanRecords(buf, ratingsPath, { delimiter: '::' }, (r) => {
    r.expectFields(3, 4);
    rawUsers.push(r.id(0, 'user id'));
    rawItems.push(r.id(1, 'movie id'));
    const rating = r.num(2);
    if (!Number.isFinite(rating)) r.failNumber(2, 'rating');
    ratings.push(rating);
  });
  if (rawUsers.length === 0) throw new MlError('BAD_FILE', `${ratingsPath}: no ratings`, ratingsPath);

  const users = densifyIntIds(rawUsers.toArray());
  const items = densifyIntIds(rawItems.toArray());
  const nU = users.ids.length;
  const nI = items.ids.length;
  const interactions = buildCsr(users.dense, items.dense, nU, nI, ratings.toArray());

  const itemIds = Array.from(items.ids, String);
  const itemIndex = new Map<number, number>();
  for (let i = 0; i < nI; i++) itemIndex.set(items.ids[i], i);
  const itemTitles = itemIds.map((id) => `Movie ${id}`);
  const itemTags: string[][] = itemIds.map(() => []);
  const itemYears = new Int32Array(nI);
  const moviesPath = join(dir, MOVIELENS_FILES.movies);
  const seen = new Uint8Array(nI);
  const moviesBuf = readDataFile(moviesPath);
  const encoding = latin1OrUtf8(moviesBuf);
  scanRecords(moviesBuf, moviesPath, { delimiter: '::' }, (r) => {
    r.expectFields(3);
    const i = itemIndex.get(r.id(0, 'movie id'));
    if (i === undefined) return; // listed but never rated: not an item
    if (seen[i]) r.fail(`movie ${itemIds[i]} is listed twice`); // which one would be the movie?
    const title = r.text(1, encoding);
    seen[i] = 1;
    itemTitles[i] = title;
    itemYears[i] = yearFromTitle(title);
    const genres = r.text(2, encoding);
    itemTags[i] = genres === '' ? [] : genres.split('|');
  });
  requireAllListed(seen, itemIds, moviesPath, 'movie');

  const userIds = Array.from(users.ids, String);
  const dataset: Dataset = {
    name: 'movielens-1m',
    users: idMapFromIds(userIds),
    items: idMapFromIds(itemIds),
    interactions,
    itemTitles,
    itemTags,
    itemYears,
  };
  const usersPath = join(dir, MOVIELENS_FILES.users);
  if (fileExists(usersPath)) dataset.userAttributes = readUserAttributes(usersPath, users.ids);
  return dataset;
}

const USER_ATTRIBUTES = ['gender', 'age', 'occupation', 'zip'] as const;

function readUserAttributes(path: string, userIds: Int32Array): Record<string, string[]> {
  const index = new Map<number, number>();
  for (let u = 0; u < userIds.length; u++) index.set(userIds[u], u);
  const attrs: Record<string, string[]> = {};
  for (const a of USER_ATTRIBUTES) attrs[a] = new Array<string>(userIds.length).fill('');
  const seen = new Uint8Array(userIds.length);
  scanRecords(readDataFile(path), path, { delimiter: '::' }, (r) => {
    r.expectFields(5);
    const u = index.get(r.id(0, 'user id'));
    if (u === undefined) return; // a user without ratings is not a user of the dataset
    if (seen[u]) r.fail(`user ${userIds[u]} is listed twice`);
    seen[u] = 1;
    USER_ATTRIBUTES.forEach((a, k) => {
      attrs[a][u] = r.text(k + 1, 'latin1');
    });
  });
  // As for movies.dat: a file that lists users must list every rated one, or its attributes are a guess.
  requireAllListed(seen, userIds, path, 'user');
  return attrs;
}

/** The last "(YYYY)" in a MovieLens title, 0 when there is none. */
export function yearFromTitle(title: string): number {
  const m = /\((\d{4})\)\s*$/.exec(title) ?? /\((\d{4})\)/.exec(title);
  return m ? Number(m[1]) : 0;
}

/** BAD_FILE naming the first rated movie or user (`seen[i]` = 0) that `path` does not list. */
function requireAllListed(
  seen: Uint8Array,
  ids: ArrayLike<string | number>,
  path: string,
  what: 'movie' | 'user',
): void {
  const missing = seen.indexOf(0);
  if (missing >= 0)
    throw new MlError(
      'BAD_FILE',
      `${path}: rated ${what} ${ids[missing]} is not listed (${seen.length - countOnes(seen)} missing)`,
      path,
    );
}

function countOnes(a: Uint8Array): number {
  let n = 0;
  for (const v of a) n += v;
  return n;
}
