import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { type TransferListItem, Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on a TypeScript module. `execArgv: ['--import', 'tsx']` does not reach the
 * worker's entry module on Node 20 ("Unknown file extension .ts"), so a tiny eval'd bootstrap
 * registers tsx's ESM hooks inside the worker first and then imports the entry.
 */
const tsxApiUrl = pathToFileURL(
  createRequire(import.meta.url)
    .resolve('tsx/esm/api')
    .replace(/index\.cjs$/, 'index.mjs'),
).href;

/**
 * CPU priority of job threads against the HTTP thread:
 * - `idle` (default): Linux SCHED_IDLE through `chrt` (util-linux), falling back to niceness 19. The job
 *   only gets CPU the server leaves idle, and — unlike any niceness — the scheduler treats a core running
 *   only idle-class work as free when it places a waking request thread, so the server is never squeezed
 *   onto a shared core while the job keeps another to itself (measured: during ML-1M training, niceness 10
 *   halved the server's throughput on 2 cores; SCHED_IDLE cost it about a quarter, see bench/serve.ts).
 * - `low`: niceness 10.  - `normal`: as the server.
 */
export type JobPriority = 'idle' | 'low' | 'normal';
export const JOB_PRIORITIES: readonly JobPriority[] = ['idle', 'low', 'normal'];

/** Code run first in the worker: on Linux, setpriority/sched_setscheduler on the thread id affect only it. */
export function priorityPrelude(priority: JobPriority): string {
  const nice = (n: number) => `try { require('node:os').setPriority(0, ${n}); } catch {}`;
  if (priority === 'normal') return '';
  if (priority === 'low') return nice(10);
  return `${nice(19)} try { const tid = require('node:fs').readlinkSync('/proc/thread-self').split('/').pop(); require('node:child_process').execFileSync('chrt', ['--idle', '-p', '0', tid], { stdio: 'ignore', timeout: 2000 }); } catch {}`;
}

export function spawnTsWorker(
  entry: URL,
  workerData: unknown,
  transferList: TransferListItem[] = [],
  priority: JobPriority = 'idle',
): Worker {
  const bootstrap = `${priorityPrelude(priority)} import(${JSON.stringify(tsxApiUrl)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, transferList });
}
