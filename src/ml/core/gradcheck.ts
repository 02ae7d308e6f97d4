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
  /** Elements left out of the errors because they sit at a kink (see `kinkEps`). */
  skipped: number;
  /**
   * Skipped elements whose analytic value is not between the one-sided differences (a subgradient lies
   * between them): 0 unless the gradient is wrong there too.
   */
  kinkViolations: number;
}

/**
 * With `kinkEps`, each element is also differenced with that step: where the two estimates disagree by
 * more than `kinkTol` (× max(1, |estimate|)) the loss is not smooth there (a ReLU or TopK boundary lies
 * within the step): the element is left out of the errors, counted as skipped, and only checked to lie
 * between the one-sided differences (a violation otherwise). A wrong gradient at a smooth element is still
 * caught: it differs from both estimates, which agree with each other.
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
  /** Loss at ±step in element i, and the step actually applied each way after float32 rounding. */
  const around = (i: number, step: number) => {
    const orig = param[i];
    param[i] = orig + step;
    const plus = loss();
    param[i] = orig - step;
    const minus = loss();
    param[i] = orig;
    return { plus, minus, up: Math.fround(orig + step) - orig, down: orig - Math.fround(orig - step) };
  };
  const central = (d: ReturnType<typeof around>): number => (d.plus - d.minus) / (d.up + d.down);
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let skipped = 0;
  let kinkViolations = 0;
  for (let n = 0; n < indices.length; n++) {
    const i = indices[n];
    const d = around(i, eps);
    const numeric = central(d);
    if (opts.kinkEps !== undefined) {
      const other = central(around(i, opts.kinkEps));
      const tol = (opts.kinkTol ?? 1e-3) * Math.max(1, Math.abs(numeric));
      if (Math.abs(other - numeric) > tol) {
        skipped++;
        // One-sided slopes from the same ±eps losses and the loss at the point itself.
        const at = loss();
        const left = (at - d.minus) / d.down;
        const right = (d.plus - at) / d.up;
        const a = analytic[i];
        if (a < Math.min(left, right) - 10 * tol || a > Math.max(left, right) + 10 * tol) kinkViolations++;
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
    kinkViolations,
  };
}
