/**
 * JSON written straight into bytes: no intermediate string, so no rope to flatten and no second UTF-8 pass.
 * Used where a route's response is large and hot (explained recommendations: ~7 KB and ~150 numbers a
 * request, where building the string and encoding it took more CPU than the explanation).
 *
 * Documents are written one after another into a shared slab and handed out as views of it, so writing a
 * response costs neither an allocation of its own nor a copy (allocating 7 KB took longer than writing it).
 * A slab lives as long as any view of it does (a body waiting on a slow socket keeps its whole slab); a
 * document that outgrows the slab's free end moves to a new one, and after a document larger than a slab
 * the next one starts a slab of the usual size.
 *
 * Each method writes exactly what the schema serialiser (fast-json-stringify) writes for the same value, so
 * a route's bytes do not depend on which of the two wrote them (tested byte for byte).
 */
export class JsonWriter {
  private buf: Buffer;
  private start = 0; // where the document being written begins
  private pos = 0;

  constructor(private readonly slabBytes = 1 << 17) {
    this.buf = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** Starts a new document (dropping any unfinished one). */
  reset(): this {
    this.pos = this.start;
    return this;
  }

  /** The bytes written since `reset`, as a view no later document overwrites. */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    if (this.buf.length > this.slabBytes) this.startSlab(this.slabBytes);
    return out;
  }

  /** Bytes written to the current document so far (offsets for `repeat`). */
  get length(): number {
    return this.pos - this.start;
  }

  /** Writes again the current document's bytes [from, to) (offsets as `length` gave them). */
  repeat(from: number, to: number): void {
    this.reserve(to - from);
    this.buf.copyWithin(this.pos, this.start + from, this.start + to);
    this.pos += to - from;
  }

  /** Pre-encoded ASCII (keys and punctuation, made once with `ascii`). */
  bytes(src: Uint8Array): void {
    const n = src.length;
    this.reserve(n);
    if (n > 24) {
      this.buf.set(src, this.pos); // a native copy pays off past a few dozen bytes
      this.pos += n;
      return;
    }
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = src[i];
    this.pos = p;
  }

  /** A JSON string: printable ASCII is copied as is, anything else goes through JSON.stringify. */
  string(s: string): void {
    this.reserve(s.length + 2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        this.escapedString(s);
        return;
      }
      b[p++] = c;
    }
    b[p++] = QUOTE;
    this.pos = p;
  }

  /** An integer as `'' + n` writes it (a fraction is truncated, as the schema serialiser does). */
  integer(n: number): void {
    if (!Number.isInteger(n)) {
      this.ascii(integerText(n));
      return;
    }
    if (n < 0) {
      this.byte(MINUS);
      n = -n;
    }
    if (n < 2 ** 31) this.uint31(n);
    else this.ascii(String(n));
  }

  /**
   * A number as `'' + x` writes it; ±Infinity as null, NaN refused. Values with at most 6 decimals (the
   * API rounds to 6) take an integer path: x = k/10⁶ exactly, so the shortest digits that round-trip are
   * k's digits with the point moved, trailing zeros dropped. Anything else falls back to `String(x)`.
   */
  number(x: number): void {
    if (Number.isNaN(x)) throw new Error(`The value "${x}" cannot be converted to a number.`);
    const k = Math.round(x * 1e6);
    if (k / 1e6 !== x || k >= 2 ** 31 || k <= -(2 ** 31)) {
      this.ascii(x === Infinity || x === -Infinity ? 'null' : String(x));
      return;
    }
    this.micros(k);
  }

  /** `number(round6(x))` in one step: the rounded value is k/10⁶ by construction, so it takes the integer path. */
  round6(x: number): void {
    const k = Math.round(x * 1e6);
    if (k >= 2 ** 31 || k <= -(2 ** 31) || Number.isNaN(k)) this.number(k / 1e6);
    else this.micros(k);
  }

  /** k/10⁶ for an integer |k| < 2³¹, as `'' + k / 1e6` writes it. */
  private micros(k: number): void {
    this.reserve(18); // "-2147.483647" at most
    const b = this.buf;
    let p = this.pos;
    if (k === 0) {
      b[p] = ZERO; // also −0, which '' + x writes as "0"
      this.pos = p + 1;
      return;
    }
    if (k < 0) {
      b[p++] = MINUS;
      k = -k;
    }
    const whole = (k / 1e6) | 0;
    const frac = k - whole * 1e6;
    if (whole < 10) b[p++] = ZERO + whole;
    else {
      this.pos = p;
      this.uint31(whole);
      p = this.pos;
    }
    if (frac !== 0) {
      // Six digits, three at a time from a table, then the trailing zeros dropped.
      const hi = 3 * ((frac / 1000) | 0);
      const lo = 3 * (frac % 1000);
      b[p] = DOT;
      b[p + 1] = DIGITS3[hi];
      b[p + 2] = DIGITS3[hi + 1];
      b[p + 3] = DIGITS3[hi + 2];
      b[p + 4] = DIGITS3[lo];
      b[p + 5] = DIGITS3[lo + 1];
      b[p + 6] = DIGITS3[lo + 2];
      p += 7;
      while (b[p - 1] === ZERO) p--;
    }
    this.pos = p;
  }

  private uint31(n: number): void {
    let len = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) len++;
    this.reserve(len);
    const b = this.buf;
    let p = this.pos + len;
    for (let t = n; ; ) {
      const q = (t / 10) | 0;
      b[--p] = ZERO + t - q * 10;
      if (q === 0) break;
      t = q;
    }
    this.pos += len;
  }

  private byte(c: number): void {
    this.reserve(1);
    this.buf[this.pos++] = c;
  }

  private ascii(s: string): void {
    this.reserve(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  private escapedString(s: string): void {
    const json = JSON.stringify(s);
    this.reserve(Buffer.byteLength(json));
    this.pos += this.buf.write(json, this.pos, 'utf8');
  }

  private reserve(n: number): void {
    if (this.pos + n > this.buf.length) this.moveToNewSlab(n);
  }

  /** Continues the document in a fresh slab (views of the old one stay valid). */
  private moveToNewSlab(n: number): void {
    const old = this.buf;
    const from = this.start;
    const written = this.pos - from;
    this.startSlab(Math.max(this.slabBytes, 2 * (written + n)));
    old.copy(this.buf, 0, from, from + written);
    this.pos = written;
  }

  private startSlab(bytes: number): void {
    this.buf = Buffer.allocUnsafeSlow(bytes);
    this.start = 0;
    this.pos = 0;
  }
}

/** An integer field's text as the schema serialiser writes it: a fraction truncated, a non-finite value refused. */
export function integerText(n: number): string {
  const t = Math.trunc(n);
  if (!Number.isFinite(t)) throw new Error(`The value "${n}" cannot be converted to an integer.`);
  return String(t);
}

/** Encodes a constant fragment (keys, punctuation) once, for `JsonWriter.bytes`. */
export const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
/** "000" to "999" as ASCII digits, three bytes per number. */
const DIGITS3 = Uint8Array.from({ length: 3000 }, (_, i) => {
  const n = (i / 3) | 0;
  return ZERO + (i % 3 === 0 ? (n / 100) | 0 : i % 3 === 1 ? ((n / 10) | 0) % 10 : n % 10);
});
