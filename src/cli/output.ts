import { existsSync, mkdirSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MlError } from '../ml/core/errors.ts';

const outError = (dir: string, err: unknown): MlError => {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    dir.trim() === ''
      ? 'is empty'
      : code === 'EEXIST' || code === 'ENOTDIR'
        ? 'is a file, or lies under one (it must be a directory)'
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? `cannot be written (${code})`
          : (err as Error).message;
  return new MlError('BAD_CONFIG', `--out ${dir}: ${why}`, 'out');
};

/**
 * Creates `--out` and proves it writable before any training starts, so a bad path costs nothing.
 * Throws MlError naming --out. Returns an undo for a run that then fails: it removes the directories this
 * call created, if nothing was written into them (a failed run leaves no empty folder behind).
 */
export function prepareOutDir(dir: string): () => void {
  const probe = join(dir, `.prism-probe-${process.pid}`);
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw outError(dir, err);
  }
  return () => {
    if (created === undefined) return;
    // From `dir` up to the first directory created, each only while it is empty.
    for (let d = resolve(dir); ; d = dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        return;
      }
      if (d === resolve(created)) return;
    }
  };
}

/** Runs a command's work with `--out` prepared; when the work fails, the directories made for it go again. */
export async function withOutDir<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const undo = prepareOutDir(dir);
  try {
    return await work();
  } catch (err) {
    undo();
    throw err;
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
