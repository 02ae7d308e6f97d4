import type { Csr } from '../../src/ml/data/types.ts';

/** A CSR matrix from its rows' column lists, as given (not sorted, duplicates kept). */
export function csrFromRows(rows: number[][], cols: number): Csr {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((r, k) => {
    indptr[k + 1] = indptr[k] + r.length;
  });
  return { rows: rows.length, cols, indptr, indices: Int32Array.from(rows.flat()) };
}
