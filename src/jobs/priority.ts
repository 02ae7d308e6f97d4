import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * CPU priority of job threads against the HTTP thread:
 * - `idle`: Linux SCHED_IDLE through `chrt` (util-linux), falling back to niceness 19. The job only gets
 *   CPU the server leaves idle, and — unlike any niceness — the scheduler treats a core running only
 *   idle-class work as free when it places a waking request thread, so the server is never squeezed onto
 *   a shared core while the job keeps another to itself (measured on ML-1M training, 2 cores: niceness 10
 *   let the job take a whole core and halved the server's throughput; SCHED_IDLE cost it about a quarter
 *   and kept its p99). The server's default (PRISM_JOB_PRIORITY).
 * - `low`: niceness 10.
 * - `normal`: as the caller (the job runner's default, so tests and scripts are not starved).
 *
 * On Linux, setpriority and sched_setscheduler on a thread id affect only that thread.
 */
export type JobPriority = 'idle' | 'low' | 'normal';
export const JOB_PRIORITIES: readonly JobPriority[] = ['idle', 'low', 'normal'];

/** Applies `priority` to the calling thread (best effort: a platform without it keeps running as is). */
export function applyThreadPriority(priority: JobPriority): void {
  if (priority === 'normal') return;
  trySetNiceness(priority === 'low' ? 10 : 19);
  if (priority === 'idle') tryChrt('--idle');
}

/**
 * Back to normal scheduling for the moments a job holds SQLite's write lock: an idle-class thread starved
 * mid-transaction would make the server's own writes wait on the lock (priority inversion). Niceness only
 * goes back to 0 with the privilege to raise it (root, CAP_SYS_NICE); otherwise the thread stays at its
 * niceness, which still gets regular CPU slices where SCHED_IDLE may get none.
 */
export function raiseForCommit(): void {
  tryChrt('--other');
  trySetNiceness(0);
}

function trySetNiceness(n: number): void {
  try {
    setPriority(0, n);
  } catch {
    // not permitted or not supported: keep the current niceness
  }
}

function tryChrt(policy: '--idle' | '--other'): void {
  try {
    const tid = readlinkSync('/proc/thread-self').split('/').pop() as string;
    execFileSync('chrt', [policy, '-p', '0', tid], { stdio: 'ignore', timeout: 2000 });
  } catch {
    // not Linux, or no chrt: niceness alone
  }
}
