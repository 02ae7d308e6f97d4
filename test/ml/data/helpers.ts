import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { MlError } from '../../../src/ml/core/errors.ts';

export const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));

/** A throw-away copy of a fixture directory, with some files replaced (removed on teardown). */
export function fixtureVariant(name: string, files: Record<string, string | Buffer | null>): string {
  const dir = mkdtempSync(join(tmpdir(), 'prism-data-'));
  cpSync(fixture(name), dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    if (content === null) rmSync(join(dir, file));
    else writeFileSync(join(dir, file), content);
  }
  made.push(dir);
  return dir;
}

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** Runs fn, expecting an MlError of the given code; returns it for message checks. */
export function expectMlError(fn: () => unknown, code: string): MlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MlError && err.code === code) return err;
    throw new Error(`expected MlError ${code}, got ${String(err)}`);
  }
  throw new Error(`expected MlError ${code}, nothing thrown`);
}

/** The (row, col) pairs of a CSR as "r:c" strings, for readable comparisons. */
export function pairs(csr: { rows: number; indptr: Int32Array; indices: Int32Array }): string[] {
  const out: string[] = [];
  for (let r = 0; r < csr.rows; r++)
    for (let p = csr.indptr[r]; p < csr.indptr[r + 1]; p++) out.push(`${r}:${csr.indices[p]}`);
  return out;
}
