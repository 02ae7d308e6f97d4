import { MlError } from '../ml/core/errors.ts';
import { StoreError } from '../store/errors.ts';
import { CommitRefused } from './commit.ts';
import type { FromWorker } from './protocol.ts';

/**
 * What a worker reports of the error that ended its job. Prism's own errors (MlError, StoreError) keep their message,
 * which names the parameter or file at fault; a failed save says so; any other error is a bug, whose text
 * and stack go to the server log (`detail`) rather than to the job's error, which API callers read.
 */
export function failureMessage(err: unknown, aborted: boolean): Extract<FromWorker, { type: 'error' }> {
  const cancelled =
    aborted ||
    (err instanceof MlError && err.code === 'CANCELLED') ||
    (err instanceof CommitRefused && err.cancelled);
  const why = err instanceof Error ? err.message : String(err);
  const own = err instanceof MlError || err instanceof StoreError; // messages written for the reader
  const saving = err instanceof CommitRefused || (!own && /SQLITE|database/i.test(why));
  const unexpected = !cancelled && !saving && !own;
  return {
    type: 'error',
    message: cancelled
      ? 'cancelled'
      : saving
        ? `saving the job's results failed: ${why}`
        : unexpected
          ? `internal error (${err instanceof Error ? err.name : typeof err}); the server log has the details`
          : why,
    code: own ? err.code : null,
    cancelled,
    detail: unexpected ? (err instanceof Error ? (err.stack ?? why) : why) : undefined,
  };
}
