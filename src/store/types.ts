/**
 * Row types and repository interfaces of Prism's SQLite store. The server codes against these; the
 * implementations live beside this file (src/store/*.ts) and are created by `openStore(path)`.
 *
 * Conventions: ids are SQLite integers; timestamps are ISO-8601 strings (UTC); JSON columns are
 * parsed into the typed fields below; artifacts are the binary format of src/ml/artifact/format.ts,
 * stored unchanged and addressed by their sha256 (so versions that share weights share rows).
 */
import type Database from 'better-sqlite3';
import type { ModelBundle } from '../ml/bundle.ts';
import type { NeuronInfo } from '../ml/concepts/types.ts';

export type Db = Database.Database;

// ───────────────────────────── artifacts ─────────────────────────────

/** What an artifact holds. */
export type ArtifactKind = 'catalog' | 'recommender' | 'sae';

export interface ArtifactInfo {
  sha256: string; // hex digest of the whole BLOB
  kind: ArtifactKind;
  size: number; // bytes
  createdAt: string;
}

export interface ArtifactRepo {
  /** Inserts the bytes unless an artifact with the same sha256 exists (dedup); returns its info. */
  put(kind: ArtifactKind, bytes: Uint8Array): ArtifactInfo;
  /** The bytes, after checking their sha256 (throws StoreError('CORRUPT_ARTIFACT') on mismatch). */
  get(sha256: string): Uint8Array;
  info(sha256: string): ArtifactInfo | null;
}

// ───────────────────────────── model versions ─────────────────────────────

/**
 * 'full': a servable bundle (catalogue + recommender + SAE + labelled neurons).
 * 'recommender': a recommender trained alone (train-recommender job); not activatable, but a
 * train-sae job can start from it.
 */
export type ModelKind = 'full' | 'recommender';

export type RecommenderKind = 'mf' | 'ncf';

/** Free-form numeric metrics by section, e.g. { ranking: { hr, ndcg }, sae: { fidelity… } }. */
export type Metrics = Record<string, unknown>;

export interface ModelVersion {
  id: number;
  kind: ModelKind;
  /** Exactly one 'full' version is active at a time (or none before the first pipeline succeeds). */
  active: boolean;
  createdAt: string;
  activatedAt: string | null;
  /** The data spec the catalogue was loaded from, e.g. 'synthetic' or 'movielens-1m:/data/ml-1m'. */
  datasetSpec: string;
  datasetName: string;
  recommenderKind: RecommenderKind;
  dim: number;
  /** SAE width; null for recommender-only versions. */
  latents: number | null;
  nUsers: number;
  nItems: number;
  metrics: Metrics;
  /** The job that produced it (null when inserted directly, e.g. by a test or an import). */
  jobId: number | null; // null once that job's row is deleted
  /** The job that produced it, kept after that job's row is deleted (orders concurrent jobs' activations). */
  sourceJobId: number | null;
  /** The version it was derived from (train-sae / label jobs reuse their parent's artifacts). */
  parentId: number | null;
  artifacts: { catalog: string; recommender: string; sae: string | null };
}

export interface NewModelVersion {
  kind: ModelKind;
  datasetSpec: string;
  datasetName: string;
  recommenderKind: RecommenderKind;
  dim: number;
  latents?: number | null;
  nUsers: number;
  nItems: number;
  metrics: Metrics;
  /** sha256s of artifacts already put in the artifact repo. */
  artifacts: { catalog: string; recommender: string; sae?: string | null };
  neurons?: NeuronInfo[] | null;
  /** The pipeline's report JSON. */
  report?: unknown;
  /** `neurons` / `report` already serialised (a worker thread did it, so the main thread need not). */
  neuronsJson?: string | null;
  reportJson?: string;
  jobId?: number | null;
  parentId?: number | null;
}

export interface ModelListFilter {
  kind?: ModelKind;
  limit?: number; // default 50
  offset?: number;
}

export interface ModelDeletion {
  version: ModelVersion; // as it was
  /** Stored artifacts removed with it (those no remaining version references) and their total size. */
  artifactsDeleted: number;
  bytesFreed: number;
}

