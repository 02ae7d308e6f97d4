import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import { appliedVersions, applyMigrations, readMigrations } from '../../src/store/migrate.ts';

const tables = (db: Database.Database): string[] =>
  db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];

describe('migrations', () => {
  it('applies the repository migrations once; re-running is a no-op', () => {
    const db = new Database(':memory:');
    const first = applyMigrations(db);
    expect(first[0]).toBe(1);
    expect(tables(db)).toEqual(
      expect.arrayContaining(['artifacts', 'jobs', 'models', 'policies', 'schema_migrations']),
    );
    const before = db.prepare('SELECT * FROM schema_migrations').all();
    expect(applyMigrations(db)).toEqual([]);
    expect(db.prepare('SELECT * FROM schema_migrations').all()).toEqual(before);
    db.close();
  });

  it('refuses a database a newer version migrated (a schema this code does not know)', () => {
    const db = new Database(':memory:');
    const known = applyMigrations(db);
    const newest = known[known.length - 1];
    db.prepare(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future', '')",
    ).run(newest + 1);
    expect(() => applyMigrations(db)).toThrow(
      new RegExp(`schema version ${newest + 1}, newer than this code knows`),
    );
    db.close();
  });

  it('rolls back a broken migration entirely and keeps the earlier ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-mig-'));
    writeFileSync(join(dir, '001_a.sql'), 'CREATE TABLE a (x INTEGER);');
    writeFileSync(
      join(dir, '002_broken.sql'),
      'CREATE TABLE b (x INTEGER);\nINSERT INTO nowhere VALUES (1);',
    );
    writeFileSync(join(dir, 'README.txt'), 'not a migration');
    const db = new Database(':memory:');
    expect(() => applyMigrations(db, readMigrations(dir))).toThrow(/002_broken.*rolled back.*nowhere/);
    expect(appliedVersions(db)).toEqual([1]);
    expect(tables(db)).toContain('a');
    expect(tables(db)).not.toContain('b');
    // Fixed, it applies on the next run, and only it.
    writeFileSync(join(dir, '002_broken.sql'), 'CREATE TABLE b (x INTEGER);');
    expect(applyMigrations(db, readMigrations(dir))).toEqual([2]);
    expect(tables(db)).toContain('b');
    db.close();
  });

  it('orders by number, not by name, and refuses duplicate numbers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-mig-'));
    writeFileSync(join(dir, '10_later.sql'), 'ALTER TABLE t ADD COLUMN y INTEGER;');
    writeFileSync(join(dir, '9_first.sql'), 'CREATE TABLE t (x INTEGER);');
    expect(readMigrations(dir).map((m) => m.version)).toEqual([9, 10]);
    const db = new Database(':memory:');
    expect(applyMigrations(db, readMigrations(dir))).toEqual([9, 10]);
    writeFileSync(join(dir, '010_dup.sql'), 'SELECT 1;');
    expect(() => readMigrations(dir)).toThrow(/two files numbered 10/);
  });

  it('opens a file database in WAL mode with foreign keys on, and reopens without re-applying', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'prism-db-')), 'sub', 'prism.db');
    const s1 = openStore(path);
    expect(s1.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s1.db.pragma('foreign_keys', { simple: true })).toBe(1);
    s1.jobs.enqueue('pipeline', { data: 'synthetic' });
    s1.close();
    const s2 = openStore(path);
    expect(s2.jobs.count()).toBe(1);
    expect(appliedVersions(s2.db)).toEqual(readMigrations().map((m) => m.version));
    s2.close();
  });

  it('binds policies saved before schema v2 to the version active at the upgrade', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'prism-db-')), 'v1.db');
    const v1 = new Database(path);
    applyMigrations(
      v1,
      readMigrations().filter((m) => m.version === 1),
    );
    v1.exec(`
      INSERT INTO artifacts (sha256, kind, size, bytes, created_at) VALUES
        ('c', 'catalog', 1, x'00', ''), ('r', 'recommender', 1, x'00', ''), ('s', 'sae', 1, x'00', '');
      INSERT INTO models (kind, is_active, created_at, dataset_spec, dataset_name, recommender_kind, dim,
        n_users, n_items, catalog_sha, recommender_sha, sae_sha)
        VALUES ('full', 0, '', 'synthetic', 'synthetic', 'mf', 4, 1, 1, 'c', 'r', 's'),
               ('full', 1, '', 'synthetic', 'synthetic', 'mf', 4, 1, 1, 'c', 'r', 's');
      INSERT INTO policies (name, policy, created_at, updated_at) VALUES ('old', '{"kind":"edit"}', '', '');
    `);
    v1.close();
    const store = openStore(path);
    expect(store.policies.getByName('old')?.modelId).toBe(2);
    store.close();
  });

  it('keeps the producing job of versions from before schema v4 (their ordering outlives the job row)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'prism-db-')), 'v3.db');
    const v3 = new Database(path);
    applyMigrations(
      v3,
      readMigrations().filter((m) => m.version <= 3),
    );
    v3.exec(`
      INSERT INTO artifacts (sha256, kind, size, bytes, created_at) VALUES
        ('c', 'catalog', 1, x'00', ''), ('r', 'recommender', 1, x'00', ''), ('s', 'sae', 1, x'00', '');
      INSERT INTO jobs (type, created_at, status) VALUES ('pipeline', '', 'succeeded');
      INSERT INTO models (kind, created_at, dataset_spec, dataset_name, recommender_kind, dim, n_users,
        n_items, catalog_sha, recommender_sha, sae_sha, job_id)
        VALUES ('full', '', 'synthetic', 'synthetic', 'mf', 4, 1, 1, 'c', 'r', 's', 1),
               ('full', '', 'synthetic', 'synthetic', 'mf', 4, 1, 1, 'c', 'r', 's', NULL);
    `);
    v3.close();
    const store = openStore(path);
    expect(store.models.get(1)).toMatchObject({ jobId: 1, sourceJobId: 1 });
    expect(store.models.get(2)).toMatchObject({ jobId: null, sourceJobId: null });
    expect(store.jobs.delete(1)).toBe('deleted');
    expect(store.models.get(1)).toMatchObject({ jobId: null, sourceJobId: 1 });
    // A server still on schema v3 (a rolling upgrade) inserts without naming the column: filled all the same.
    store.db.exec(`
      INSERT INTO jobs (type, created_at, status) VALUES ('pipeline', '', 'succeeded');
      INSERT INTO models (kind, created_at, dataset_spec, dataset_name, recommender_kind, dim, n_users,
        n_items, catalog_sha, recommender_sha, sae_sha, job_id)
        VALUES ('full', '', 'synthetic', 'synthetic', 'mf', 4, 1, 1, 'c', 'r', 's', 2);
    `);
    expect(store.models.get(3)).toMatchObject({ jobId: 2, sourceJobId: 2 });
    store.close();
  });
});
