import { join } from 'node:path';
import { MlError } from '../core/errors.ts';
import { buildCsr, filterCsr } from './csr.ts';
import { densifyIntIds, idMapFromIds } from './idmap.ts';
import {
  badLine,
  estimateLines,
  FloatList,
  fileExists,
  IntList,
  latin1OrUtf8,
  readDataFile,
  requireDirectory,
  scanRecords,
  withoutBom,
} from './scan.ts';
import type { Dataset } from './types.ts';

export interface LastFmOptions {
  /** Keep artists with at least this many listeners (default 5). */
  minListeners: number;
  /** Concept tags per artist: its most used tags (default 4, as the paper). */
  topTags: number;
}

export const LASTFM_DEFAULTS: LastFmOptions = { minListeners: 5, topTags: 4 };

/** The files a hetrec Last.FM directory is read from (the two tag files optional). */
export const LASTFM_FILES = {
  listens: 'user_artists.dat',
  artists: 'artists.dat',
  tags: 'tags.dat',
  tagged: 'user_taggedartists.dat',
} as const;

/** The listening file of a hetrec Last.FM directory (user_artists.dat); BAD_FILE when it is missing. */
export function lastFmListensPath(dir: string): string {
  requireDirectory(dir);
  const path = join(dir, LASTFM_FILES.listens);
  if (!fileExists(path)) throw new MlError('BAD_FILE', `${path}: file not found`, path);
  return path;
}

/**
 * Last.FM hetrec2011-lastfm-2k directory (tab-separated, one header line, LF or CRLF):
 * `user_artists.dat` (userID artistID weight; any listen is a positive, the count kept as the value),
 * `artists.dat` (id name url pictureURL; UTF-8), and when both are present `tags.dat` (tagID tagValue;
 * ISO-8859-1) and `user_taggedartists.dat` (userID artistID tagID day month year), whose most used
 * tags per artist (lower-cased; ties broken alphabetically) become the artist's `itemTags`.
 * Artists with fewer than `minListeners` listeners are dropped, then users left with no listens.
 * Tag assignments to artists absent from user_artists.dat are ignored (the original data has some).
 */
