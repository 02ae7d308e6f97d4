import { MlError } from '../core/errors.ts';
import { buildCsr } from './csr.ts';
import { idMapFromIds, StringIdIndexer } from './idmap.ts';
import {
  estimateLines,
  FloatList,
  IntList,
  type RecordView,
  readDataFile,
  requireUtf8,
  scanRecords,
} from './scan.ts';
import type { Dataset } from './types.ts';

/**
 * Generic files anyone can produce (UTF-8; comma-separated, or tab-separated when the first line has
 * a tab; double-quoted fields allowed):
 * - interactions: `user,item[,weight][,timestamp]`. Every row is a positive; the weight (default 1)
 *   is kept as the CSR value, the timestamp (any text) is ignored. Repeated pairs collapse into one.
 * - items (optional): `item,title[,tags separated by |][,year]`. Rows for items that never occur in
 *   the interactions are skipped; interacted items missing from it get their id as title, no tags.
 *   With a header, columns are found by name (`title`/`name`, `tags`/`genres`/`category`…, `year`),
 *   in any order, and other columns are ignored. A year may be written `1999.0`.
 * A first line is a header when it holds a word as weight (unless both ids are numbers), or, without a
 * weight, when its first field names the user column (user/customer/session/…); see isInteractionsHeader.
 * Users and items are numbered in order of first appearance in the interactions. Bytes that are not UTF-8
 * are an error naming the line (not replaced by U+FFFD, which would merge distinct ids).
 */
export function loadCsv(interactionsPath: string, itemsPath?: string): Dataset {
  const buf = readDataFile(interactionsPath);
  requireUtf8(buf, interactionsPath);
  const delimiter = detectDelimiter(buf);
  const users = new StringIdIndexer();
  const items = new StringIdIndexer();
  const cap = estimateLines(buf);
  const rows = new IntList(cap);
  const cols = new IntList(cap);
  const weights = new FloatList(cap);
  let first = true;
  scanRecords(buf, interactionsPath, { delimiter, quotes: true }, (r) => {
    if (first) {
      first = false;
      if (isInteractionsHeader(r)) return;
    }
    r.expectFields(2, 4);
    const u = r.text(0).trim();
    const i = r.text(1).trim();
    if (u === '') r.fail('empty user id');
    if (i === '') r.fail('empty item id');
    let w = 1;
    if (r.count >= 3 && !isEmptyField(r, 2)) {
      w = r.num(2);
      if (!Number.isFinite(w)) r.failNumber(2, 'weight');
    }
    rows.push(users.get(u));
    cols.push(items.get(i));
    weights.push(w);
  });
  if (rows.length === 0)
    throw new MlError('BAD_FILE', `${interactionsPath}: no interactions`, interactionsPath);
  const nI = items.ids.length;
  const interactions = buildCsr(rows.toArray(), cols.toArray(), users.ids.length, nI, weights.toArray());

  const itemTitles = items.ids.slice();
  const itemTags: string[][] = items.ids.map(() => []);
  const itemYears = new Int32Array(nI);
  if (itemsPath !== undefined) {
    const ibuf = readDataFile(itemsPath);
    requireUtf8(ibuf, itemsPath);
    let columns: ItemColumns | null = null;
    scanRecords(ibuf, itemsPath, { delimiter: detectDelimiter(ibuf), quotes: true }, (r) => {
      if (!columns) {
        columns = itemColumns(r);
        if (columns.header) return;
      }
      const c = columns;
      if (c.header) {
        r.expectFields(c.minFields, Number.POSITIVE_INFINITY);
        // More fields than the header names: an unquoted comma would shift every column after it.
        if (r.count > c.fields)
          r.fail(`${r.count} fields under a header of ${c.fields}: quote a field that holds a comma`);
      } else r.expectFields(2, 4);
      const i = items.index.get(r.text(c.id).trim());
      if (i === undefined) return; // an item nobody interacted with is not an item
      if (c.title !== null) itemTitles[i] = r.text(c.title).trim();
      if (c.tags !== null && c.tags < r.count) {
        const tags = r.text(c.tags).trim();
        itemTags[i] =
          tags === ''
            ? []
            : tags
                .split('|')
                .map((t) => t.trim())
                .filter((t) => t !== '');
      }
      if (c.year !== null && c.year < r.count && !isEmptyField(r, c.year)) {
        const y = r.num(c.year);
        if (!Number.isInteger(y)) r.failNumber(c.year, 'year');
        if (y < 0 || y > 9999) r.fail(`year ${y} is outside 0–9999`); // kept as an Int32 (0 = unknown)
        itemYears[i] = y;
      }
    });
  }
  return {
    name: 'csv',
    users: users.toIdMap(),
    items: idMapFromIds(items.ids),
    interactions,
    itemTitles,
    itemTags,
    itemYears,
  };
}

