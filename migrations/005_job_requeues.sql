-- Prism schema v5: why each earlier attempt of a job ended without finishing (requeued by crash recovery or
-- at a graceful shutdown), oldest first, as a JSON array of strings. `error` holds the latest reason only
-- until the job is claimed again (a claim clears it); this list keeps them all.
ALTER TABLE jobs ADD COLUMN requeues TEXT NOT NULL DEFAULT '[]';
