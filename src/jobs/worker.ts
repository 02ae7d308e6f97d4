/**
 * Worker-thread entry of one job: runs the job's stages (./stages.ts, which call src/ml), posts
 * progress, then saves the results in one transaction through its own SQLite connection (file
 * databases) or posts them back with their buffers transferred (in-memory databases). Cancellation
 * reaches the ML code's signal through a shared flag (./cancel-flag.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MlError } from '../ml/core/errors.ts';
import { openStore } from '../store/index.ts';
import { readBaseModel } from './base.ts';
import { signalFromFlag } from './cancel-flag.ts';
import { commitJobOutput } from './commit.ts';
import { jobMemoryBudget } from './memory-budget.ts';
import { applyThreadPriority, raiseForCommit } from './priority.ts';
import type { FromWorker, ToWorker, WorkerData, WorkerInput, WorkerOutput } from './protocol.ts';
import { runJobStages } from './stages.ts';
import { failureMessage } from './worker-failure.ts';

const port = parentPort;
if (!port) throw new Error('src/jobs/worker.ts must run in a worker thread');

const { input, cancelFlag, commit, priority, memoryMb, compute } = workerData as WorkerData;
applyThreadPriority(priority);
const { signal, controller } = signalFromFlag(cancelFlag);
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'cancel') controller.abort(new MlError('CANCELLED', 'job cancelled'));
});
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

function save(output: WorkerOutput, target: NonNullable<WorkerData['commit']>): FromWorker {
  signal.throwIfAborted();
  if (priority !== 'normal') raiseForCommit();
  const store = openStore(target.dbPath, { migrate: false });
  try {
    const job = {
      id: input.jobId,
      type: input.type,
      params: input.params,
      ownerInstance: target.ownerInstance,
    };
    const { version, activated } = commitJobOutput(store, job, output);
    return { type: 'committed', modelId: version?.id ?? null, activated };
  } finally {
    store.close();
  }
}

/** The base version straight from the database (file stores), sparing the main thread the read. */
function withBase(): WorkerInput {
  const id = input.params.baseModelId;
  if (input.base || id === undefined || !commit) return input;
  const store = openStore(commit.dbPath, { migrate: false });
  try {
    return { ...input, base: readBaseModel(store, id, input.type !== 'train-sae') };
  } finally {
    store.close();
  }
}

try {
  const output = await runJobStages(
    withBase(),
    signal,
    (p) => post({ type: 'progress', ...p }),
    () => jobMemoryBudget(memoryMb),
    compute,
  );
  if (commit) {
    post(save(output, commit));
  } else {
    const transfer = Object.values(output.artifacts)
      .filter((a): a is Uint8Array => a !== undefined)
      .map((a) => a.buffer as ArrayBuffer);
    post({ type: 'done', output }, [...new Set(transfer)]);
  }
} catch (err) {
  post(failureMessage(err, signal.aborted));
} finally {
  port.close();
}
