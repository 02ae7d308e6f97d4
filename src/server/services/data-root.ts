import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { type DataSpec, dataSpecPaths, parseDataSpec } from '../../ml/data/spec.ts';
import { ApiError } from '../errors.ts';

const real = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path); // missing: the job-params check reports it
  }
};

/**
 * Every file or directory a job's data spec reads must lie under PRISM_DATA_ROOT (`root`, already resolved
 * by the configuration), symlinks resolved — the directory a dataset spec names and each file read from
 * it; otherwise a 400 naming `field`. Without a root, a job request may name no files at all (synthetic
 * data only): an API caller must not be able to make the server read, and serve back, any file it can
 * read. A spec that does not parse is left to the job-params check.
 */
export function requireUnderDataRoot(data: unknown, root: string | null, field: string): void {
  if (typeof data !== 'string') return;
  let spec: DataSpec;
  try {
    spec = parseDataSpec(data);
  } catch {
    return;
  }
  const paths = dataSpecPaths(spec);
  if (paths.length === 0) return;
  if (root === null)
    throw new ApiError(
      400,
      'DATA_ROOT_UNSET',
      `${field}: job requests may name dataset files only under PRISM_DATA_ROOT, which is not set (synthetic data needs none)`,
      field,
    );
  for (const path of paths) {
    const rel = relative(root, real(path));
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
      throw new ApiError(400, 'DATA_OUTSIDE_ROOT', `${field}: ${path} is outside PRISM_DATA_ROOT`, field);
  }
}
