import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { fixtureArtifacts, insertFullVersion } from './fixtures.ts';

let store: Store;
beforeEach(() => {
  store = openStore(':memory:');
});
afterEach(() => store.close());

describe('artifacts', () => {
  it('stores bytes once per sha256 and verifies them on read', () => {
    const { recommender } = fixtureArtifacts();
    const a = store.artifacts.put('recommender', recommender);
    const b = store.artifacts.put('recommender', recommender.slice());
    expect(b.sha256).toBe(a.sha256);
    expect(a.size).toBe(recommender.byteLength);
    expect(store.db.prepare('SELECT count(*) FROM artifacts').pluck().get()).toBe(1);
    expect(Buffer.from(store.artifacts.get(a.sha256)).equals(Buffer.from(recommender))).toBe(true);
    // Corrupt the stored BLOB behind the repository's back.
    const bad = Buffer.from(recommender);
    bad[bad.length - 1] ^= 0xff;
    store.db.prepare('UPDATE artifacts SET bytes = ? WHERE sha256 = ?').run(bad, a.sha256);
    expect(() => store.artifacts.get(a.sha256)).toThrow(/CORRUPT|hash/i);
    expect(() => store.artifacts.get('0'.repeat(64))).toThrow(/not found/);
    // Storing the same content again repairs the damaged copy (same hash, so same bytes by definition).
    store.artifacts.put('recommender', recommender);
    expect(Buffer.from(store.artifacts.get(a.sha256)).equals(Buffer.from(recommender))).toBe(true);
    expect(store.db.prepare('SELECT count(*) FROM artifacts').pluck().get()).toBe(1);
  });
});

