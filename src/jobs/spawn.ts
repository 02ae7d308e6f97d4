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

export function spawnTsWorker(
  entry: URL,
  workerData: unknown,
  transferList: TransferListItem[] = [],
): Worker {
  const bootstrap = `import(${JSON.stringify(tsxApiUrl)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, transferList });
}