const USER_COLUMN =
  /^(user|uid|customer|client|member|account|visitor|person|listener|reader|viewer|buyer|learner|session)[ _-]?(id)?$/i;
const ITEM_COLUMN =
  /^(item|iid|product|sku|track|song|movie|film|artist|book|article|content|video|asin|id)[ _-]?(id)?$/i;

/**
 * Whether the interactions file's first line names its columns rather than holding an interaction.
 * - A number as weight: data (`alice,book,5`).
 * - A word as weight: a header (`learner,course,rating`) unless both ids are numbers — `1,1,abc` is a
 *   row with a bad weight, and fails like any other instead of vanishing as a header.
 * - No weight: a header when the first field names the user column (`customer,product`, `user_id,sku`),
 *   not when only the second looks like a column name (`alice,book` is data).
 */
function isInteractionsHeader(r: RecordView): boolean {
  const user = r.text(0).trim();
  const item = r.count >= 2 ? r.text(1).trim() : '';
  if (r.count >= 3 && !isEmptyField(r, 2)) {
    if (!Number.isNaN(r.num(2))) return false;
    return !(INTEGER.test(user) && INTEGER.test(item));
  }
  return USER_COLUMN.test(user);
}

const INTEGER = /^\d+$/;

/** Where an items file keeps each field: by name when its first line is a header, else by position. */
interface ItemColumns {
  header: boolean;
  /** Fields a row needs to reach every named column. */
  minFields: number;
  /** Fields a row may have at most: the header's. */
  fields: number;
  id: number;
  title: number | null;
  tags: number | null;
  year: number | null;
}

function itemColumns(first: RecordView): ItemColumns {
  const names = Array.from({ length: first.count }, (_, k) => first.text(k).trim().toLowerCase());
  const find = (re: RegExp): number | null => {
    const k = names.findIndex((n) => re.test(n));
    return k < 0 ? null : k;
  };
  const title = find(/^(title|name|item[ _-]?name|product[ _-]?name)$/);
  const tags = find(/^(tags?|genres?|categor(y|ies)|labels?|keywords?)$/);
  const year = find(/^(year|release[ _-]?year)$/);
  const id = find(ITEM_COLUMN);
  const header = id !== null && (id === 0 || title !== null || tags !== null || year !== null);
  if (!header) return { header: false, minFields: 2, fields: 4, id: 0, title: 1, tags: 2, year: 3 };
  const minFields = Math.max(id, title ?? 0, tags ?? 0, year ?? 0) + 1;
  return { header: true, minFields, fields: first.count, id, title, tags, year };
}

function isEmptyField(r: RecordView, k: number): boolean {
  return r.text(k).trim() === '';
}

/** Tab when the first non-blank line has one, else comma. */
function detectDelimiter(buf: Buffer): string {
  let start = 0;
  for (;;) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    const line = buf.subarray(start, end);
    if (line.some((b) => b !== 32 && b !== 13 && b !== 9) || end >= buf.length)
      return line.includes(9) ? '\t' : ',';
    start = end + 1;
  }
}
