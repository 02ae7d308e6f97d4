-- Prism schema v4: the job that produced a version, kept when that job's row is deleted (models.job_id is
-- cleared then, by its foreign key). Concurrent jobs use it to keep the later-enqueued one's activation.
ALTER TABLE models ADD COLUMN source_job_id INTEGER;
UPDATE models SET source_job_id = job_id;
-- A server still on schema v3 (a rolling upgrade) inserts versions without naming the column.
CREATE TRIGGER models_source_job AFTER INSERT ON models
  WHEN NEW.source_job_id IS NULL AND NEW.job_id IS NOT NULL
BEGIN
  UPDATE models SET source_job_id = NEW.job_id WHERE id = NEW.id;
END;