export interface ModelRepo {
  create(input: NewModelVersion): ModelVersion;
  get(id: number): ModelVersion | null;
  /** Newest first. */
  list(filter?: ModelListFilter): ModelVersion[];
  /** How many versions `list` would page through. */
  count(filter?: Omit<ModelListFilter, 'limit' | 'offset'>): number;
  active(): ModelVersion | null;
  /**
   * Makes `id` the one active version, in one transaction. Throws StoreError('NOT_FOUND') for an
   * unknown id and StoreError('NOT_ACTIVATABLE') for a recommender-only version. `byJob`: the job whose
   * result this is; without it (the API, a rollback) the activation stands over every job enqueued so far.
   */
  activate(id: number, byJob?: number): ModelVersion;
  /**
   * The newest job whose request the active version's activation stands over (see migrations/006), or
   * null when nothing is active: a job with a higher id may take serving over, one at or below it not.
   */
  activeIntent(): number | null;
  /**
   * Deletes a version and the artifacts no other version shares, in one transaction. Throws
   * StoreError('NOT_FOUND') for an unknown id and StoreError('CONFLICT') for the active version or one a
   * queued or running job reads (`baseModelId`). Versions derived from it keep their own artifacts
   * (their `parentId` becomes null); policies bound to it move to a remaining version with the same SAE,
   * if any. The database file does not shrink: SQLite reuses the freed pages.
   */
  delete(id: number): ModelDeletion;
  /** The version serving SAE artifact `sha`: the active one if it does, else the newest; null when none. */
  latestWithSae(sha: string): ModelVersion | null;
  neurons(id: number): NeuronInfo[] | null;
  report(id: number): unknown;
  /** The report as stored (JSON text), null when there is none. */
  reportJson(id: number): string | null;
  /** Decodes the catalogue, recommender and SAE artifacts and the neurons into a servable bundle. */
  loadBundle(id: number): ModelBundle;
  /** Replaces a version's metrics (evaluate jobs). */
  setMetrics(id: number, metrics: Metrics): void;
}

// ───────────────────────────── jobs ─────────────────────────────

