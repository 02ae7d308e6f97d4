import type { Csr } from './types.ts';

/**
 * Builds a CSR from (row, col[, value]) triples with two stable counting sorts (by column, then by
 * row), so rows come out with ascending columns in O(nnz + rows + cols). Duplicate (row, col) pairs
 * collapse into one entry keeping the largest value.
 */
export function buildCsr(
  rows: Int32Array,
  cols: Int32Array,
  nRows: number,
  nCols: number,
  values?: Float32Array,
): Csr {
  const nnz = rows.length;
  // Pass 1: stable sort by column.
  const byCol = countingOrder(cols, nCols, null);
  // Pass 2: stable sort of that order by row → rows, then columns ascending.
  const order = countingOrder(rows, nRows, byCol);
  const indptr = new Int32Array(nRows + 1);
  const indices = new Int32Array(nnz);
  const outValues = values ? new Float32Array(nnz) : undefined;
  let k = 0;
  let prevRow = -1;
  let prevCol = -1;
  for (let t = 0; t < nnz; t++) {
    const e = order[t];
    const r = rows[e];
    const c = cols[e];
    if (r === prevRow && c === prevCol) {
      if (outValues && values && values[e] > outValues[k - 1]) outValues[k - 1] = values[e];
      continue;
    }
    indices[k] = c;
    if (outValues && values) outValues[k] = values[e];
    indptr[r + 1]++;
    prevRow = r;
    prevCol = c;
    k++;
  }
  for (let r = 0; r < nRows; r++) indptr[r + 1] += indptr[r];
  return {
    rows: nRows,
    cols: nCols,
    indptr,
    indices: k === nnz ? indices : indices.slice(0, k),
    values: outValues ? (k === nnz ? outValues : outValues.slice(0, k)) : undefined,
  };
}

/** Stable counting sort of `order` (or 0..n-1) by `keys[order[t]]`. */
function countingOrder(keys: Int32Array, nKeys: number, order: Int32Array | null): Int32Array {
  const n = keys.length;
  const start = new Int32Array(nKeys + 1);
  for (let i = 0; i < n; i++) start[keys[i] + 1]++;
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const out = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const e = order ? order[t] : t;
    out[start[keys[e]]++] = e;
  }
  return out;
}

/** Keeps the given rows and columns (masks of length rows / cols), renumbering both densely. */
export function filterCsr(csr: Csr, keepRows: Uint8Array, keepCols: Uint8Array): Csr {
  const colMap = new Int32Array(csr.cols).fill(-1);
  let nCols = 0;
  for (let c = 0; c < csr.cols; c++) if (keepCols[c]) colMap[c] = nCols++;
  let nRows = 0;
  for (let r = 0; r < csr.rows; r++) if (keepRows[r]) nRows++;
  const indptr = new Int32Array(nRows + 1);
  const indices: number[] = [];
  const values: number[] = [];
  let rr = 0;
  for (let r = 0; r < csr.rows; r++) {
    if (!keepRows[r]) continue;
    for (let p = csr.indptr[r]; p < csr.indptr[r + 1]; p++) {
      const c = colMap[csr.indices[p]];
      if (c < 0) continue;
      indices.push(c);
      if (csr.values) values.push(csr.values[p]);
    }
    indptr[++rr] = indices.length;
  }
  return {
    rows: nRows,
    cols: nCols,
    indptr,
    indices: Int32Array.from(indices),
    values: csr.values ? Float32Array.from(values) : undefined,
  };
}

/** Whether two matrices have the same shape and nonzero pattern (values not compared). */
export function sameSparsity(a: Csr, b: Csr): boolean {
  if (a.rows !== b.rows || a.cols !== b.cols || a.indices.length !== b.indices.length) return false;
  for (let r = 0; r <= a.rows; r++) if (a.indptr[r] !== b.indptr[r]) return false;
  for (let k = 0; k < a.indices.length; k++) if (a.indices[k] !== b.indices[k]) return false;
  return true;
}
