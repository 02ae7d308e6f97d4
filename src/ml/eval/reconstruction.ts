/**
 * How well and how sparsely an SAE reconstructs a table of embeddings: x [n × dim], its reconstruction
 * xr [n × dim] and codes z [n × latents].
 */

/** Mean number of active (> 0) latents per row. */
export function meanL0(codes: Float32Array, n: number, latents: number): number {
  if (n === 0) return 0;
  let nz = 0;
  for (let i = 0; i < n * latents; i++) if (codes[i] > 0) nz++;
  return nz / n;
}

/** Latents never active on any row of any of the given code tables. */
export function deadNeurons(latents: number, ...tables: { codes: Float32Array; n: number }[]): number {
  const alive = new Uint8Array(latents);
  for (const { codes, n } of tables)
    for (let r = 0; r < n; r++)
      for (let j = 0; j < latents; j++) if (codes[r * latents + j] > 0) alive[j] = 1;
  let dead = 0;
  for (let j = 0; j < latents; j++) if (!alive[j]) dead++;
  return dead;
}

/** Relative squared error Σ‖x − x̃‖² / Σ‖x‖² (0 = perfect; the paper's port scores 0.88–0.99 on MF items). */
export function relativeSquaredError(x: Float32Array, xr: Float32Array): number {
  let err = 0;
  let tot = 0;
  for (let i = 0; i < x.length; i++) {
    err += (x[i] - xr[i]) ** 2;
    tot += x[i] ** 2;
  }
  return tot > 0 ? err / tot : 0;
}

/** Explained variance 1 − Σ‖x − x̃‖² / Σ‖x − mean‖² (1 = perfect). */
export function explainedVariance(x: Float32Array, xr: Float32Array, n: number, dim: number): number {
  if (n === 0) return 0;
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let c = 0; c < dim; c++) mean[c] += x[r * dim + c] / n;
  let err = 0;
  let tot = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < dim; c++) {
      const i = r * dim + c;
      err += (x[i] - xr[i]) ** 2;
      tot += (x[i] - mean[c]) ** 2;
    }
  }
  return tot > 0 ? 1 - err / tot : 0;
}

export interface ReconstructionReport {
  l0Users: number;
  l0Items: number;
  dead: number;
  /** Neurons active on no item (the monosemanticity score counts them as 0). */
  deadItems: number;
  explainedVarianceUsers: number;
  explainedVarianceItems: number;
  /** Explained variance over users and items together. */
  explainedVariance: number;
  relErrorUsers: number;
  relErrorItems: number;
}

export function reconstructionReport(input: {
  userEmb: Float32Array;
  itemEmb: Float32Array;
  userRecon: Float32Array;
  itemRecon: Float32Array;
  userCodes: Float32Array;
  itemCodes: Float32Array;
  nUsers: number;
  nItems: number;
  dim: number;
  latents: number;
}): ReconstructionReport {
  const { nUsers, nItems, dim, latents } = input;
  const both = (a: Float32Array, b: Float32Array): Float32Array => {
    const out = new Float32Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  return {
    l0Users: meanL0(input.userCodes, nUsers, latents),
    l0Items: meanL0(input.itemCodes, nItems, latents),
    dead: deadNeurons(latents, { codes: input.userCodes, n: nUsers }, { codes: input.itemCodes, n: nItems }),
    deadItems: deadNeurons(latents, { codes: input.itemCodes, n: nItems }),
    explainedVarianceUsers: explainedVariance(input.userEmb, input.userRecon, nUsers, dim),
    explainedVarianceItems: explainedVariance(input.itemEmb, input.itemRecon, nItems, dim),
    explainedVariance: explainedVariance(
      both(input.userEmb, input.itemEmb),
      both(input.userRecon, input.itemRecon),
      nUsers + nItems,
      dim,
    ),
    relErrorUsers: relativeSquaredError(input.userEmb, input.userRecon),
    relErrorItems: relativeSquaredError(input.itemEmb, input.itemRecon),
  };
}