describe('model versions', () => {
  it('creates, lists newest first, and loads a servable bundle', () => {
    const v1 = insertFullVersion(store, 0);
    const v2 = insertFullVersion(store, 1);
    expect(store.models.list().map((v) => v.id)).toEqual([v2.id, v1.id]);
    expect(v1.metrics).toEqual({ ranking: { hr: 0.1 } });
    expect(store.models.active()).toBeNull();
    const bundle = store.models.loadBundle(v2.id);
    const a = fixtureArtifacts(1);
    expect(bundle.dataset.items.ids).toEqual(a.dataset.items.ids);
    expect(bundle.recommender.kind).toBe('mf');
    expect(bundle.sae.user.config.latents).toBe(a.latents);
    expect(bundle.neurons).toHaveLength(a.latents);
    expect(bundle.popularity.reduce((s, x) => s + x, 0)).toBe(a.dataset.interactions.indices.length);
    expect(store.models.report(v2.id)).toEqual({ seed: 1 });
  });

  it("records what an activation stands over: a job's id, or through the API every job so far", () => {
    const v1 = insertFullVersion(store, 0);
    const v2 = insertFullVersion(store, 1);
    expect(store.models.activeIntent()).toBeNull();
    store.models.activate(v1.id, 7);
    expect(store.models.activeIntent()).toBe(7);
    const j = store.jobs.enqueue('pipeline', {});
    store.models.activate(v2.id);
    expect(store.models.activeIntent()).toBe(j.id);
    // Activating it again (an idempotent "make sure v2 serves") keeps that intent.
    store.jobs.enqueue('pipeline', {});
    store.models.activate(v2.id);
    expect(store.models.activeIntent()).toBe(j.id);
    // A server on schema v5 (rolling upgrade) activates without the column: the deactivation cleared it,
    // so the version's own job stands in, not a stale id.
    store.db.prepare('UPDATE models SET is_active = 0 WHERE is_active = 1').run();
    store.db
      .prepare("UPDATE models SET is_active = 1, activated_at = 'now', source_job_id = 3 WHERE id = ?")
      .run(v1.id);
    expect(store.models.activeIntent()).toBe(3);
  });

  it('keeps exactly one active version; activation is atomic', () => {
    const v1 = insertFullVersion(store, 0);
    const v2 = insertFullVersion(store, 1);
    expect(store.models.activate(v1.id).active).toBe(true);
    expect(store.models.activate(v2.id).active).toBe(true);
    expect(store.models.get(v1.id)?.active).toBe(false);
    expect(store.models.active()?.id).toBe(v2.id);
    // The database itself refuses a second active row.
    expect(() => store.db.prepare('UPDATE models SET is_active = 1 WHERE id = ?').run(v1.id)).toThrow(
      /UNIQUE/,
    );
    // A failing activation leaves the previous one active.
    expect(() => store.models.activate(9999)).toThrow(/not found/);
    expect(store.models.active()?.id).toBe(v2.id);
    // One that fails after the old row was already deactivated is rolled back as a whole.
    store.db.exec(`CREATE TEMP TRIGGER refuse_v1 BEFORE UPDATE OF is_active ON models
      WHEN NEW.is_active = 1 AND NEW.id = ${v1.id} BEGIN SELECT RAISE(ABORT, 'refused by test'); END`);
    try {
      expect(() => store.models.activate(v1.id)).toThrow(/refused by test/);
      expect(store.models.active()?.id).toBe(v2.id);
    } finally {
      store.db.exec('DROP TRIGGER refuse_v1');
    }
  });

  it('records recommender-only versions that reuse artifacts by reference and cannot be activated', () => {
    const full = insertFullVersion(store, 0);
    const rec = store.models.create({
      kind: 'recommender',
      datasetSpec: 'synthetic',
      datasetName: 'synthetic',
      recommenderKind: 'mf',
      dim: full.dim,
      nUsers: full.nUsers,
      nItems: full.nItems,
      metrics: {},
      artifacts: { catalog: full.artifacts.catalog, recommender: full.artifacts.recommender },
      parentId: full.id,
    });
    expect(rec.artifacts.sae).toBeNull();
    expect(store.db.prepare('SELECT count(*) FROM artifacts').pluck().get()).toBe(3);
    expect(() => store.models.activate(rec.id)).toThrow(/recommender-only/);
    expect(() => store.models.loadBundle(rec.id)).toThrow(/no SAE/);
    expect(store.models.list({ kind: 'recommender' }).map((v) => v.id)).toEqual([rec.id]);
    expect(() =>
      store.models.create({ ...rec, kind: 'full', artifacts: { ...rec.artifacts, sae: 'f'.repeat(64) } }),
    ).toThrow(/not stored/);
  });
});

