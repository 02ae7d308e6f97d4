import { isUtf8 } from 'node:buffer';
import { readFileSync, statSync } from 'node:fs';
import { MlError } from '../core/errors.ts';

/**
 * A byte scanner over a whole file buffer: one callback per record, fields given as byte ranges, so
 * numeric columns are parsed without allocating a string per line (1M-line files load in ~0.2 s).
 * Lines end in LF or CRLF; blank lines are skipped. With `quotes`, fields may be wrapped in double
 * quotes ("" escapes a quote, and a quoted field may span lines) — the CSV convention.
 */
export interface ScanOptions {
  delimiter: string; // one or two ASCII characters, e.g. '::', '\t', ','
  quotes?: boolean;
}

/** The current record; reused between callbacks, so copy out what you keep. */
export class RecordView {
  buf: Buffer;
  file: string;
  line = 0; // 1-based line where the record starts
  count = 0; // number of fields
  starts = new Int32Array(16);
  ends = new Int32Array(16);
  quoted = new Uint8Array(16);

  constructor(buf: Buffer, file: string) {
    this.buf = buf;
    this.file = file;
  }

  push(start: number, end: number, quoted: boolean): void {
    if (this.count === this.starts.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
      this.quoted = grow(this.quoted);
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.quoted[this.count] = quoted ? 1 : 0;
    this.count++;
  }

  /** Non-negative decimal integer in field k (surrounding spaces allowed), or NaN. */
  int(k: number): number {
    let s = this.starts[k];
    let e = this.ends[k];
    const b = this.buf;
    while (s < e && b[s] === 32) s++;
    while (e > s && b[e - 1] === 32) e--;
    if (s === e || e - s > 15) return Number.NaN;
    let v = 0;
    for (let i = s; i < e; i++) {
      const d = b[i] - 48;
      if (d < 0 || d > 9) return Number.NaN;
      v = v * 10 + d;
    }
    return v;
  }

  /** Finite number in field k, or NaN. */
  num(k: number): number {
    const v = this.int(k);
    if (!Number.isNaN(v)) return v;
    const t = this.text(k).trim();
    return t === '' ? Number.NaN : Number(t);
  }

  text(k: number, encoding: 'utf8' | 'latin1' = 'utf8'): string {
    const s = this.starts[k];
    const e = this.ends[k];
    if (this.quoted[k]) return this.buf.toString(encoding, s + 1, e - 1).replaceAll('""', '"');
    return this.buf.toString(encoding, s, e);
  }

  /** Throws BAD_FILE naming the file and this record's line. */
  fail(problem: string): never {
    throw badLine(this.file, this.line, problem);
  }

  /**
   * Fails on field k, which should have been a number, quoting at most its first 40 characters: enough to
   * find the line, not enough to copy a file out through an error message.
   */
  failNumber(k: number, what: string): never {
    const t = this.text(k);
    return this.fail(`non-numeric ${what} "${t.length > 40 ? `${t.slice(0, 40)}…` : t}"`);
  }

  /** Requires a field count in [min, max]. */
  expectFields(min: number, max = min): void {
    if (this.count < min || this.count > max) {
      const want =
        min === max ? `${min}` : max === Number.POSITIVE_INFINITY ? `at least ${min}` : `${min}–${max}`;
      this.fail(`expected ${want} fields, found ${this.count}`);
    }
  }

  /** Field k as a non-negative integer id below 2^31 (ids are kept in Int32Arrays); fails naming the column. */
  id(k: number, what: string): number {
    const v = this.int(k);
    if (Number.isNaN(v)) this.failNumber(k, what);
    if (v > 0x7fffffff) this.fail(`${what} ${v} is too large (ids must be below 2^31)`);
    return v;
  }
}

export function badLine(file: string, line: number, problem: string): MlError {
  return new MlError('BAD_FILE', `${file}, line ${line}: ${problem}`, file);
}

/** Reads a whole file; a missing or unreadable file is a BAD_FILE naming the path. */
export function readDataFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : String(err);
    throw new MlError('BAD_FILE', `${path}: ${why}`, path);
  }
}

/**
 * Refuses bytes that are not UTF-8, naming the first line that is not: decoding would turn each bad byte
 * into U+FFFD, so that "café" and "cafè" in Latin-1 became one id without a word.
 */
export function requireUtf8(buf: Buffer, path: string): void {
  // UTF-16 text is valid UTF-8 byte by byte (ASCII with NULs between), so its byte-order mark gives it away.
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))
    throw badLine(path, 1, 'UTF-16 text (save the file as UTF-8)');
  if (isUtf8(buf)) return;
  let line = 1;
  for (let start = 0; start < buf.length; line++) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    if (!isUtf8(buf.subarray(start, end)))
      throw badLine(
        path,
        line,
        'not valid UTF-8 (save the file as UTF-8; Latin-1 and Windows-1252 are not read)',
      );
    start = end + 1;
  }
}

/**
 * The encoding of a file the dataset ships in ISO-8859-1 (ML-1M's movies.dat, hetrec's tags.dat): UTF-8
 * when the bytes are valid UTF-8 and not all ASCII (a re-encoded copy, which Latin-1 decoding would turn
 * into mojibake: "MisÃ©rables"), else Latin-1. Latin-1 text with accents is almost never valid UTF-8.
 */
