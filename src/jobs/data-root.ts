import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { type DataSpec, dataSpecPaths, parseDataSpec } from '../ml/data/spec.ts';

const real = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path); // missing: the job-params check reports it
  }
};

export interface DataRootProblem {
  code: 'DATA_ROOT_UNSET' | 'DATA_OUTSIDE_ROOT';
  /** Says what is wrong, without the field name. */
  message: string;
}

/**
 * Why a job's data spec may not be read under PRISM_DATA_ROOT (`root`, already resolved), or null when it
 * may: every file or directory it reads — the directory a dataset spec names and each file read from it,
 * symlinks resolved — must lie under the root, and without a root a job may name no files at all
 * (synthetic data only). A spec that does not parse is left to the job-params check.
 */
export function dataRootProblem(data: unknown, root: string | null): DataRootProblem | null {
  const paths = pathsOf(data);
  if (paths.length === 0) return null;
  if (root === null)
    return {
      code: 'DATA_ROOT_UNSET',
      message:
        'job requests may name dataset files only under PRISM_DATA_ROOT, which is not set (synthetic data needs none)',
    };
  for (const path of paths) {
    const rel = relative(root, real(path));
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
      return { code: 'DATA_OUTSIDE_ROOT', message: `${path} is outside PRISM_DATA_ROOT` };
  }
  return null;
}

/** Where a job's data may come from: PRISM_DATA_ROOT (`root`), and the operator's own spec (`exempt`, PRISM_BOOTSTRAP). */
export interface DataConfinement {
  root: string | null;
  exempt: string;
}

/**
 * `dataRootProblem` for a job about to run, except that files the operator's own spec reads (however the
 * job's spec spells them) are allowed wherever they are.
 */
export function confinementProblem(data: unknown, c: DataConfinement): DataRootProblem | null {
  const allowed = new Set(pathsOf(c.exempt).map(real));
  if (pathsOf(data).every((p) => allowed.has(real(p)))) return null;
  return dataRootProblem(data, c.root);
}

/** The files and directories a data spec reads; none for synthetic data or a spec that does not parse. */
function pathsOf(data: unknown): string[] {
  if (typeof data !== 'string') return [];
  let spec: DataSpec;
  try {
    spec = parseDataSpec(data);
  } catch {
    return [];
  }
  return dataSpecPaths(spec);
}
