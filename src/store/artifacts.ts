import { createHash } from 'node:crypto';
import { StoreError } from './errors.ts';
import { nowIso } from './json.ts';
import type { ArtifactInfo, ArtifactKind, ArtifactRepo, Db } from './types.ts';

interface ArtifactRow {
  sha256: string;
  kind: ArtifactKind;
  size: number;
  created_at: string;
}

const toInfo = (r: ArtifactRow): ArtifactInfo => ({
  sha256: r.sha256,
  kind: r.kind,
  size: r.size,
  createdAt: r.created_at,
});

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Content-addressed BLOBs: the same bytes are stored once, whatever references them. */
export function createArtifactRepo(db: Db): ArtifactRepo {
  // Same hash, same content by definition: a stored copy whose bytes differ is damaged and is repaired
  // from the new one (otherwise every later version sharing it would point at bytes that fail to load).
  const insert =
    db.prepare(`INSERT INTO artifacts (sha256, kind, size, bytes, created_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT(sha256) DO UPDATE SET bytes = excluded.bytes, size = excluded.size
    WHERE artifacts.kind = excluded.kind AND (artifacts.size != excluded.size OR artifacts.bytes != excluded.bytes)`);
  const selectInfo = db.prepare('SELECT sha256, kind, size, created_at FROM artifacts WHERE sha256 = ?');
  const selectBytes = db.prepare('SELECT bytes FROM artifacts WHERE sha256 = ?').pluck();

  const info = (sha: string): ArtifactInfo | null => {
    const row = selectInfo.get(sha) as ArtifactRow | undefined;
    return row ? toInfo(row) : null;
  };

  return {
    put(kind, bytes) {
      const sha = sha256Hex(bytes);
      insert.run(
        sha,
        kind,
        bytes.byteLength,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
        nowIso(),
      );
      const stored = info(sha);
      if (!stored) throw new StoreError('BAD_STATE', `artifact ${sha} vanished after insert`);
      if (stored.kind !== kind) {
        throw new StoreError('CONFLICT', `artifact ${sha} is stored as ${stored.kind}, not ${kind}`);
      }
      return stored;
    },
    get(sha) {
      const buf = selectBytes.get(sha) as Buffer | undefined;
      if (!buf) throw new StoreError('NOT_FOUND', `artifact ${sha} not found`);
      const actual = sha256Hex(buf);
      if (actual !== sha) {
        throw new StoreError('CORRUPT_ARTIFACT', `artifact ${sha}: stored bytes hash to ${actual}`);
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    },
    info,
  };
}
