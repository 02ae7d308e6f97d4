import { StoreError } from './errors.ts';
import { nowIso, parseJson } from './json.ts';
import type {
  Db,
  Job,
  JobListFilter,
  JobParams,
  JobRepo,
  JobResult,
  JobStatus,
  JobTimings,
  JobType,
} from './types.ts';

interface JobRow {
  id: number;
  type: JobType;
  params: string;
  status: JobStatus;
  stage: string | null;
  progress: number;
  attempts: number;
  max_attempts: number;
  timings: string;
  result: string | null;
  error: string | null;
  requeues: string;
  cancel_requested: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  heartbeat_at: string | null;
  owner_pid: number | null;
  owner_instance: string | null;
}

const toJob = (r: JobRow): Job => ({
  id: r.id,
  type: r.type,
  params: parseJson<JobParams>(r.params, {}),
  status: r.status,
  stage: r.stage,
  progress: r.progress,
  attempts: r.attempts,
  maxAttempts: r.max_attempts,
  timings: parseJson<JobTimings>(r.timings, {}),
  result: parseJson<JobResult | null>(r.result, null),
  error: r.error,
  requeues: parseJson<string[]>(r.requeues, []),
  cancelRequested: r.cancel_requested === 1,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  heartbeatAt: r.heartbeat_at,
  ownerPid: r.owner_pid,
  ownerInstance: r.owner_instance,
});

export const DEFAULT_MAX_ATTEMPTS = 3;

