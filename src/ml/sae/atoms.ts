/** Helpers shared by the two places that re-initialise dictionary atoms (train.ts and refine.ts). */

/** Mean ‖w_j‖ over the atoms `keep` accepts; `fallback` when it accepts none. W: [latents × d]. */
export function meanAtomNorm(
  W: Float32Array,
  d: number,
  m: number,
  keep: (j: number) => boolean,
  fallback: number,
): number {
  let sum = 0;
  let count = 0;
  for (let j = 0; j < m; j++) {
    if (!keep(j)) continue;
    let q = 0;
    for (let c = 0; c < d; c++) q += W[j * d + c] ** 2;
    sum += Math.sqrt(q);
    count++;
  }
  return count > 0 ? sum / count : fallback;
}

/**
 * Atom j ← the direction of row r of xh [· × d] (a data point in the SAE's input space), scaled to `norm`,
 * with encoder bias 0: the new neuron fires first on that row and its neighbours.
 */
export function atomFromRow(
  W: Float32Array,
  bEnc: Float32Array,
  j: number,
  xh: Float32Array,
  r: number,
  d: number,
  norm: number,
): void {
  let q = 0;
  for (let c = 0; c < d; c++) q += xh[r * d + c] ** 2;
  const f = norm / Math.sqrt(q || 1);
  for (let c = 0; c < d; c++) W[j * d + c] = xh[r * d + c] * f;
  bEnc[j] = 0;
}
