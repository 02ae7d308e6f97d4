/**
 * Worker-thread entry of one job: runs the job's stages (./stages.ts, which call src/ml) and posts
 * progress, then the output with its artifact buffers transferred. A 'cancel' message aborts the
 * signal the ML code checks between steps (via a shared flag: see ./cancel-flag.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MlError } from '../ml/core/errors.ts';
import { signalFromFlag } from './cancel-flag.ts';
import type { FromWorker, ToWorker, WorkerData } from './protocol.ts';
import { runJobStages } from './stages.ts';

const port = parentPort;
if (!port) throw new Error('src/jobs/worker.ts must run in a worker thread');

const { input, cancelFlag } = workerData as WorkerData;
const { signal, controller } = signalFromFlag(cancelFlag);
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') controller.abort(new MlError('CANCELLED', 'job cancelled'));
});
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

try {
  const output = await runJobStages(input, signal, (p) => post({ type: 'progress', ...p }));
  const transfer = Object.values(output.artifacts)
    .filter((a): a is Uint8Array => a !== undefined)
    .map((a) => a.buffer as ArrayBuffer);
  post({ type: 'done', output }, [...new Set(transfer)]);
} catch (err) {
  const cancelled = signal.aborted || (err instanceof MlError && err.code === 'CANCELLED');
  post({
    type: 'error',
    message: cancelled ? 'cancelled' : err instanceof Error ? err.message : String(err),
    code: err instanceof MlError ? err.code : null,
    cancelled,
  });
} finally {
  port.close();
}
