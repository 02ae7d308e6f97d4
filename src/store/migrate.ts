import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from './errors.ts';
import { nowIso } from './json.ts';
import type { Db } from './types.ts';

/** The repository's migrations folder (migrations/NNN_name.sql). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads `NNN_name.sql` files, ordered by number; duplicate numbers are an error. */
export function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir)) {
    const m = /^(\d+)_(.+)\.sql$/.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2], sql: readFileSync(join(dir, file), 'utf8') });
  }
  out.sort((a, b) => a.version - b.version);
  for (let i = 1; i < out.length; i++) {
    if (out[i].version === out[i - 1].version) {
      throw new StoreError('MIGRATION_FAILED', `migrations: two files numbered ${out[i].version} in ${dir}`);
    }
  }
  return out;
}

/**
 * Applies the migrations not yet recorded in `schema_migrations`, each in its own IMMEDIATE
 * transaction (a failing one rolls back entirely and stops the run). Returns the versions applied.
 */
export function applyMigrations(db: Db, migrations: Migration[] = readMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )`);
  // A database a newer Prism migrated has a schema this code does not know: refuse it rather than run
  // against it (a downgrade must restore a backup).
  const newest = db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null;
  const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  if (newest !== null && newest > known)
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `the database is at schema version ${newest}, newer than this code knows (${known}): it was migrated ` +
        'by a newer Prism; run that version or restore a backup',
    );
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    const apply = db.transaction(() => {
      // Re-checked inside the write lock: another process may have applied it meanwhile.
      if (isApplied.get(m.version)) return false;
      db.exec(m.sql);
      record.run(m.version, m.name, nowIso());
      return true;
    });
    try {
      if (apply.immediate()) applied.push(m.version);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new StoreError(
        'MIGRATION_FAILED',
        `migration ${String(m.version).padStart(3, '0')}_${m.name} failed and was rolled back: ${why}`,
      );
    }
  }
  return applied;
}

export function appliedVersions(db: Db): number[] {
  return db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
}