describe('deleting model versions', () => {
  const artifactCount = () => store.db.prepare('SELECT count(*) FROM artifacts').pluck().get();

  it('refuses the active version and one a pending job reads; frees only the artifacts nothing else shares', () => {
    const v1 = insertFullVersion(store, 0);
    const v2 = insertFullVersion(store, 0); // the same bytes: shares all three artifacts with v1
    const v3 = insertFullVersion(store, 1);
    const v4 = insertFullVersion(store, 2);
    store.db.prepare('UPDATE models SET parent_id = ? WHERE id = ?').run(v1.id, v4.id);
    store.models.activate(v3.id);
    expect(artifactCount()).toBe(9);

    expect(() => store.models.delete(v3.id)).toThrow(/active version/);
    const job = store.jobs.enqueue('train-sae', { baseModelId: v1.id });
    expect(() => store.models.delete(v1.id)).toThrow(new RegExp(`base model of job ${job.id} \\(queued\\)`));
    store.jobs.claimNext({ instanceId: 'h/1', pid: 1 });
    expect(() => store.models.delete(v1.id)).toThrow(/\(running\)/);
    store.jobs.finish(job.id, { status: 'failed', error: 'x' });
    expect(store.models.get(v1.id)).not.toBeNull(); // refusals change nothing

    expect(store.models.delete(v1.id)).toMatchObject({ artifactsDeleted: 0, bytesFreed: 0 });
    expect(store.models.get(v1.id)).toBeNull();
    expect(store.models.get(v4.id)?.parentId).toBeNull();
    expect(artifactCount()).toBe(9);

    const sizes = Object.values(v2.artifacts).reduce(
      (s, sha) => s + (store.artifacts.info(sha as string)?.size ?? 0),
      0,
    );
    expect(store.models.delete(v2.id)).toMatchObject({ artifactsDeleted: 3, bytesFreed: sizes });
    expect(sizes).toBeGreaterThan(0);
    expect(artifactCount()).toBe(6);
    for (const sha of Object.values(v2.artifacts)) expect(store.artifacts.info(sha as string)).toBeNull();
    // The others still load.
    expect(store.models.loadBundle(v4.id).sae.user.config.latents).toBeGreaterThan(0);
    expect(store.models.loadBundle(v3.id).dataset.users.ids.length).toBeGreaterThan(0);

    expect(() => store.models.delete(v2.id)).toThrow(/not found/);
  });

  it('moves the policies bound to a deleted version to a remaining one with the same SAE', () => {
    const v1 = insertFullVersion(store, 0);
    const v2 = insertFullVersion(store, 0); // a relabel: same SAE
    const v3 = insertFullVersion(store, 1);
    store.models.activate(v3.id);
    const onV1 = store.policies.create({ name: 'a', policy: {}, modelId: v1.id });
    const onV3 = store.policies.create({ name: 'b', policy: {}, modelId: v3.id });
    const r0 = store.policies.revision();
    store.models.delete(v1.id);
    expect(store.policies.get(onV1.id)).toMatchObject({ modelId: v2.id, version: 1 });
    expect(store.policies.revision()).toBe(r0 + 1); // cached snapshots rebuild
    store.models.activate(v2.id);
    store.models.delete(v3.id); // no other version has its SAE: the binding stays (the service names it)
    expect(store.policies.get(onV3.id)?.modelId).toBe(v3.id);
    expect(store.policies.revision()).toBe(r0 + 1);
  });
});