export function latin1OrUtf8(buf: Buffer): 'latin1' | 'utf8' {
  return isUtf8(buf) && buf.some((b) => b >= 0x80) ? 'utf8' : 'latin1';
}

export function requireDirectory(path: string): void {
  let ok = false;
  try {
    ok = statSync(path).isDirectory();
  } catch {
    throw new MlError('BAD_FILE', `${path}: directory not found`, path);
  }
  if (!ok) throw new MlError('BAD_FILE', `${path}: not a directory`, path);
}

export function fileExists(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Calls `onRecord` for every non-blank record of `buf`. `skipLines` skips leading lines (headers).
 */
/** The bytes after a UTF-8 byte-order mark (spreadsheet exports), which is not part of the first field. */
export function withoutBom(buf: Buffer): Buffer {
  return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? buf.subarray(3) : buf;
}

export function scanRecords(
  input: Buffer,
  file: string,
  opts: ScanOptions,
  onRecord: (r: RecordView) => void,
  skipLines = 0,
): void {
  const buf = withoutBom(input);
  const r = new RecordView(buf, file);
  if (opts.quotes) scanQuoted(buf, r, opts.delimiter.charCodeAt(0), onRecord, skipLines);
  else scanPlain(buf, r, opts.delimiter, onRecord, skipLines);
}

function scanPlain(
  buf: Buffer,
  r: RecordView,
  delimiter: string,
  onRecord: (r: RecordView) => void,
  skipLines: number,
): void {
  const n = buf.length;
  const d0 = delimiter.charCodeAt(0);
  const two = delimiter.length === 2;
  const d1 = two ? delimiter.charCodeAt(1) : -1;
  let pos = 0;
  let line = 0;
  while (pos < n) {
    line++;
    let lineEnd = buf.indexOf(10, pos);
    if (lineEnd < 0) lineEnd = n;
    const next = lineEnd + 1;
    if (lineEnd > pos && buf[lineEnd - 1] === 13) lineEnd--;
    if (line <= skipLines || isBlank(buf, pos, lineEnd)) {
      pos = next;
      continue;
    }
    r.line = line;
    r.count = 0;
    let fieldStart = pos;
    let i = pos;
    while (i < lineEnd) {
      if (buf[i] === d0 && (!two || (i + 1 < lineEnd && buf[i + 1] === d1))) {
        r.push(fieldStart, i, false);
        i += two ? 2 : 1;
        fieldStart = i;
      } else i++;
    }
    r.push(fieldStart, lineEnd, false);
    onRecord(r);
    pos = next;
  }
}

function scanQuoted(
  buf: Buffer,
  r: RecordView,
  delim: number,
  onRecord: (r: RecordView) => void,
  skipLines: number,
): void {
  const n = buf.length;
  let pos = 0;
  let line = 0;
  while (pos < n) {
    line++;
    const recordLine = line;
    r.count = 0;
    let i = pos;
    let fieldStart = pos;
    let done = false;
    while (!done) {
      if (i < n && buf[i] === 34) {
        // Quoted field: runs to the closing quote not followed by another quote.
        let j = i + 1;
        for (;;) {
          if (j >= n) throw badLine(r.file, recordLine, 'unterminated quoted field');
          const c = buf[j];
          if (c === 34) {
            if (j + 1 < n && buf[j + 1] === 34) j += 2;
            else break;
          } else {
            if (c === 10) line++;
            j++;
          }
        }
        const end = j + 1;
        r.push(i, end, true);
        i = end;
        while (i < n && buf[i] === 32) i++;
        if (i < n && buf[i] === 13) i++;
        if (i >= n || buf[i] === 10) done = true;
        else if (buf[i] === delim) i++;
        else throw badLine(r.file, recordLine, 'text after a closing quote');
        fieldStart = i;
        continue;
      }
      while (i < n && buf[i] !== delim && buf[i] !== 10) i++;
      let end = i;
      if (i >= n || buf[i] === 10) {
        if (end > fieldStart && buf[end - 1] === 13) end--;
        done = true;
      }
      r.push(fieldStart, end, false);
      if (!done) {
        i++;
        fieldStart = i;
      }
    }
    const next = i + 1;
    const blank = r.count === 1 && !r.quoted[0] && isBlank(buf, r.starts[0], r.ends[0]);
    if (recordLine > skipLines && !blank) {
      r.line = recordLine;
      onRecord(r);
    }
    pos = next;
  }
}

function isBlank(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** Growable Int32 list. */
export class IntList {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Int32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const b = new Int32Array(this.data.length * 2);
      b.set(this.data);
      this.data = b;
    }
    this.data[this.length++] = v;
  }
  toArray(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

/** Growable Float32 list. */
export class FloatList {
  data: Float32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const b = new Float32Array(this.data.length * 2);
      b.set(this.data);
      this.data = b;
    }
    this.data[this.length++] = v;
  }
  toArray(): Float32Array {
    return this.data.slice(0, this.length);
  }
}

/** Rough line count, for presizing lists. */
export function estimateLines(buf: Buffer): number {
  return Math.max(16, Math.ceil(buf.length / 12));
}
