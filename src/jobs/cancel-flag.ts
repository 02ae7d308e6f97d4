import { MlError } from '../ml/core/errors.ts';

/**
 * Cancellation across threads for synchronous code. A worker busy in a training loop never runs its
 * 'message' handlers, so a posted "cancel" would wait for the job to end. Instead the main thread sets
 * a shared Int32 flag, and the worker's AbortSignal reads it whenever the ML code calls
 * `signal.throwIfAborted()` (or reads `signal.aborted`) between steps.
 */
export function createCancelFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

export function raiseCancelFlag(flag: Int32Array): void {
  Atomics.store(flag, 0, 1);
}

/** An AbortSignal that aborts itself once `flag` is raised (checked on every use). */
export function signalFromFlag(flag: Int32Array): { signal: AbortSignal; controller: AbortController } {
  const controller = new AbortController();
  const signal = controller.signal;
  const abortedGetter = Object.getOwnPropertyDescriptor(AbortSignal.prototype, 'aborted')?.get;
  const throwIfAborted = AbortSignal.prototype.throwIfAborted;
  if (!abortedGetter) throw new Error('AbortSignal.prototype.aborted getter not found');
  const sync = () => {
    if (!abortedGetter.call(signal) && Atomics.load(flag, 0) === 1) {
      controller.abort(new MlError('CANCELLED', 'job cancelled'));
    }
  };
  Object.defineProperties(signal, {
    aborted: {
      get() {
        sync();
        return abortedGetter.call(signal) as boolean;
      },
    },
    throwIfAborted: {
      value() {
        sync();
        throwIfAborted.call(signal);
      },
    },
  });
  return { signal, controller };
}
