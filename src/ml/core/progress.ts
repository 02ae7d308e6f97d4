/** Progress reported by long computations (training, evaluation). Callbacks must be cheap. */
export interface ProgressEvent {
  stage: string; // e.g. 'recommender', 'sae', 'eval'
  epoch?: number;
  epochs?: number;
  loss?: number;
  /** Fraction of this stage done, 0–1. */
  fraction: number;
  /** Seconds since the stage started. */
  seconds: number;
  message?: string;
}

export type ProgressCallback = (event: ProgressEvent) => void;

/**
 * Thrown-on-request cancellation: long loops call `signal?.throwIfAborted()` between steps
 * (epochs, batches), so jobs can be cancelled without killing the worker.
 */
export type Cancellation = AbortSignal | undefined;
