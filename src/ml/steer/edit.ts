import type { Sae } from '../sae/types.ts';

/**
 * Writes the edited row. Delta mode: e' = e + s·Wᵀ(z' − z) (only neurons whose activation changed are
 * visited, so an unchanged code returns e bit for bit). Replace mode: e' = s·Wᵀz' + b_pre.
 */
export function writeEdited(
  sae: Sae,
  e: Float32Array, // [dim] original row
  z: Float32Array, // [latents] original code
  zEdited: Float32Array, // [latents]
  mode: 'delta' | 'replace',
  out: Float32Array, // [dim]
): Float32Array {
  const { W, bPre, inputScale } = sae.params;
  const d = sae.config.inputDim;
  const m = sae.config.latents;
  const s = inputScale[0];
  if (mode === 'replace') {
    for (let c = 0; c < d; c++) out[c] = 0;
    for (let j = 0; j < m; j++) {
      const a = zEdited[j];
      if (a === 0) continue;
      const wo = j * d;
      for (let c = 0; c < d; c++) out[c] += a * W[wo + c];
    }
    for (let c = 0; c < d; c++) out[c] = out[c] * s + bPre[c];
    return out;
  }
  if (out !== e) out.set(e.subarray(0, d));
  for (let j = 0; j < m; j++) {
    const diff = zEdited[j] - z[j];
    if (diff === 0) continue;
    const wo = j * d;
    const a = diff * s;
    for (let c = 0; c < d; c++) out[c] += a * W[wo + c];
  }
  return out;
}
