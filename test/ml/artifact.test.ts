import { describe, expect, it } from 'vitest';
import { decodeArtifact, encodeArtifact } from '../../src/ml/artifact/format.ts';

describe('artifact format', () => {
  const tensors = { a: new Float32Array([1.5, -2, 3]), idx: new Int32Array([7, 8, 9, 10]) };

  it('round-trips tensors, shapes and meta', () => {
    const bytes = encodeArtifact('test', { dim: 2 }, tensors, { idx: [2, 2] });
    const art = decodeArtifact(bytes, 'test');
    expect(art.meta).toEqual({ dim: 2 });
    expect(Array.from(art.tensors.a)).toEqual([1.5, -2, 3]);
    expect(art.tensors.idx).toBeInstanceOf(Int32Array);
    expect(art.shapes.idx).toEqual([2, 2]);
  });

  it('rejects a corrupted payload, a wrong kind and a bad shape', () => {
    const bytes = encodeArtifact('test', {}, tensors);
    const bad = bytes.slice();
    bad[bad.length - 1] ^= 0xff;
    expect(() => decodeArtifact(bad)).toThrow(/checksum/);
    expect(() => decodeArtifact(bytes, 'mf')).toThrow(/kind "test", expected "mf"/);
    expect(() => encodeArtifact('t', {}, tensors, { a: [2, 2] })).toThrow(/shape/);
    expect(() => decodeArtifact(new Uint8Array(10))).toThrow(/magic/);
  });
});
