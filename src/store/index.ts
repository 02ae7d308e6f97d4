/**
 * Prism's SQLite store: `openStore(path)` opens (or creates) the database, applies the migrations in
 * migrations/ and returns the repositories (see ./types.ts for the contract).
 *
 *   const store = openStore('./var/prism.db');   // ':memory:' for tests
 *   store.jobs.enqueue('pipeline', { data: 'synthetic' });
 *   const bundle = store.models.loadBundle(store.models.active()!.id);
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { createArtifactRepo } from './artifacts.ts';
import { createJobRepo } from './jobs.ts';
import { applyMigrations, readMigrations } from './migrate.ts';
import { createModelRepo } from './models.ts';
import { createPolicyRepo } from './policies.ts';
import type { Store } from './types.ts';

export { sha256Hex } from './artifacts.ts';
export { StoreError } from './errors.ts';
export { isPidAlive } from './jobs.ts';
export { appliedVersions, applyMigrations, readMigrations } from './migrate.ts';
export type * from './types.ts';

export interface OpenStoreOptions {
  /** Folder of NNN_name.sql files; default the repository's migrations/. */
  migrationsDir?: string;
  /** Milliseconds a writer waits for another connection's lock (default 5000). */
  busyTimeoutMs?: number;
  /** Apply pending migrations (default true; a second connection to a migrated file may skip it). */
  migrate?: boolean;
}

export function openStore(path: string, opts: OpenStoreOptions = {}): Store {
  const inMemory = path === ':memory:' || path === '';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // The busy timeout first: switching a fresh file to WAL needs a lock that another process opening it
    // at the same moment (PRISM_PROCESSES) may hold, and without a timeout that is an instant SQLITE_BUSY.
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    if (!inMemory) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    if (opts.migrate !== false) applyMigrations(db, readMigrations(opts.migrationsDir));
  } catch (err) {
    db.close();
    throw err;
  }
  const artifacts = createArtifactRepo(db);
  return {
    db,
    path: inMemory ? ':memory:' : path,
    artifacts,
    models: createModelRepo(db, artifacts),
    jobs: createJobRepo(db),
    policies: createPolicyRepo(db),
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}
