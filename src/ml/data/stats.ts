import type { Csr, Dataset } from './types.ts';

/** Users per item (column counts; rows hold no duplicates). [cols] */
export function itemPopularity(train: Csr): Int32Array {
  const pop = new Int32Array(train.cols);
  const idx = train.indices;
  for (let p = 0; p < idx.length; p++) pop[idx[p]]++;
  return pop;
}

/** The transpose (items × users), rows sorted ascending, values carried; a counting sort. */
export function transposeCsr(csr: Csr): Csr {
  const { rows, cols, indptr, indices, values } = csr;
  const outPtr = new Int32Array(cols + 1);
  for (let p = 0; p < indices.length; p++) outPtr[indices[p] + 1]++;
  for (let c = 0; c < cols; c++) outPtr[c + 1] += outPtr[c];
  const next = outPtr.slice(0, cols);
  const outIdx = new Int32Array(indices.length);
  const outVal = values ? new Float32Array(indices.length) : undefined;
  for (let r = 0; r < rows; r++)
    for (let p = indptr[r]; p < indptr[r + 1]; p++) {
      const q = next[indices[p]]++;
      outIdx[q] = r;
      if (outVal && values) outVal[q] = values[p];
    }
  return { rows: cols, cols: rows, indptr: outPtr, indices: outIdx, values: outVal };
}

/** Whether (u, i) is stored; binary search in u's sorted row. */
export function hasInteraction(csr: Csr, u: number, i: number): boolean {
  let lo = csr.indptr[u];
  let hi = csr.indptr[u + 1] - 1;
  const idx = csr.indices;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = idx[mid];
    if (v === i) return true;
    if (v < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export interface DatasetStats {
  name: string;
  users: number;
  items: number;
  interactions: number;
  density: number;
  minUserInteractions: number;
  meanUserInteractions: number;
  itemsWithTags: number;
  itemsWithYear: number;
}

export function datasetStats(d: Dataset): DatasetStats {
  const { rows, cols, indptr, indices } = d.interactions;
  let minU = Number.POSITIVE_INFINITY;
  for (let u = 0; u < rows; u++) minU = Math.min(minU, indptr[u + 1] - indptr[u]);
  return {
    name: d.name,
    users: rows,
    items: cols,
    interactions: indices.length,
    density: indices.length / Math.max(1, rows * cols),
    minUserInteractions: rows === 0 ? 0 : minU,
    meanUserInteractions: indices.length / Math.max(1, rows),
    itemsWithTags: d.itemTags.filter((t) => t.length > 0).length,
    itemsWithYear: d.itemYears.filter((y) => y > 0).length,
  };
}
