import { MlError } from '../ml/core/errors.ts';

/**
 * How a command-line program reports the error that ends it: a usage or data error (MlError: a bad flag,
 * a missing file) is one `prefix: message` line and exit code 2; anything else is a bug and keeps its
 * stack (exit code 1). Returns the exit code.
 */
export function reportFailure(prefix: string, err: unknown): number {
  if (err instanceof MlError) {
    process.stderr.write(`${prefix}: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`${prefix}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
