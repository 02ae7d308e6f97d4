import { MlError } from '../core/errors.ts';
import { buildCsr } from './csr.ts';
import { idMapFromIds, StringIdIndexer } from './idmap.ts';
import { estimateLines, FloatList, IntList, type RecordView, readDataFile, scanRecords } from './scan.ts';
import type { Dataset } from './types.ts';

/**
 * Generic files anyone can produce (UTF-8; comma-separated, or tab-separated when the first line has
 * a tab; double-quoted fields allowed):
 * - interactions: `user,item[,weight][,timestamp]`. Every row is a positive; the weight (default 1)
 *   is kept as the CSR value, the timestamp is ignored. Repeated pairs collapse into one.
 * - items (optional): `item,title[,tags separated by |][,year]`. Rows for items that never occur in
 *   the interactions are skipped; interacted items missing from it get their id as title, no tags.
 * A first line whose first field is a column name (user, user_id, userId, … / item, item_id, id, …)
 * is a header. Users and items are numbered in order of first appearance in the interactions.
 */
export function loadCsv(interactionsPath: string, itemsPath?: string): Dataset {
  const buf = readDataFile(interactionsPath);
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
      if (/^(user|uid)[ _-]?(id)?$/i.test(r.text(0).trim())) return;
    }
    r.expectFields(2, 4);
    const u = r.text(0).trim();
    const i = r.text(1).trim();
    if (u === '') r.fail('empty user id');
    if (i === '') r.fail('empty item id');
    let w = 1;
    if (r.count >= 3 && !isEmptyField(r, 2)) {
      w = r.num(2);
      if (!Number.isFinite(w)) r.fail(`non-numeric weight "${r.text(2)}"`);
    }
    if (r.count === 4 && !isEmptyField(r, 3) && !Number.isFinite(r.num(3)))
      r.fail(`non-numeric timestamp "${r.text(3)}"`);
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
    let firstItem = true;
    scanRecords(ibuf, itemsPath, { delimiter: detectDelimiter(ibuf), quotes: true }, (r) => {
      if (firstItem) {
        firstItem = false;
        if (/^(item|movie|artist)?[ _-]?(id)?$/i.test(r.text(0).trim()) && r.text(0).trim() !== '') return;
      }
      r.expectFields(2, 4);
      const i = items.index.get(r.text(0).trim());
      if (i === undefined) return; // an item nobody interacted with is not an item
      itemTitles[i] = r.text(1).trim();
      if (r.count >= 3) {
        const tags = r.text(2).trim();
        itemTags[i] =
          tags === ''
            ? []
            : tags
                .split('|')
                .map((t) => t.trim())
                .filter((t) => t !== '');
      }
      if (r.count === 4 && !isEmptyField(r, 3)) {
        const y = r.int(3);
        if (Number.isNaN(y)) r.fail(`non-numeric year "${r.text(3)}"`);
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