export function loadLastFm(dir: string, options: Partial<LastFmOptions> = {}): Dataset {
  const opts = { ...LASTFM_DEFAULTS, ...options };
  const listensPath = lastFmListensPath(dir);
  const buf = readHetrecFile(listensPath, 'userID\tartistID\tweight');
  const cap = estimateLines(buf);
  const rawUsers = new IntList(cap);
  const rawItems = new IntList(cap);
  const weights = new FloatList(cap);
  scanRecords(
    buf,
    listensPath,
    { delimiter: '\t' },
    (r) => {
      r.expectFields(3);
      rawUsers.push(r.id(0, 'userID'));
      rawItems.push(r.id(1, 'artistID'));
      const w = r.num(2);
      if (!Number.isFinite(w)) r.failNumber(2, 'weight');
      weights.push(w);
    },
    1,
  );
  if (rawUsers.length === 0) throw new MlError('BAD_FILE', `${listensPath}: no listens`, listensPath);
  const users = densifyIntIds(rawUsers.toArray());
  const items = densifyIntIds(rawItems.toArray());
  const full = buildCsr(users.dense, items.dense, users.ids.length, items.ids.length, weights.toArray());

  // Minimum-listeners filter on artists, then drop users left empty.
  const listeners = new Int32Array(full.cols);
  for (let p = 0; p < full.indices.length; p++) listeners[full.indices[p]]++;
  const keepItems = new Uint8Array(full.cols);
  for (let i = 0; i < full.cols; i++) keepItems[i] = listeners[i] >= opts.minListeners ? 1 : 0;
  const keepUsers = new Uint8Array(full.rows);
  for (let u = 0; u < full.rows; u++)
    for (let p = full.indptr[u]; p < full.indptr[u + 1]; p++)
      if (keepItems[full.indices[p]]) {
        keepUsers[u] = 1;
        break;
      }
  const interactions = filterCsr(full, keepUsers, keepItems);
  if (interactions.cols === 0)
    throw new MlError(
      'BAD_FILE',
      `${listensPath}: no artist has ≥ ${opts.minListeners} listeners`,
      listensPath,
    );
  const itemIdNums = items.ids.filter((_, i) => keepItems[i] === 1);
  const userIds = Array.from(
    users.ids.filter((_, u) => keepUsers[u] === 1),
    String,
  );
  const itemIds = Array.from(itemIdNums, String);
  const itemIndex = new Map<number, number>();
  for (let i = 0; i < itemIdNums.length; i++) itemIndex.set(itemIdNums[i], i);

  const itemTitles = itemIds.map((id) => `Artist ${id}`);
  const artistsPath = join(dir, LASTFM_FILES.artists);
  scanRecords(
    readHetrecFile(artistsPath, 'id\tname\turl\tpictureURL'),
    artistsPath,
    { delimiter: '\t' },
    (r) => {
      r.expectFields(2, Number.POSITIVE_INFINITY);
      const i = itemIndex.get(r.id(0, 'artist id'));
      if (i !== undefined) itemTitles[i] = r.text(1, 'utf8');
    },
    1,
  );

  const tagsPath = join(dir, LASTFM_FILES.tags);
  const taggedPath = join(dir, LASTFM_FILES.tagged);
  // Tags need both files; one without the other is a broken copy, not a choice to go without tags.
  const [hasTags, hasTagged] = [fileExists(tagsPath), fileExists(taggedPath)];
  if (hasTags !== hasTagged) {
    const missing = hasTags ? taggedPath : tagsPath;
    throw new MlError(
      'BAD_FILE',
      `${missing}: file not found (artists' tags need it beside ${hasTags ? LASTFM_FILES.tags : LASTFM_FILES.tagged})`,
      missing,
    );
  }
  const itemTags = hasTags
    ? topTagsPerArtist(tagsPath, taggedPath, itemIndex, opts.topTags)
    : itemIds.map(() => []);

  return {
    name: 'lastfm-hetrec',
    users: idMapFromIds(userIds),
    items: idMapFromIds(itemIds),
    interactions,
    itemTitles,
    itemTags,
    itemYears: new Int32Array(itemIds.length),
  };
}

function topTagsPerArtist(
  tagsPath: string,
  taggedPath: string,
  itemIndex: Map<number, number>,
  topTags: number,
): string[][] {
  const tagName = new Map<number, string>();
  const tagsBuf = readHetrecFile(tagsPath, 'tagID\ttagValue');
  const encoding = latin1OrUtf8(tagsBuf);
  scanRecords(
    tagsBuf,
    tagsPath,
    { delimiter: '\t' },
    (r) => {
      r.expectFields(2);
      tagName.set(r.id(0, 'tagID'), r.text(1, encoding).trim().toLowerCase());
    },
    1,
  );
  const counts: Map<string, number>[] = Array.from({ length: itemIndex.size }, () => new Map());
  scanRecords(
    readHetrecFile(taggedPath, 'userID\tartistID\ttagID\tday\tmonth\tyear'),
    taggedPath,
    { delimiter: '\t' },
    (r) => {
      r.expectFields(3, 6);
      const artist = r.id(1, 'artistID');
      const tagId = r.id(2, 'tagID');
      const i = itemIndex.get(artist);
      if (i === undefined) return;
      const name = tagName.get(tagId);
      if (name === undefined) return r.fail(`tagID ${tagId} is not in ${tagsPath}`);
      const m = counts[i];
      m.set(name, (m.get(name) ?? 0) + 1);
    },
    1,
  );
  return counts.map((m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, topTags)
      .map(([name]) => name),
  );
}

/**
 * A hetrec file, whose first line is its header (skipped by the readers): a copy with the header stripped
 * would silently lose its first record, so a first line that starts with a number is refused.
 */
function readHetrecFile(path: string, header: string): Buffer {
  const buf = readDataFile(path);
  const first = withoutBom(buf)[0];
  if (first >= 0x30 && first <= 0x39)
    throw badLine(path, 1, `expected the hetrec header line ("${header.replaceAll('\t', ' ')}"), found data`);
  return buf;
}