describe('jobs', () => {
  const owner = { instanceId: 'a', pid: process.pid };

  it('enqueues, claims oldest first (once), and finishes', () => {
    const j1 = store.jobs.enqueue('pipeline', { data: 'synthetic', seed: 1 });
    const j2 = store.jobs.enqueue('evaluate', {}, { maxAttempts: 1 });
    expect(j1.status).toBe('queued');
    expect(j1.params).toEqual({ data: 'synthetic', seed: 1 });
    const c = store.jobs.claimNext(owner);
    expect(c?.id).toBe(j1.id);
    expect(c?.status).toBe('running');
    expect(c?.attempts).toBe(1);
    expect(c?.ownerInstance).toBe('a');
    expect(store.jobs.claimNext(owner)?.id).toBe(j2.id);
    expect(store.jobs.claimNext(owner)).toBeNull();
    store.jobs.updateProgress(j1.id, { stage: 'sae', progress: 0.5, timings: { load: 0.1 } });
    expect(store.jobs.get(j1.id)).toMatchObject({ stage: 'sae', progress: 0.5, timings: { load: 0.1 } });
    const done = store.jobs.finish(j1.id, { status: 'succeeded', result: { modelId: 3 } });
    expect(done).toMatchObject({ status: 'succeeded', progress: 1, result: { modelId: 3 } });
    expect(done.finishedAt).not.toBeNull();
    expect(() => store.jobs.finish(j1.id, { status: 'failed', error: 'x' })).toThrow(/already succeeded/);
  });

  it('deletes finished jobs only; versions they produced stay', () => {
    const job = store.jobs.enqueue('pipeline', { data: 'synthetic' });
    expect(store.jobs.delete(job.id)).toBe('queued');
    store.jobs.claimNext({ instanceId: 'h/1', pid: 1 });
    expect(store.jobs.delete(job.id)).toBe('running');
    expect(store.jobs.get(job.id)?.status).toBe('running');
    const v = insertFullVersion(store, 0);
    store.db.prepare('UPDATE models SET job_id = ? WHERE id = ?').run(job.id, v.id);
    store.jobs.finish(job.id, { status: 'succeeded', result: {} });
    expect(store.jobs.delete(job.id)).toBe('deleted');
    expect(store.jobs.get(job.id)).toBeNull();
    expect(store.models.get(v.id)?.jobId).toBeNull();
    expect(store.jobs.delete(job.id)).toBe('unknown');
  });

  it('lists with filters and pagination', () => {
    for (let i = 0; i < 5; i++) store.jobs.enqueue(i % 2 ? 'evaluate' : 'pipeline', {});
    store.jobs.claimNext(owner);
    expect(store.jobs.list({ type: 'pipeline' }).map((j) => j.id)).toEqual([5, 3, 1]);
    expect(store.jobs.list({ status: 'running' }).map((j) => j.id)).toEqual([1]);
    expect(store.jobs.list({ status: ['queued', 'running'], limit: 2, offset: 1 }).map((j) => j.id)).toEqual([
      4, 3,
    ]);
    expect(store.jobs.count({ status: 'queued' })).toBe(4);
  });

  it('cancels queued jobs at once and flags running ones', () => {
    const q = store.jobs.enqueue('pipeline', {});
    const r = store.jobs.enqueue('pipeline', {});
    store.jobs.requestCancel(q.id);
    expect(store.jobs.get(q.id)?.status).toBe('cancelled');
    expect(store.jobs.claimNext(owner)?.id).toBe(r.id);
    expect(store.jobs.requestCancel(r.id)).toMatchObject({ status: 'running', cancelRequested: true });
    expect(store.jobs.requestCancel(999)).toBeNull();
  });

  it('finds interrupted jobs: other owner with a dead pid (same host) or a stale heartbeat, never our own', () => {
    const j = store.jobs.enqueue('pipeline', {});
    store.jobs.claimNext({ instanceId: 'h/old', pid: 424242 });
    const me = { instanceId: 'h/new', pid: process.pid };
    const alive = () => true;
    expect(store.jobs.findInterrupted(me, { staleMs: 60_000, isPidAlive: alive })).toEqual([]);
    expect(
      store.jobs.findInterrupted(me, { staleMs: 60_000, isPidAlive: () => false }).map((x) => x.id),
    ).toEqual([j.id]);
    store.db.prepare('UPDATE jobs SET heartbeat_at = ?').run(new Date(Date.now() - 120_000).toISOString());
    expect(store.jobs.findInterrupted(me, { staleMs: 60_000, isPidAlive: alive }).map((x) => x.id)).toEqual([
      j.id,
    ]);
    expect(store.jobs.findInterrupted({ instanceId: 'h/old', pid: 1 }, { staleMs: 60_000 })).toEqual([]);
    expect(j.requeues).toEqual([]);
    const back = store.jobs.requeue(j.id, 'interrupted');
    expect(back).toMatchObject({ status: 'queued', error: 'interrupted', attempts: 1, ownerInstance: null });
    // Running again: the reason it was requeued is history, not this run's error.
    expect(store.jobs.claimNext(me)).toMatchObject({
      status: 'running',
      attempts: 2,
      error: null,
      requeues: ['interrupted'],
    });
    store.jobs.requeue(j.id, 'shutting down "now"', { refundAttempt: true });
    expect(store.jobs.claimNext(me)?.requeues).toEqual(['interrupted', 'shutting down "now"']);
    // A server still on schema v4 requeues without naming the column (a rolling upgrade): recorded too.
    store.db.prepare("UPDATE jobs SET status = 'queued', error = ? WHERE id = ?").run('v4 shutdown', j.id);
    expect(store.jobs.get(j.id)?.requeues).toEqual(['interrupted', 'shutting down "now"', 'v4 shutdown']);
    // Only the latest 20 are kept.
    for (let n = 0; n < 25; n++) {
      store.jobs.claimNext(me);
      store.jobs.requeue(j.id, `deploy ${n}`, { refundAttempt: true });
    }
    const kept = store.jobs.get(j.id)?.requeues ?? [];
    expect(kept).toHaveLength(20);
    expect(kept[0]).toBe('deploy 5');
    expect(kept[19]).toBe('deploy 24');
  });
});

