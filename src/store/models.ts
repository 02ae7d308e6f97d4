import type { NeuronInfo } from '../ml/concepts/types.ts';
import { decodeBundle } from './bundle.ts';
import { StoreError } from './errors.ts';
import { nowIso, parseJson } from './json.ts';
import type {
  ArtifactRepo,
  Db,
  Metrics,
  ModelDeletion,
  ModelRepo,
  ModelVersion,
  NewModelVersion,
} from './types.ts';

interface ModelRow {
  id: number;
  kind: ModelVersion['kind'];
  is_active: number;
  created_at: string;
  activated_at: string | null;
  dataset_spec: string;
  dataset_name: string;
  recommender_kind: ModelVersion['recommenderKind'];
  dim: number;
  latents: number | null;
  n_users: number;
  n_items: number;
  metrics: string;
  catalog_sha: string;
  recommender_sha: string;
  sae_sha: string | null;
  job_id: number | null;
  source_job_id: number | null;
  parent_id: number | null;
}

// Everything but the large JSON columns (neurons, report), which have their own getters.
const COLUMNS = `id, kind, is_active, created_at, activated_at, dataset_spec, dataset_name,
  recommender_kind, dim, latents, n_users, n_items, metrics, catalog_sha, recommender_sha, sae_sha,
  job_id, source_job_id, parent_id`;

const toVersion = (r: ModelRow): ModelVersion => ({
  id: r.id,
  kind: r.kind,
  active: r.is_active === 1,
  createdAt: r.created_at,
  activatedAt: r.activated_at,
  datasetSpec: r.dataset_spec,
  datasetName: r.dataset_name,
  recommenderKind: r.recommender_kind,
  dim: r.dim,
  latents: r.latents,
  nUsers: r.n_users,
  nItems: r.n_items,
  metrics: parseJson<Metrics>(r.metrics, {}),
  jobId: r.job_id,
  sourceJobId: r.source_job_id,
  parentId: r.parent_id,
  artifacts: { catalog: r.catalog_sha, recommender: r.recommender_sha, sae: r.sae_sha },
});