export type JobType = 'train-recommender' | 'train-sae' | 'evaluate' | 'label' | 'pipeline';
export const JOB_TYPES: readonly JobType[] = [
  'train-recommender',
  'train-sae',
  'evaluate',
  'label',
  'pipeline',
];

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** SAE options passed through to the SAE trainer (all optional; defaults are the pipeline's). */
export interface SaeJobOptions {
  latents?: number;
  activation?: 'relu' | 'topk';
  k?: number;
  epochs?: number;
  matryoshka?: number[];
  l1?: number;
  lr?: number;
  shared?: boolean;
}

/**
 * Parameters of every job type (each type reads the ones it needs):
 * - pipeline: data, model, dim, epochs, seed, sae, activate → a new 'full' version
 * - train-recommender: data, model, dim, epochs, seed → a new 'recommender' version
 * - train-sae: baseModelId (a 'recommender' or 'full' version; default the active one), sae, seed,
 *   activate → a new 'full' version reusing the base's catalogue and recommender artifacts
 * - evaluate: baseModelId (default active) → replaces that version's metrics (serving is unchanged)
 * - label: baseModelId (default active) → a new 'full' version with fresh neuron labels, same weights
 */
export interface JobParams {
  data?: string; // data spec; default 'synthetic'
  model?: RecommenderKind; // default 'mf'
  dim?: number;
  epochs?: number;
  seed?: number;
  /** Chosen SAE setting the `sae` options override (default 'concepts'; see src/ml/pipeline/options.ts). */
  setting?: 'concepts' | 'fidelity';
  sae?: SaeJobOptions;
  baseModelId?: number;
  /** Activate the resulting 'full' version on success (pipeline default true, others false). */
  activate?: boolean;
}

/** Seconds spent per stage, e.g. { load: 0.2, recommender: 3.1, sae: 5.4, evaluate: 1.0 }. */
export type JobTimings = Record<string, number>;

/** What a finished job reports (small: the full report stays with the model version). */
export interface JobResult {
  modelId?: number;
  baseModelId?: number;
  activated?: boolean;
  [key: string]: unknown;
}

export interface Job {
  id: number;
  type: JobType;
  params: JobParams;
  status: JobStatus;
  /** Current stage name ('load', 'recommender', 'sae', 'evaluate', 'label', 'save'), null before start. */
  stage: string | null;
  progress: number; // 0–1
  attempts: number; // times it has been claimed
  maxAttempts: number;
  timings: JobTimings;
  result: JobResult | null;
  error: string | null;
  /** Why each earlier attempt ended without finishing (requeued), oldest first, the latest 20; kept across claims. */
  requeues: string[];
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAt: string | null;
  ownerPid: number | null;
  ownerInstance: string | null;
}

export interface JobListFilter {
  status?: JobStatus | JobStatus[];
  type?: JobType;
  limit?: number; // default 50
  offset?: number;
}

export interface JobOwner {
  instanceId: string;
  pid: number;
}

export interface JobRepo {
  enqueue(type: JobType, params: JobParams, opts?: { maxAttempts?: number }): Job;
  get(id: number): Job | null;
  /** Newest first. */
  list(filter?: JobListFilter): Job[];
  count(filter?: Omit<JobListFilter, 'limit' | 'offset'>): number;
  /** Atomically moves the oldest queued job to running for `owner` (attempts += 1). */
  claimNext(owner: JobOwner): Job | null;
  /** Stage/progress/timings update by the owner; also refreshes the heartbeat. */
  /** `owner`: only while this instance still owns the row (a runner that lost the job leaves it alone). */
  updateProgress(
    id: number,
    update: { stage?: string; progress?: number; timings?: JobTimings },
    owner?: string | null,
  ): void;
  heartbeat(ids: number[], owner?: string | null): void;
  /**
   * Queued → cancelled at once; running → cancel_requested = 1 (the runner stops it).
   * Returns the job after the change, null when unknown. Finished jobs are returned unchanged.
   */
  requestCancel(id: number): Job | null;
  finish(
    id: number,
    outcome:
      | { status: 'succeeded'; result: JobResult }
      | { status: 'failed'; error: string; result?: JobResult }
      | { status: 'cancelled'; error?: string },
    /** `owner`: only while that instance still owns the row (else BAD_STATE). */
    opts?: { owner?: string },
  ): Job;
  /**
   * Running → queued (shutdown or crash recovery); the error keeps the reason, the attempt's timings are
   * dropped. `refundAttempt` undoes the claim's attempt count (a graceful shutdown is not the job's
   * fault); `owner`: only while that instance still owns the row (else BAD_STATE).
   */
  requeue(id: number, reason: string, opts?: { refundAttempt?: boolean; owner?: string }): Job;
  /**
   * Deletes a finished job (succeeded, failed or cancelled): 'deleted', 'unknown', or the status of a
   * queued or running one, which is left alone. Versions it produced stay (their `jobId` becomes null;
   * `sourceJobId` keeps it).
   */
  delete(id: number): 'deleted' | 'unknown' | 'queued' | 'running';
  /**
   * Running jobs whose owner is gone: another instance id, and a heartbeat older than `staleMs` or —
   * only for an owner known to be on this host (instance ids are `host/uuid`) — an owner pid that no
   * longer exists (or equals ours: a previous incarnation). An owner on another host, or whose id names
   * none, is judged by its heartbeat alone. Jobs under our own instance id count only when
   * `isRunningHere` says this process is not running them.
   */
  findInterrupted(
    owner: JobOwner,
    opts: {
      staleMs: number;
      isPidAlive?: (pid: number) => boolean;
      isRunningHere?: (jobId: number) => boolean;
    },
  ): Job[];
}

// ───────────────────────────── policies ─────────────────────────────

/**
 * A steering policy. `policy` is the [STEER] `Policy` JSON (src/ml/steer/policy.ts), stored as text;
 * validation against the active model happens in the server before create/update.
 */
export interface PolicyRecord<P = unknown> {
  id: number;
  name: string;
  policy: P;
  enabled: boolean;
  /** Starts at 1, +1 on each update: caches can key on (id, version). */
  version: number;
  /** The model version active when the policy body was last saved (null: saved before schema v2). */
  modelId: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface PolicyRepo {
  /** Throws StoreError('CONFLICT') when the name exists. */
  create<P>(input: { name: string; policy: P; enabled?: boolean; modelId?: number | null }): PolicyRecord<P>;
  get<P = unknown>(id: number): PolicyRecord<P> | null;
  getByName<P = unknown>(name: string): PolicyRecord<P> | null;
  list<P = unknown>(filter?: { enabled?: boolean }): PolicyRecord<P>[];
  /**
   * Partial update; `expectedVersion` (optional) makes it a compare-and-set (StoreError('CONFLICT')
   * on mismatch). Null when unknown.
   */
  update<P>(
    id: number,
    patch: { name?: string; policy?: P; enabled?: boolean; modelId?: number | null },
    expectedVersion?: number,
  ): PolicyRecord<P> | null;
  /** True when a row was deleted. */
  delete(id: number): boolean;
  /** Increases on every create/update/delete: one number to invalidate a compiled-policies cache. */
  revision(): number;
}

// ───────────────────────────── the store ─────────────────────────────

export interface Store {
  db: Db;
  /** The database file (':memory:' for an in-memory store, which other threads cannot open). */
  path: string;
  artifacts: ArtifactRepo;
  models: ModelRepo;
  jobs: JobRepo;
  policies: PolicyRepo;
  /** Runs fn in one IMMEDIATE transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export type StoreErrorCode =
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'NOT_ACTIVATABLE'
  | 'CORRUPT_ARTIFACT'
  | 'MIGRATION_FAILED'
  | 'SCHEMA_TOO_NEW'
  | 'BAD_STATE';
