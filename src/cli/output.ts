import { existsSync, lstatSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MlError } from '../ml/core/errors.ts';

const outError = (dir: string, err: unknown): MlError => {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    dir.trim() === ''
      ? 'is empty'
      : code === 'EEXIST' || code === 'ENOTDIR'
        ? 'is a file, or lies under one (it must be a directory)'
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT'
          ? `cannot be written (${code})`
          : (err as Error).message;
  return new MlError('BAD_CONFIG', `--out ${dir}: ${why}`, 'out');
};

/**
 * Proves `--out` writable before any training starts, so a bad path costs nothing, without creating it:
 * the directory appears only when the outputs are written, so a run that fails or is interrupted (Ctrl-C
 * during training, when no handler could run) leaves no empty folder behind. Probes `dir` itself when it
 * exists, else its nearest existing ancestor. Throws MlError naming --out.
 */
export function checkOutDir(dir: string): void {
  try {
    if (dir.trim() === '') throw new Error('empty');
    // lstat, not exists: a dangling link is not a place to create the directory in.
    let probeDir = resolve(dir);
    while (!lstatSync(probeDir, { throwIfNoEntry: false }) && dirname(probeDir) !== probeDir)
      probeDir = dirname(probeDir);
    if (!statSync(probeDir, { throwIfNoEntry: false })?.isDirectory())
      throw Object.assign(new Error(`${probeDir} is not a directory`), { code: 'ENOTDIR' });
    const probe = join(probeDir, `.prism-probe-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw outError(dir, err);
  }
}

/**
 * Writes every file under `dir` as a whole set: each goes to a temporary name first and all are renamed
 * into place only once every one is written, so an error or an interruption never leaves a truncated
 * file, nor (short of a failing rename) a mix of this run's outputs and an older run's among `files`.
 * Files of an earlier run that this set does not name stay (see `leftoverOutputs`).
 */
export function writeOutputs(dir: string, files: Record<string, string | Uint8Array>): void {
  const staged: [string, string][] = [];
  try {
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      const tmp = `${path}.tmp-${process.pid}`;
      staged.push([tmp, path]);
      writeFileSync(tmp, content);
      // A rename onto a directory would fail after others had been renamed: refuse before any is.
      if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${path} is a directory`);
    }
    for (const [tmp, path] of staged) renameSync(tmp, path);
  } catch (err) {
    for (const [tmp] of staged) rmSync(tmp, { force: true });
    throw outError(dir, err);
  }
}

/**
 * Which of `names` (outputs a command writes only in some modes, and this run did not write) an earlier run
 * left in `dir`: they sit next to the new outputs but do not belong to them.
 */
export function leftoverOutputs(dir: string, names: readonly string[]): string[] {
  return names.filter((n) => existsSync(join(dir, n)));
}
