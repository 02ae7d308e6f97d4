import { Rng } from '../../../src/ml/core/rng.ts';
import type { Csr } from '../../../src/ml/data/types.ts';

/** A small random implicit-feedback matrix with a low-rank-ish structure (users like item groups). */
export function randomCsr(rows: number, cols: number, perRow: number, seed: number): Csr {
  const rng = new Rng(seed);
  const indptr = new Int32Array(rows + 1);
  const all: number[] = [];
  for (let r = 0; r < rows; r++) {
    const group = rng.nextInt(3);
    const set = new Set<number>();
    while (set.size < perRow) {
      const c = rng.nextFloat() < 0.7 ? (group * cols) / 3 + rng.nextInt(cols / 3) : rng.nextInt(cols);
      set.add(Math.floor(c));
    }
    all.push(...[...set].sort((a, b) => a - b));
    indptr[r + 1] = all.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(all) };
}
