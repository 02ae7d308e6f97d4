-- Prism schema v6: the job requests an activation stands over. A version activated by a job carries that
-- job's id; one activated through the API (a rollback) the newest job id at that moment, so a job enqueued
-- before it does not take serving back when it finishes later. A job activates its version only when its
-- id is above the active version's intent_job_id (src/jobs/commit.ts).
ALTER TABLE models ADD COLUMN intent_job_id INTEGER;
UPDATE models SET intent_job_id = source_job_id WHERE is_active = 1;
-- Cleared on deactivation by a trigger, so that an activation by a server still on schema v5 (a rolling
-- upgrade), which does not set the column, leaves NULL (read as the version's own job) rather than a stale id.
CREATE TRIGGER models_intent_cleared AFTER UPDATE OF is_active ON models
  WHEN NEW.is_active = 0 AND NEW.intent_job_id IS NOT NULL
BEGIN
  UPDATE models SET intent_job_id = NULL WHERE id = NEW.id;
END;
