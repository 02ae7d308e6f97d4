import { dataRootProblem } from '../../jobs/data-root.ts';
import { ApiError } from '../errors.ts';

/**
 * A job request's data must lie under PRISM_DATA_ROOT (`dataRootProblem`); otherwise a 400 naming
 * `field`: an API caller must not be able to make the server read, and serve back, any file it can read.
 */
export function requireUnderDataRoot(data: unknown, root: string | null, field: string): void {
  const problem = dataRootProblem(data, root);
  if (problem) throw new ApiError(400, problem.code, `${field}: ${problem.message}`, field);
}
