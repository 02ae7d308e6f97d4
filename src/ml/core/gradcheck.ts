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
  /** Elements left out because they sit at a kink (see `kinkEps`). */
  skipped: number;
}

/**
 * With `kinkEps`, each element is also differenced with that step: where the two estimates disagree by
 * more than `kinkTol` (× max(1, |estimate|)) the loss is not smooth there (a ReLU or TopK boundary lies
 * within the step) and the element is skipped and counted. A wrong gradient is still caught: it differs
 * from both estimates, which agree with each other.
 */
export interface GradCheckOptions {
  eps?: number;
  indices?: ArrayLike<number>;
  kinkEps?: number;
  kinkTol?: number;
}

export function gradCheck(
  param: Float32Array,
  analytic: ArrayLike<number>,
  loss: () => number,
  opts: GradCheckOptions = {},
): GradCheckResult {
  const eps = opts.eps ?? 1e-3;
  const indices = opts.indices ?? Array.from({ length: param.length }, (_, i) => i);
  const central = (i: number, step: number): number => {
    const orig = param[i];
    param[i] = orig + step;
    const plus = loss();
    param[i] = orig - step;
    const minus = loss();
    param[i] = orig;
    // The perturbation actually applied after float32 rounding:
    const h = Math.fround(orig + step) - Math.fround(orig - step);
    return (plus - minus) / h;
  };
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let skipped = 0;
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n];
    const numeric = central(i, eps);
    if (opts.kinkEps !== undefined) {
      const other = central(i, opts.kinkEps);
      if (Math.abs(other - numeric) > (opts.kinkTol ?? 1e-3) * Math.max(1, Math.abs(numeric))) {
        skipped++;
        continue;
      }
    }
    const abs = Math.abs(numeric - analytic[i]);
    const rel = abs / Math.max(1e-6, Math.abs(numeric) + Math.abs(analytic[i]));
    if (abs > maxAbs) {
      maxAbs = abs;
      worst = i;
    }
    if (rel > maxRel) maxRel = rel;
  }
  return {
    maxAbsError: maxAbs,
    maxRelError: maxRel,
    checked: indices.length - skipped,
    worstIndex: worst,
    skipped,
  };
}
