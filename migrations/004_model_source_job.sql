-- Prism schema v4: the job that produced a version, kept when that job's row is deleted (models.job_id is
-- cleared then, by its foreign key). Concurrent jobs use it to keep the later-enqueued one's activation.
ALTER TABLE models ADD COLUMN source_job_id INTEGER;
UPDATE models SET source_job_id = job_id;
