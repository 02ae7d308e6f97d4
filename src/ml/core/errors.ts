/**
 * The error type of `src/ml`. `code` is machine-readable; the message names the field, file or line.
 * The server maps codes to HTTP statuses in one place (src/server/errors.ts).
 */
export type MlErrorCode =
  | 'BAD_DATA_SPEC' // a data-source spec that cannot be parsed
  | 'BAD_FILE' // a dataset file with a malformed line, or missing
  | 'BAD_ARTIFACT' // a weights artifact that fails its checksum, version or shape checks
  | 'BAD_CONFIG' // an option out of range
  | 'UNKNOWN_USER'
  | 'UNKNOWN_ITEM'
  | 'UNKNOWN_NEURON'
  | 'UNKNOWN_CONCEPT'
  | 'BAD_POLICY'
  | 'DIVERGED' // training produced NaN or infinite weights (learning rate too high, say)
  | 'OVER_MEMORY_BUDGET' // a job whose estimated memory exceeds what it may use
  | 'CANCELLED';

export class MlError extends Error {
  readonly code: MlErrorCode;
  /** The field, file or parameter the error is about, when there is one. */
  readonly field?: string;

  constructor(code: MlErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'MlError';
    this.code = code;
    this.field = field;
  }
}
