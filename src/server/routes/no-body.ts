import { ApiError } from '../errors.ts';

/**
 * For actions that take no body (cancel a job, activate a version, every DELETE): nothing or `{}` is fine, anything
 * else is refused naming its first field, as every other route refuses fields it does not read — a caller
 * sending `{"force": true}` expects it to matter.
 */
export function refuseBody(body: unknown): void {
  if (body === undefined || body === null) return;
  if (typeof body === 'object' && !Array.isArray(body)) {
    const key = Object.keys(body)[0];
    if (key === undefined) return;
    throw new ApiError(
      400,
      'VALIDATION',
      `body.${key} is not a field of this request (it takes no body)`,
      `body.${key}`,
    );
  }
  throw new ApiError(400, 'VALIDATION', 'body must be empty: this request takes no body', 'body');
}
