import { createHash } from 'node:crypto';
import { MlError } from '../core/errors.ts';

/**
 * One binary layout for every artifact (recommenders, SAEs), stored unchanged as SQLite BLOBs or files:
 *
 *   bytes 0..3   magic "PRSM"
 *   bytes 4..7   header length H (uint32 LE)
 *   bytes 8..8+H header JSON (UTF-8): { format, version, kind, meta, tensors:[{name,dtype,shape,offset,length}], sha256 }
 *   then padding to an 8-byte boundary, then the raw little-endian arrays at their offsets
 *
 * `sha256` covers the payload (everything after the padded header), so corruption is caught on load.
 */
export const ARTIFACT_FORMAT_VERSION = 1;
const MAGIC = 'PRSM';

export type Tensor = Float32Array | Int32Array;
export type TensorMap = Record<string, Tensor>;

interface TensorEntry {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  offset: number; // bytes from the payload start
  length: number; // elements
}

interface Header {
  format: 'prism-artifact';
  version: number;
  kind: string;
  meta: Record<string, unknown>;
  tensors: TensorEntry[];
  sha256: string;
}

export interface Artifact {
  kind: string;
  meta: Record<string, unknown>;
  tensors: TensorMap;
  shapes: Record<string, number[]>;
}

/** Serialises tensors with their shapes. `shapes[name]` defaults to [length]. */
export function encodeArtifact(
  kind: string,
  meta: Record<string, unknown>,
  tensors: TensorMap,
  shapes: Record<string, number[]> = {},
): Uint8Array {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const shape = shapes[name] ?? [t.length];
    if (shape.reduce((a, b) => a * b, 1) !== t.length) {
      throw new MlError(
        'BAD_ARTIFACT',
        `tensor "${name}": shape [${shape}] does not match length ${t.length}`,
        name,
      );
    }
    entries.push({
      name,
      dtype: t instanceof Float32Array ? 'float32' : 'int32',
      shape,
      offset,
      length: t.length,
    });
    offset += align8(t.byteLength);
  }
  const payload = new Uint8Array(offset);
  for (const e of entries) {
    const t = tensors[e.name];
    payload.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), e.offset);
  }
  const sha256 = createHash('sha256').update(payload).digest('hex');
  const header: Header = {
    format: 'prism-artifact',
    version: ARTIFACT_FORMAT_VERSION,
    kind,
    meta,
    tensors: entries,
    sha256,
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = align8(8 + headerBytes.length);
  const out = new Uint8Array(headerEnd + payload.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(4, headerBytes.length, true);
  out.set(headerBytes, 8);
  out.set(payload, headerEnd);
  return out;
}

/** Parses and verifies an artifact; `expectKind` guards against loading the wrong thing. */
export function decodeArtifact(bytes: Uint8Array, expectKind?: string): Artifact {
  const fail = (msg: string): never => {
    throw new MlError('BAD_ARTIFACT', `artifact: ${msg}`);
  };
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC)
    fail('not a Prism artifact (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getUint32(4, true);
  if (8 + headerLen > bytes.length) fail('truncated header');
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Header;
  } catch {
    return fail('header is not valid JSON');
  }
  if (header.format !== 'prism-artifact') fail('header.format is not prism-artifact');
  if (header.version > ARTIFACT_FORMAT_VERSION)
    fail(`version ${header.version} is newer than supported ${ARTIFACT_FORMAT_VERSION}`);
  if (expectKind !== undefined && header.kind !== expectKind)
    fail(`kind "${header.kind}", expected "${expectKind}"`);
  const payload = bytes.subarray(align8(8 + headerLen));
  const sha = createHash('sha256').update(payload).digest('hex');
  if (sha !== header.sha256) fail('checksum mismatch (payload corrupted or truncated)');
  const tensors: TensorMap = {};
  const shapes: Record<string, number[]> = {};
  for (const e of header.tensors) {
    const nbytes = e.length * 4;
    if (e.offset + nbytes > payload.length) fail(`tensor "${e.name}" runs past the payload`);
    // Copy into a fresh aligned buffer: the BLOB may sit at any byte offset. (Not payload.slice: on a
    // Node Buffer — readFileSync, SQLite BLOBs — slice is a view of the whole pooled/parent buffer.)
    const raw = new Uint8Array(payload.subarray(e.offset, e.offset + nbytes));
    tensors[e.name] = e.dtype === 'float32' ? new Float32Array(raw.buffer) : new Int32Array(raw.buffer);
    shapes[e.name] = e.shape;
  }
  return { kind: header.kind, meta: header.meta, tensors, shapes };
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
