import { MlError } from '../core/errors.ts';

/**
 * Top-K selection over a score vector, skipping excluded items (a user's training positives, given as a
 * sorted Int32Array slice). The one kernel shared by evaluation, fidelity, steering and serving.
 * Ties are broken by lower item index so results are deterministic.
 */
export function topKExcluding(
  scores: Float32Array, // [nItems]
  k: number,
  exclude?: Int32Array, // sorted ascending item indices to skip (e.g. csr.indices)
  excludeStart = 0,
  excludeEnd = exclude ? exclude.length : 0,
): Int32Array {
  if (!Number.isInteger(k) || k < 0)
    throw new MlError('BAD_CONFIG', `k must be a non-negative integer, got ${k}`, 'k');
  const n = scores.length;
  const kk = Math.min(k, n);
  const heapIdx = new Int32Array(kk); // min-heap on (score, -index): root is the current worst kept
  const heapVal = new Float32Array(kk);
  let size = 0;
  let ex = excludeStart;
  for (let i = 0; i < n; i++) {
    if (exclude && ex < excludeEnd) {
      while (ex < excludeEnd && exclude[ex] < i) ex++;
      if (ex < excludeEnd && exclude[ex] === i) continue;
    }
    const s = scores[i];
    if (Number.isNaN(s)) continue; // NaN never ranks
    if (size < kk) {
      heapIdx[size] = i;
      heapVal[size] = s;
      siftUp(heapIdx, heapVal, size++);
    } else if (kk > 0 && better(s, i, heapVal[0], heapIdx[0])) {
      heapIdx[0] = i;
      heapVal[0] = s;
      siftDown(heapIdx, heapVal, size);
    }
  }
  // Pop into descending order.
  const out = new Int32Array(size);
  for (let r = size - 1; r >= 0; r--) {
    out[r] = heapIdx[0];
    const last = --size;
    heapIdx[0] = heapIdx[last];
    heapVal[0] = heapVal[last];
    siftDown(heapIdx, heapVal, size);
  }
  return out;
}

/** True when (s, i) ranks above (t, j): higher score first, then lower index. */
function better(s: number, i: number, t: number, j: number): boolean {
  return s > t || (s === t && i < j);
}

function siftUp(idx: Int32Array, val: Float32Array, pos: number): void {
  while (pos > 0) {
    const parent = (pos - 1) >> 1;
    if (!better(val[parent], idx[parent], val[pos], idx[pos])) break;
    swap(idx, val, parent, pos);
    pos = parent;
  }
}

function siftDown(idx: Int32Array, val: Float32Array, size: number): void {
  let pos = 0;
  for (;;) {
    const l = 2 * pos + 1;
    const r = l + 1;
    let worst = pos;
    if (l < size && better(val[worst], idx[worst], val[l], idx[l])) worst = l;
    if (r < size && better(val[worst], idx[worst], val[r], idx[r])) worst = r;
    if (worst === pos) return;
    swap(idx, val, worst, pos);
    pos = worst;
  }
}

function swap(idx: Int32Array, val: Float32Array, a: number, b: number): void {
  const ti = idx[a];
  idx[a] = idx[b];
  idx[b] = ti;
  const tv = val[a];
  val[a] = val[b];
  val[b] = tv;
}
