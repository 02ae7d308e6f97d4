-- Prism schema v1: artifacts (content-addressed BLOBs), model versions, the durable job queue, policies.
-- Timestamps are ISO-8601 UTC text; JSON columns are text.

CREATE TABLE artifacts (
  sha256     TEXT PRIMARY KEY,              -- hex sha256 of `bytes`
  kind       TEXT NOT NULL CHECK (kind IN ('catalog', 'recommender', 'sae')),
  size       INTEGER NOT NULL,
  bytes      BLOB NOT NULL,
  created_at TEXT NOT NULL
);

CREATE TABLE jobs (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  type             TEXT NOT NULL CHECK (type IN ('train-recommender', 'train-sae', 'evaluate', 'label', 'pipeline')),
  params           TEXT NOT NULL DEFAULT '{}',
  status           TEXT NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  stage            TEXT,
  progress         REAL NOT NULL DEFAULT 0,
  attempts         INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  timings          TEXT NOT NULL DEFAULT '{}',
  result           TEXT,
  error            TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_at       TEXT NOT NULL,
  started_at       TEXT,
  finished_at      TEXT,
  heartbeat_at     TEXT,
  owner_pid        INTEGER,
  owner_instance   TEXT
);
CREATE INDEX jobs_queue ON jobs (status, id);
CREATE INDEX jobs_type ON jobs (type, id);

CREATE TABLE models (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  kind             TEXT NOT NULL CHECK (kind IN ('full', 'recommender')),
  is_active        INTEGER NOT NULL DEFAULT 0 CHECK (is_active IN (0, 1)),
  created_at       TEXT NOT NULL,
  activated_at     TEXT,
  dataset_spec     TEXT NOT NULL,
  dataset_name     TEXT NOT NULL,
  recommender_kind TEXT NOT NULL CHECK (recommender_kind IN ('mf', 'ncf')),
  dim              INTEGER NOT NULL,
  latents          INTEGER,
  n_users          INTEGER NOT NULL,
  n_items          INTEGER NOT NULL,
  metrics          TEXT NOT NULL DEFAULT '{}',
  neurons          TEXT,                      -- JSON NeuronInfo[]
  report           TEXT,                      -- JSON pipeline report
  catalog_sha      TEXT NOT NULL REFERENCES artifacts (sha256),
  recommender_sha  TEXT NOT NULL REFERENCES artifacts (sha256),
  sae_sha          TEXT REFERENCES artifacts (sha256),
  job_id           INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
  parent_id        INTEGER REFERENCES models (id) ON DELETE SET NULL,
  CHECK (kind = 'recommender' OR sae_sha IS NOT NULL),
  CHECK (is_active = 0 OR kind = 'full')
);
-- At most one active version: the database itself refuses a second.
CREATE UNIQUE INDEX models_one_active ON models (is_active) WHERE is_active = 1;

CREATE TABLE policies (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  name       TEXT NOT NULL UNIQUE,
  policy     TEXT NOT NULL,                   -- JSON, the [STEER] Policy shape
  enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  version    INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

-- Monotonic counters (e.g. 'policies' revision for cache invalidation).
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('policies', 0);