function whereClause(filter: Omit<JobListFilter, 'limit' | 'offset'>): {
  sql: string;
  args: unknown[];
} {
  const parts: string[] = [];
  const args: unknown[] = [];
  if (filter.status !== undefined) {
    const statuses = Array.isArray(filter.status) ? filter.status : [filter.status];
    parts.push(`status IN (${statuses.map(() => '?').join(', ') || 'NULL'})`);
    args.push(...statuses);
  }
  if (filter.type !== undefined) {
    parts.push('type = ?');
    args.push(filter.type);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
}

/** `process.kill(pid, 0)` probes without signalling; EPERM means it exists but is not ours. */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The host part of an instance id (`host/uuid`, as runners name themselves); null when it has none. */
const hostOf = (instance: string | null): string | null => {
  const slash = instance?.lastIndexOf('/') ?? -1;
  return slash > 0 ? (instance as string).slice(0, slash) : null;
};

/** Whether two instance ids are known to be on the same host. */
const sameHost = (a: string | null, b: string): boolean => {
  const ha = hostOf(a);
  return ha !== null && ha === hostOf(b);
};

/**
 * The row of a single-row `… RETURNING` statement, run with `.all()`: `.get()` stops at the first row, and
 * better-sqlite3 then drops the error of the autocommit that follows (a full disk would answer with a row
 * that was never stored); `.all()` steps the statement to its end, so a failed commit throws.
 */
const firstRow = (rows: unknown[]): unknown => rows[0];

export function createJobRepo(db: Db): JobRepo {
  const insert = db.prepare(
    'INSERT INTO jobs (type, params, max_attempts, created_at) VALUES (?, ?, ?, ?) RETURNING *',
  );
  const selectOne = db.prepare('SELECT * FROM jobs WHERE id = ?');
  const claim = db.prepare(`UPDATE jobs
    SET status = 'running', attempts = attempts + 1, started_at = @now, heartbeat_at = @now,
        finished_at = NULL, owner_pid = @pid, owner_instance = @instance, progress = 0, stage = NULL,
        timings = '{}', error = NULL
    WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1)
    RETURNING *`);
  // `owner` guards (NULL: any owner): a runner that lost a job to another instance must not touch its row.
  const OWNED = '(@owner IS NULL OR owner_instance = @owner)';
  const heartbeatOne = db.prepare(
    `UPDATE jobs SET heartbeat_at = @now WHERE id = @id AND status = 'running' AND ${OWNED}`,
  );
  const cancelQueued = db.prepare(`UPDATE jobs
    SET status = 'cancelled', cancel_requested = 1, finished_at = ?, error = 'cancelled while queued'
    WHERE id = ? AND status = 'queued'`);
  const flagRunning = db.prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = 'running'");
  const deleteOne = db.prepare('DELETE FROM jobs WHERE id = ?');
  const removeFinished = db.transaction((id: number) => {
    const job = get(id);
    if (!job) return 'unknown' as const;
    if (job.status === 'queued' || job.status === 'running') return job.status;
    deleteOne.run(id);
    return 'deleted' as const;
  });
  const finishStmt = db.prepare(`UPDATE jobs
    SET status = @status, result = @result, error = @error, finished_at = @now,
        progress = CASE WHEN @status = 'succeeded' THEN 1 ELSE progress END
    WHERE id = @id AND status IN ('running', 'queued') AND ${OWNED}`);
  const requeueStmt = db.prepare(`UPDATE jobs
    SET status = 'queued', error = @reason, attempts = max(0, attempts - @refund), owner_pid = NULL,
        owner_instance = NULL, heartbeat_at = NULL, started_at = NULL, progress = 0, stage = NULL, timings = '{}'
    WHERE id = @id AND status = 'running' AND ${OWNED}`);
  const selectRunning = db.prepare("SELECT * FROM jobs WHERE status = 'running' ORDER BY id");

  const get = (id: number): Job | null => {
    const row = selectOne.get(id) as JobRow | undefined;
    return row ? toJob(row) : null;
  };
  const mustGet = (id: number): Job => {
    const job = get(id);
    if (!job) throw new StoreError('NOT_FOUND', `job ${id} not found`);
    return job;
  };

  return {
    enqueue(type, params, opts = {}) {
      const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      return toJob(firstRow(insert.all(type, JSON.stringify(params), maxAttempts, nowIso())) as JobRow);
    },
    get,
    list(filter = {}) {
      const { sql, args } = whereClause(filter);
      const rows = db
        .prepare(`SELECT * FROM jobs ${sql} ORDER BY id DESC LIMIT ? OFFSET ?`)
        .all(...args, filter.limit ?? 50, filter.offset ?? 0) as JobRow[];
      return rows.map(toJob);
    },
    count(filter = {}) {
      const { sql, args } = whereClause(filter);
      return db
        .prepare(`SELECT count(*) FROM jobs ${sql}`)
        .pluck()
        .get(...args) as number;
    },
    claimNext(owner) {
      const row = firstRow(claim.all({ now: nowIso(), pid: owner.pid, instance: owner.instanceId })) as
        | JobRow
        | undefined;
      return row ? toJob(row) : null;
    },
    updateProgress(id, update, owner = null) {
      const sets: string[] = ['heartbeat_at = @now'];
      if (update.stage !== undefined) sets.push('stage = @stage');
      if (update.progress !== undefined) sets.push('progress = @progress');
      if (update.timings !== undefined) sets.push('timings = @timings');
      db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = @id AND status = 'running' AND ${OWNED}`).run(
        {
          id,
          owner,
          now: nowIso(),
          stage: update.stage,
          progress: update.progress === undefined ? undefined : Math.min(1, Math.max(0, update.progress)),
          timings: update.timings === undefined ? undefined : JSON.stringify(update.timings),
        },
      );
    },
    heartbeat(ids, owner = null) {
      const now = nowIso();
      db.transaction(() => {
        for (const id of ids) heartbeatOne.run({ now, id, owner });
      })();
    },
    delete: (id) => removeFinished.immediate(id),
    requestCancel(id) {
      const now = nowIso();
      if (cancelQueued.run(now, id).changes === 0) flagRunning.run(id);
      return get(id);
    },
    finish(id, outcome, opts = {}) {
      const changes = finishStmt.run({
        id,
        owner: opts.owner ?? null,
        status: outcome.status,
        now: nowIso(),
        result: 'result' in outcome && outcome.result ? JSON.stringify(outcome.result) : null,
        error: 'error' in outcome ? (outcome.error ?? null) : null,
      }).changes;
      const job = mustGet(id);
      if (changes === 0) {
        throw new StoreError(
          'BAD_STATE',
          `job ${id} is already ${job.status}; cannot mark it ${outcome.status}`,
        );
      }
      return job;
    },
    requeue(id, reason, opts = {}) {
      const owner = opts.owner ?? null;
      if (requeueStmt.run({ id, reason, refund: opts.refundAttempt ? 1 : 0, owner }).changes === 0) {
        throw new StoreError(
          'BAD_STATE',
          `job ${id} is not running${owner === null ? '' : ` under instance ${owner}`}; cannot requeue it`,
        );
      }
      return mustGet(id);
    },
    findInterrupted(owner, opts) {
      const isAlive = opts.isPidAlive ?? isPidAlive;
      const cutoff = Date.now() - opts.staleMs;
      return (selectRunning.all() as JobRow[]).map(toJob).filter((job) => {
        if (job.ownerInstance === owner.instanceId) {
          // Ours by name: interrupted only if this process is not running it (a previous incarnation
          // that reused a fixed instance id), which only the caller knows.
          return opts.isRunningHere !== undefined && !opts.isRunningHere(job.id);
        }
        const stale = job.heartbeatAt === null || Date.parse(job.heartbeatAt) < cutoff;
        // A pid says something only in the pid namespace that issued it: an owner not known to be on this
        // host (another container's, each maybe pid 1; or an id from before ids named their host) is judged
        // by its heartbeat alone.
        if (!sameHost(job.ownerInstance, owner.instanceId)) return stale;
        // Our own pid under another instance id is necessarily a previous incarnation (e.g. pid 1 in
        // a restarted container); a pid that no longer exists cannot be running anything.
        const ownerGone = job.ownerPid === null || job.ownerPid === owner.pid || !isAlive(job.ownerPid);
        return stale || ownerGone;
      });
    },
  };
}
