import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascii, JsonWriter } from '../../../src/server/services/json-writer.ts';

const write = (f: (w: JsonWriter) => void, slabBytes?: number): string => {
  const w = new JsonWriter(slabBytes);
  f(w);
  return w.take().toString('utf8');
};
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
/** What the schema serialiser writes for a number: `'' + x`, non-finite as null. */
const expected = (x: number) => (Number.isFinite(x) ? `${x}` : 'null');

describe('JsonWriter', () => {
  it("writes numbers as '' + x does, on the 6-decimal path and off it", () => {
    const cases = [
      0,
      -0,
      1,
      -1,
      0.5,
      1e-6,
      -1e-6,
      0.000123,
      0.1 + 0.2,
      2147.483647,
      2147.483648,
      -2147.483648,
      1e-7,
      1e21,
      123456.789012,
      999999.9999995,
      Math.PI,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_VALUE,
      5e-324,
    ];
    for (const x of cases) expect(write((w) => w.number(x))).toBe(`${x}`);
    expect(write((w) => w.number(Infinity))).toBe('null');
    expect(write((w) => w.number(-Infinity))).toBe('null');
    expect(() => write((w) => w.number(Number.NaN))).toThrow(/NaN/);
  });

  it('matches String(x) for any double and any 6-decimal value', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(write((w) => w.number(x))).toBe(expected(x));
        expect(write((w) => w.number(round6(x)))).toBe(expected(round6(x)));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31) + 1, max: 2 ** 31 - 1 }), (k) => {
        expect(write((w) => w.number(k / 1e6))).toBe(`${k / 1e6}`);
      }),
    );
  });

  it('round6(x) writes what number(round6(x)) writes, for any double', () => {
    for (const x of [
      0, -0, 0.4999994, -0.0000004, 1e-6, 999999.9999995, 2147.4836474, 2147.4836475, 1e300, -1e300,
    ])
      expect(write((w) => w.round6(x))).toBe(expected(round6(x)));
    expect(write((w) => w.round6(Infinity))).toBe('null');
    expect(() => write((w) => w.round6(Number.NaN))).toThrow(/NaN/);
    fc.assert(
      fc.property(
        fc.oneof(fc.double({ noNaN: true }), fc.double({ noNaN: true, min: -3000, max: 3000 })),
        (x) => {
          expect(write((w) => w.round6(x))).toBe(expected(round6(x)));
        },
      ),
    );
  });

  it('writes integers as the schema serialiser does (fractions truncated)', () => {
    for (const n of [0, -0, 7, -7, 10, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, 1e21])
      expect(write((w) => w.integer(n))).toBe(`${n}`);
    expect(write((w) => w.integer(2.9))).toBe('2');
    expect(write((w) => w.integer(-0.5))).toBe('0');
    expect(() => write((w) => w.integer(Infinity))).toThrow(/Infinity/);
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(write((w) => w.integer(n))).toBe(`${n}`);
      }),
    );
  });

  it('writes strings as JSON.stringify does, escapes and non-ASCII included', () => {
    for (const s of [
      '',
      'plain',
      'Amélie (2001)',
      'a"b\\c',
      'tab\tnew\nline',
      '\u0000\u001f\u007f',
      '\ud800x',
      '🎬',
    ])
      expect(write((w) => w.string(s))).toBe(JSON.stringify(s));
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })),
        (s) => {
          expect(write((w) => w.string(s))).toBe(JSON.stringify(s));
        },
      ),
    );
  });

  it('grows past its initial buffer and starts over on reset', () => {
    const values = Array.from({ length: 50 }, (_, i) => ['x'.repeat(100), i / 3]).flat();
    const out = write((w) => {
      w.bytes(ascii('['));
      values.forEach((v, i) => {
        if (i) w.bytes(ascii(','));
        if (typeof v === 'string') w.string(v);
        else w.number(v);
      });
      w.bytes(ascii(']'));
    }, 8);
    expect(out).toBe(JSON.stringify(values));
    const w = new JsonWriter(4);
    w.string('first');
    w.reset().string('second');
    expect(w.take().toString()).toBe('"second"');
  });

  it('hands out documents that later ones never overwrite, across slabs', () => {
    const w = new JsonWriter(64);
    const taken: [Buffer, string][] = [];
    for (let d = 0; d < 200; d++) {
      const text = `doc ${d} ${'y'.repeat(d % 37)}`;
      w.reset().string(`abandoned ${d}`); // an unfinished document is dropped by the next reset
      w.reset().string(text);
      w.round6(d / 7);
      taken.push([w.take(), `${JSON.stringify(text)}${round6(d / 7)}`]);
    }
    for (const [bytes, want] of taken) expect(bytes.toString()).toBe(want);
  });

  it('goes back to slabs of the usual size after a document larger than one', () => {
    const w = new JsonWriter(64);
    w.reset().string('z'.repeat(1000));
    const big = w.take();
    w.reset().string('small');
    const small = w.take();
    expect(big.toString()).toBe(JSON.stringify('z'.repeat(1000)));
    expect(small.toString()).toBe('"small"');
    expect(big.buffer.byteLength).toBeGreaterThan(1000);
    expect(small.buffer.byteLength).toBe(64);
  });
});