describe('policies', () => {
  it('creates, updates with a version counter, enforces unique names, deletes, and bumps the revision', () => {
    const r0 = store.policies.revision();
    const p = store.policies.create({ name: 'no-horror', policy: { action: 'suppress', target: 'Horror' } });
    expect(p).toMatchObject({ name: 'no-horror', enabled: true, version: 1, policy: { action: 'suppress' } });
    expect(() => store.policies.create({ name: 'no-horror', policy: {} })).toThrow(/already exists/);
    expect(store.policies.getByName('no-horror')?.id).toBe(p.id);
    const u = store.policies.update(p.id, { enabled: false });
    expect(u).toMatchObject({ enabled: false, version: 2, policy: { target: 'Horror' } });
    expect(() => store.policies.update(p.id, { enabled: true }, 1)).toThrow(/version 2, not 1/);
    const q = store.policies.create({ name: 'other', policy: {} });
    expect(() => store.policies.update(q.id, { name: 'no-horror' })).toThrow(/already exists/);
    expect(store.policies.list({ enabled: true }).map((x) => x.name)).toEqual(['other']);
    expect(store.policies.list().map((x) => x.name)).toEqual(['no-horror', 'other']);
    expect(store.policies.update(999, { enabled: true })).toBeNull();
    expect(store.policies.delete(p.id)).toBe(true);
    expect(store.policies.delete(p.id)).toBe(false);
    expect(store.policies.get(p.id)).toBeNull();
    expect(store.policies.revision()).toBe(r0 + 4);
  });

  it('an update that changes nothing keeps the version and the revision', () => {
    const p = store.policies.create({ name: 'same', policy: { a: 1 }, enabled: false, modelId: 1 });
    const r0 = store.policies.revision();
    for (const patch of [{}, { enabled: false }, { name: 'same', policy: { a: 1 }, modelId: 1 }])
      expect(store.policies.update(p.id, patch, 1)).toMatchObject({ version: 1, updatedAt: p.updatedAt });
    expect(store.policies.revision()).toBe(r0);
    expect(() => store.policies.update(p.id, {}, 7)).toThrow(/version 1, not 7/); // still checked
    // Re-binding to another model version is a change.
    expect(store.policies.update(p.id, { modelId: 2 })).toMatchObject({ version: 2, modelId: 2 });
    expect(store.policies.revision()).toBe(r0 + 1);
  });
});

describe('a commit that fails', () => {
  // A deferred foreign key fails at COMMIT, after the statement's row came back — as a full disk does.
  const failCommitsAfter = (event: 'INSERT' | 'UPDATE') =>
    store.db.exec(`PRAGMA foreign_keys = ON;
      CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER fail_commit AFTER ${event} ON jobs BEGIN INSERT INTO child VALUES (-1); END;`);

  it('makes enqueue throw instead of returning a job that was never stored', () => {
    failCommitsAfter('INSERT');
    expect(() => store.jobs.enqueue('evaluate', {})).toThrow(/constraint/i);
    expect(store.jobs.count()).toBe(0);
  });

  it('makes claimNext throw instead of handing out a job still queued', () => {
    const job = store.jobs.enqueue('evaluate', {});
    failCommitsAfter('UPDATE');
    expect(() => store.jobs.claimNext({ pid: 1, instanceId: 'test' })).toThrow(/constraint/i);
    expect(store.jobs.get(job.id)?.status).toBe('queued');
  });
});
