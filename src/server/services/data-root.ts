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
 * With PRISM_DATA_ROOT set (`root`, already resolved by the configuration), every file or directory a
 * job's data spec names must lie under it, symlinks resolved; otherwise a 400 naming `field`. A spec that
 * does not parse is left to the job-params check.
 */
export function requireUnderDataRoot(data: unknown, root: string, field: string): void {
  if (typeof data !== 'string') return;
  let spec: DataSpec;
  try {
    spec = parseDataSpec(data);
  } catch {
    return;
  }
  for (const path of dataSpecPaths(spec)) {
    const rel = relative(root, real(path));
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
      throw new ApiError(400, 'DATA_OUTSIDE_ROOT', `${field}: ${path} is outside PRISM_DATA_ROOT`, field);
  }
}
