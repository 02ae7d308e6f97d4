import { StoreError } from '../store/errors.ts';
import type { Job, JobOwner, Store } from '../store/types.ts';

export interface RecoveryReport {
  requeued: Job[];
  failed: Job[];
  cancelled: Job[];
}

/**
 * Jobs left `running` by a process that died (another instance id with a dead pid or a stale
 * heartbeat) are requeued while attempts remain, else failed with the reason; a job whose cancel was
 * requested is cancelled. Safe to run from several processes: each transition is guarded by status.
 */
export function recoverInterrupted(
  store: Store,
  owner: JobOwner,
  opts: {
    staleMs: number;
    isPidAlive?: (pid: number) => boolean;
    isRunningHere?: (jobId: number) => boolean;
  },
  onError?: (err: unknown, job: Job) => void,
): RecoveryReport {
  const report: RecoveryReport = { requeued: [], failed: [], cancelled: [] };
  for (const job of store.jobs.findInterrupted(owner, opts)) {
    const who = `instance ${job.ownerInstance ?? '?'} (pid ${job.ownerPid ?? '?'})`;
    const reason = `interrupted: ${who} stopped while running attempt ${job.attempts}/${job.maxAttempts}`;
    // Guarded by the owner seen: a job that changed hands since is not this recovery's to settle.
    const seen = { owner: job.ownerInstance ?? undefined };
    try {
      if (job.cancelRequested) {
        report.cancelled.push(store.jobs.finish(job.id, { status: 'cancelled', error: reason }, seen));
      } else if (job.attempts < job.maxAttempts) {
        report.requeued.push(store.jobs.requeue(job.id, `${reason}; requeued`, seen));
      } else {
        report.failed.push(
          store.jobs.finish(job.id, { status: 'failed', error: `${reason}; no attempts left` }, seen),
        );
      }
    } catch (err) {
      // A StoreError: another process settled or took it first. Anything else (a full disk, a locked
      // database) is worth a line: the job stays running with no one behind it until this succeeds.
      if (!(err instanceof StoreError)) onError?.(err, job);
    }
  }
  return report;
}
