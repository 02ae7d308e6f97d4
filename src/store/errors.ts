import type { StoreErrorCode } from './types.ts';

/** The error type of src/store; `code` is machine-readable, the server maps it to an HTTP status. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}
