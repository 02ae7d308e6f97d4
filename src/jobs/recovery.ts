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
): RecoveryReport {
  const report: RecoveryReport = { requeued: [], failed: [], cancelled: [] };
  for (const job of store.jobs.findInterrupted(owner, opts)) {
    const who = `instance ${job.ownerInstance ?? '?'} (pid ${job.ownerPid ?? '?'})`;
    const reason = `interrupted: ${who} stopped while running attempt ${job.attempts}/${job.maxAttempts}`;
    try {
      if (job.cancelRequested) {
        report.cancelled.push(store.jobs.finish(job.id, { status: 'cancelled', error: reason }));
      } else if (job.attempts < job.maxAttempts) {
        report.requeued.push(store.jobs.requeue(job.id, `${reason}; requeued`));
      } else {
        report.failed.push(
          store.jobs.finish(job.id, { status: 'failed', error: `${reason}; no attempts left` }),
        );
      }
    } catch {
      // Another process recovered it first.
    }
  }
  return report;
}
