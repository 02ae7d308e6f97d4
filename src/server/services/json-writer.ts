/**
 * JSON written straight into one growing byte buffer: no intermediate string, so no rope to flatten and no
 * second UTF-8 pass. Used where a route's response is large and hot (explained recommendations: ~7 KB and
 * ~200 numbers a request, where building the string and encoding it took more CPU than the explanation).
 *
 * Each method writes exactly what the schema serialiser (fast-json-stringify) writes for the same value, so
 * a route's bytes do not depend on which of the two wrote them (tested byte for byte).
 */
export class JsonWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 1 << 16) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Starts a new document (the buffer is reused). */
  reset(): this {
    this.pos = 0;
    return this;
  }

  /** A copy of the bytes written since `reset`. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
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
      const t = Math.trunc(n);
      if (!Number.isFinite(t)) throw new Error(`The value "${n}" cannot be converted to an integer.`);
      this.ascii(String(t));
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
    if (k === 0) {
      this.byte(ZERO); // also −0, which '' + x writes as "0"
      return;
    }
    let a = k;
    if (a < 0) {
      this.byte(MINUS);
      a = -a;
    }
    const whole = (a / 1e6) | 0;
    let frac = a - whole * 1e6;
    this.uint31(whole);
    if (frac === 0) return;
    let width = 6;
    while (frac % 10 === 0) {
      frac = (frac / 10) | 0;
      width--;
    }
    this.reserve(width + 1);
    const b = this.buf;
    b[this.pos] = DOT;
    let p = this.pos + width + 1;
    for (let i = 0; i < width; i++) {
      const q = (frac / 10) | 0;
      b[--p] = ZERO + frac - q * 10;
      frac = q;
    }
    this.pos += width + 1;
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
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

/** Encodes a constant fragment (keys, punctuation) once, for `JsonWriter.bytes`. */
export const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
