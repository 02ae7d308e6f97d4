/**
 * Finite-difference gradient checking, shared by every model's tests.
 *
 * `loss()` recomputes the scalar loss from the current contents of `param`; `analytic` holds the
 * hand-derived gradient of that loss w.r.t. `param`. Central differences in float64 arithmetic over
 * float32 storage, so use losses computed in float64 (plain JS numbers) for tight tolerances.
 */
export interface GradCheckResult {
  maxAbsError: number;
  maxRelError: number;
  checked: number;
  worstIndex: number;
}

export function gradCheck(
  param: Float32Array,
  analytic: ArrayLike<number>,
  loss: () => number,
  opts: { eps?: number; indices?: ArrayLike<number> } = {},
): GradCheckResult {
  const eps = opts.eps ?? 1e-3;
  const indices = opts.indices ?? Array.from({ length: param.length }, (_, i) => i);
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n];
    const orig = param[i];
    param[i] = orig + eps;
    const plus = loss();
    param[i] = orig - eps;
    const minus = loss();
    param[i] = orig;
    // The perturbation actually applied after float32 rounding:
    const h = Math.fround(orig + eps) - Math.fround(orig - eps);
    const numeric = (plus - minus) / h;
    const abs = Math.abs(numeric - analytic[i]);
    const rel = abs / Math.max(1e-6, Math.abs(numeric) + Math.abs(analytic[i]));
    if (abs > maxAbs) {
      maxAbs = abs;
      worst = i;
    }
    if (rel > maxRel) maxRel = rel;
  }
  return { maxAbsError: maxAbs, maxRelError: maxRel, checked: indices.length, worstIndex: worst };
}