export function createModelRepo(db: Db, artifacts: ArtifactRepo): ModelRepo {
  const insert = db.prepare(`INSERT INTO models (kind, created_at, dataset_spec, dataset_name,
      recommender_kind, dim, latents, n_users, n_items, metrics, neurons, report, catalog_sha,
      recommender_sha, sae_sha, job_id, source_job_id, parent_id)
    VALUES (@kind, @createdAt, @datasetSpec, @datasetName, @recommenderKind, @dim, @latents, @nUsers,
      @nItems, @metrics, @neurons, @report, @catalog, @recommender, @sae, @jobId, @jobId, @parentId)`);
  const selectOne = db.prepare(`SELECT ${COLUMNS} FROM models WHERE id = ?`);
  const selectActive = db.prepare(`SELECT ${COLUMNS} FROM models WHERE is_active = 1`);
  const countAll = db.prepare('SELECT count(*) FROM models').pluck();
  const countKind = db.prepare('SELECT count(*) FROM models WHERE kind = @kind').pluck();
  const selectNeurons = db.prepare('SELECT neurons FROM models WHERE id = ?').pluck();
  const selectReport = db.prepare('SELECT report FROM models WHERE id = ?').pluck();
  const deactivateAll = db.prepare('UPDATE models SET is_active = 0 WHERE is_active = 1');
  // A job's activation stands over the jobs enqueued before it; one through the API over every job so far.
  const activateOne = db.prepare(`UPDATE models SET is_active = 1, activated_at = @now,
      intent_job_id = COALESCE(@byJob, (SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0)
    WHERE id = @id`);
  const selectIntent = db
    .prepare('SELECT COALESCE(intent_job_id, source_job_id) FROM models WHERE is_active = 1')
    .pluck();
  const updateMetrics = db.prepare('UPDATE models SET metrics = ? WHERE id = ?');
  const deleteOne = db.prepare('DELETE FROM models WHERE id = ?');
  // Queued or running jobs that will read this version (`baseModelId`): deleting it would fail them.
  const selectDependentJob = db.prepare(`SELECT id, status FROM jobs
    WHERE status IN ('queued', 'running') AND json_extract(params, '$.baseModelId') = ? ORDER BY id LIMIT 1`);
  const artifactInUse = db
    .prepare(
      'SELECT 1 FROM models WHERE catalog_sha = @sha OR recommender_sha = @sha OR sae_sha = @sha LIMIT 1',
    )
    .pluck();
  const deleteArtifact = db.prepare('DELETE FROM artifacts WHERE sha256 = ? RETURNING size').pluck();
  const rebindPolicies = db.prepare('UPDATE policies SET model_id = @to WHERE model_id = @from');
  const selectLatestWithSae = db.prepare(
    `SELECT ${COLUMNS} FROM models WHERE sae_sha = ? ORDER BY is_active DESC, id DESC LIMIT 1`,
  );
  const bumpPolicyRevision = db.prepare("UPDATE counters SET value = value + 1 WHERE name = 'policies'");

  const get = (id: number): ModelVersion | null => {
    const row = selectOne.get(id) as ModelRow | undefined;
    return row ? toVersion(row) : null;
  };
  const mustGet = (id: number): ModelVersion => {
    const v = get(id);
    if (!v) throw new StoreError('NOT_FOUND', `model version ${id} not found`);
    return v;
  };

  const activate = db.transaction((id: number, byJob: number | null = null): ModelVersion => {
    const v = mustGet(id);
    if (v.kind !== 'full') {
      throw new StoreError(
        'NOT_ACTIVATABLE',
        `model version ${id} is a recommender-only version (no SAE); train an SAE on it first`,
      );
    }
    // Activating what is active already through the API is a no-op: it keeps the intent it has (an
    // idempotent "make sure N serves" must not stop every queued job from activating).
    if (v.active && byJob === null) return v;
    deactivateAll.run();
    activateOne.run({ now: nowIso(), byJob, id });
    return mustGet(id);
  });

  const latestWithSae = (sha: string): ModelVersion | null => {
    const row = selectLatestWithSae.get(sha) as ModelRow | undefined;
    return row ? toVersion(row) : null;
  };

  const remove = db.transaction((id: number): ModelDeletion => {
    const v = mustGet(id);
    if (v.active)
      throw new StoreError(
        'CONFLICT',
        `model version ${id} is the active version; activate another one before deleting it`,
      );
    const job = selectDependentJob.get(id) as { id: number; status: string } | undefined;
    if (job)
      throw new StoreError(
        'CONFLICT',
        `model version ${id} is the base model of job ${job.id} (${job.status}); cancel that job or let it finish first`,
      );
    deleteOne.run(id);
    // Policies bound to it (their neuron indices name its SAE's neurons) move to the version that serves
    // the same SAE, as policies saved later on a server still serving it are bound (services/policies.ts).
    const heir = v.artifacts.sae === null ? null : latestWithSae(v.artifacts.sae);
    if (heir && rebindPolicies.run({ to: heir.id, from: id }).changes > 0) bumpPolicyRevision.run();
    // Artifacts are shared by content (versions of one dataset share its catalogue): only orphans go.
    let artifactsDeleted = 0;
    let bytesFreed = 0;
    for (const sha of new Set(Object.values(v.artifacts)))
      if (sha !== null && artifactInUse.get({ sha }) === undefined) {
        const size = deleteArtifact.get(sha) as number | undefined;
        if (size !== undefined) {
          artifactsDeleted++;
          bytesFreed += size;
        }
      }
    return { version: v, artifactsDeleted, bytesFreed };
  });

  return {
    create(input: NewModelVersion) {
      for (const [role, sha] of Object.entries(input.artifacts)) {
        if (sha && !artifacts.info(sha)) {
          throw new StoreError('NOT_FOUND', `model version: ${role} artifact ${sha} is not stored`);
        }
      }
      const info = insert.run({
        kind: input.kind,
        createdAt: nowIso(),
        datasetSpec: input.datasetSpec,
        datasetName: input.datasetName,
        recommenderKind: input.recommenderKind,
        dim: input.dim,
        latents: input.latents ?? null,
        nUsers: input.nUsers,
        nItems: input.nItems,
        metrics: JSON.stringify(input.metrics),
        neurons: input.neuronsJson ?? (input.neurons ? JSON.stringify(input.neurons) : null),
        report: input.reportJson ?? (input.report === undefined ? null : JSON.stringify(input.report)),
        catalog: input.artifacts.catalog,
        recommender: input.artifacts.recommender,
        sae: input.artifacts.sae ?? null,
        jobId: input.jobId ?? null,
        parentId: input.parentId ?? null,
      });
      return mustGet(Number(info.lastInsertRowid));
    },
    get,
    list(filter = {}) {
      const where = filter.kind ? 'WHERE kind = @kind' : '';
      const rows = db
        .prepare(`SELECT ${COLUMNS} FROM models ${where} ORDER BY id DESC LIMIT @limit OFFSET @offset`)
        .all({ kind: filter.kind, limit: filter.limit ?? 50, offset: filter.offset ?? 0 }) as ModelRow[];
      return rows.map(toVersion);
    },
    count(filter = {}) {
      return (filter.kind ? countKind.get({ kind: filter.kind }) : countAll.get()) as number;
    },
    active() {
      const row = selectActive.get() as ModelRow | undefined;
      return row ? toVersion(row) : null;
    },
    activate: (id, byJob) => activate.immediate(id, byJob ?? null),
    activeIntent: () => (selectIntent.get() as number | null | undefined) ?? null,
    delete: (id) => remove.immediate(id),
    latestWithSae,
    neurons(id) {
      mustGet(id);
      return parseJson<NeuronInfo[] | null>(selectNeurons.get(id) as string | null, null);
    },
    report(id) {
      mustGet(id);
      return parseJson<unknown>(selectReport.get(id) as string | null, null);
    },
    reportJson(id) {
      mustGet(id);
      return (selectReport.get(id) as string | null) ?? null;
    },
    loadBundle(id) {
      const v = mustGet(id);
      if (v.kind !== 'full' || !v.artifacts.sae) {
        throw new StoreError('NOT_ACTIVATABLE', `model version ${id} has no SAE; it cannot be served`);
      }
      const neurons = parseJson<NeuronInfo[] | null>(selectNeurons.get(id) as string | null, null);
      return decodeBundle({
        catalog: artifacts.get(v.artifacts.catalog),
        recommender: artifacts.get(v.artifacts.recommender),
        sae: artifacts.get(v.artifacts.sae),
        neurons: neurons ?? [],
      });
    },
    setMetrics(id, metrics) {
      if (updateMetrics.run(JSON.stringify(metrics), id).changes === 0) {
        throw new StoreError('NOT_FOUND', `model version ${id} not found`);
      }
    },
  };
}
