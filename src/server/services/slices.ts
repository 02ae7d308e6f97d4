import { setImmediate as nextTurn } from 'node:timers/promises';

/** Longest stretch of work between two event-loop turns while warming a model (ms). */
export const SLICE_MS = 5;

/**
 * Drains `steps` (a generator that yields between small units of work) in slices of about `sliceMs`,
 * giving the event loop a turn between slices so requests keep being served while it runs. Stops
 * (throwing the signal's reason) once `signal` aborts.
 */
export async function runInSlices(
  steps: Iterator<unknown>,
  signal?: AbortSignal,
  sliceMs = SLICE_MS,
): Promise<void> {
  for (;;) {
    signal?.throwIfAborted();
    const until = performance.now() + sliceMs;
    do {
      if (steps.next().done) return;
    } while (performance.now() < until);
    await nextTurn();
  }
}
