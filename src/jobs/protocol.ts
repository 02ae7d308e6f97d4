/**
 * Messages between the job runner (main thread) and a job's worker thread. Artifacts travel as
 * Uint8Arrays whose buffers are transferred, not copied.
 */

import type { ComputeChoice } from '../ml/nn/dense-kernel.ts';
import type { JobParams, JobTimings, JobType, Metrics, ModelKind, RecommenderKind } from '../store/types.ts';
import type { JobPriority } from './priority.ts';

/** The model version a train-sae / evaluate / label job starts from, with its stored artifacts. */
export interface BaseModelInput {
  id: number;
  kind: ModelKind;
  datasetSpec: string;
  metrics: Metrics;
  /** The version's report as stored (JSON text): it carries the training parameters. */
  reportJson: string | null;
  catalog: Uint8Array;
  recommender: Uint8Array;
  sae: Uint8Array | null;
}

export interface WorkerInput {
  jobId: number;
  type: JobType;
  params: JobParams;
  /** Filled by the main thread for in-memory stores; otherwise the worker reads params.baseModelId. */
  base: BaseModelInput | null;
}

/**
 * What a job produced. `version` describes a new model version (absent for evaluate, which only
 * re-measures `base`); artifacts absent from `artifacts` are reused from the base by sha256.
 */
export interface WorkerOutput {
  version: {
    kind: ModelKind;
    datasetSpec: string;
    datasetName: string;
    recommenderKind: RecommenderKind;
    dim: number;
    latents: number | null;
    nUsers: number;
    nItems: number;
    /** JSON text of NeuronInfo[] / the report, serialised in the worker to spare the main thread. */
    neuronsJson: string | null;
    reportJson: string;
  } | null;
  artifacts: { catalog?: Uint8Array; recommender?: Uint8Array; sae?: Uint8Array };
  metrics: Metrics;
  /** A few headline numbers for the job's result summary. */
  summary: Record<string, unknown>;
  timings: JobTimings;
}

/** The worker's `workerData`: the job, and the shared flag the main thread raises to cancel it. */
export interface WorkerData {
  input: WorkerInput;
  cancelFlag: Int32Array;
  /**
   * When the database is a file, the worker saves the results itself through its own connection, so
   * the main thread never blocks on writing megabytes of artifacts; null = post them back instead.
   */
  commit: { dbPath: string; ownerInstance: string } | null;
  /** CPU priority the worker thread gives itself (priority.ts). */
  priority: JobPriority;
  /** PRISM_JOB_MEMORY_MB: the job's memory budget in MiB; null = what is free when it is checked, 0 = unchecked. */
  memoryMb: number | null;
  /** PRISM_COMPUTE: what the worker's kernel is chosen from (src/ml/pipeline/compute.ts). */
  compute: ComputeChoice;
}

export type ToWorker = { type: 'cancel' };

export type FromWorker =
  | { type: 'progress'; stage: string; progress: number; timings: JobTimings; message?: string }
  | { type: 'done'; output: WorkerOutput }
  | { type: 'committed'; modelId: number | null; activated: boolean }
  | {
      type: 'error';
      message: string;
      code: string | null;
      cancelled: boolean;
      /** An unexpected error's stack, for the server log only (the job's error says "internal error"). */
      detail?: string;
    };
