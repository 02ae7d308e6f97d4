import type { StoreErrorCode } from './types.ts';

/** The error type of src/store; `code` is machine-readable, the server maps it to an HTTP status. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** The input field the error is about (e.g. 'name', 'params.baseModelId'), when there is one. */
  readonly field?: string;

  constructor(code: StoreErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.field = field;
  }
}
