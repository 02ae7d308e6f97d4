-- Prism schema v5: why each earlier attempt of a job ended without finishing (requeued by crash recovery or
-- at a graceful shutdown), oldest first, as a JSON array of strings (the latest 20). `error` holds the
-- latest reason only until the job is claimed again (a claim clears it); this list keeps them.
ALTER TABLE jobs ADD COLUMN requeues TEXT NOT NULL DEFAULT '[]';
-- Appended by a trigger, not by the requeue statement, so that a server still on schema v4 (a rolling
-- upgrade: the old server requeues its job as it shuts down) records its requeues too.
CREATE TRIGGER jobs_requeue_history AFTER UPDATE OF status ON jobs
  WHEN OLD.status = 'running' AND NEW.status = 'queued'
BEGIN
  UPDATE jobs SET requeues = json_insert(
    CASE WHEN json_array_length(requeues) >= 20 THEN json_remove(requeues, '$[0]') ELSE requeues END,
    '$[#]', coalesce(NEW.error, ''))
  WHERE id = NEW.id;
END;
