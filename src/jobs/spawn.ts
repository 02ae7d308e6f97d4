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

/** Niceness of job threads (0 = same as the server, 19 = lowest). */
const JOB_NICENESS = 10;

export function spawnTsWorker(
  entry: URL,
  workerData: unknown,
  transferList: TransferListItem[] = [],
): Worker {
  // [SERVER] Jobs run at a lower CPU priority than the HTTP thread (on Linux setpriority on pid 0 affects
  // only the calling thread), so training uses spare cores without raising request latency.
  const lowerPriority = `try { require('node:os').setPriority(0, ${JOB_NICENESS}); } catch {}`;
  const bootstrap = `${lowerPriority} import(${JSON.stringify(tsxApiUrl)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, transferList });
}
