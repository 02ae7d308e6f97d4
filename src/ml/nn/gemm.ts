/**
 * Small dense matrix products over row-major Float32Array, register-blocked 4×4 (16 accumulators, 8
 * loads per 16 multiply-adds), which V8 runs 2–3× faster than one dot product at a time. Edges that do
 * not fill a 4×4 block fall back to scalar loops. Shapes are in the names: A [n × k] etc.
 */

/** C [n × m] = A [n × k] · Bᵀ (B [m × k]) + bias [m] (bias optional). */
// biome-ignore format: the 4×4 register blocks read best one block row per line
export function gemmABt(
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  n: number,
  m: number,
  k: number,
  bias?: Float32Array,
): void {
  const n4 = n - (n % 4);
  const m4 = m - (m % 4);
  for (let i = 0; i < n4; i += 4) {
    const a0 = i * k;
    const a1 = a0 + k;
    const a2 = a1 + k;
    const a3 = a2 + k;
    for (let j = 0; j < m4; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let t = 0; t < k; t++) {
        const x0 = A[a0 + t];
        const x1 = A[a1 + t];
        const x2 = A[a2 + t];
        const x3 = A[a3 + t];
        const y0 = B[b0 + t];
        const y1 = B[b1 + t];
        const y2 = B[b2 + t];
        const y3 = B[b3 + t];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      const z0 = bias ? bias[j] : 0;
      const z1 = bias ? bias[j + 1] : 0;
      const z2 = bias ? bias[j + 2] : 0;
      const z3 = bias ? bias[j + 3] : 0;
      let o = i * m + j;
      C[o] = c00 + z0; C[o + 1] = c01 + z1; C[o + 2] = c02 + z2; C[o + 3] = c03 + z3;
      o += m;
      C[o] = c10 + z0; C[o + 1] = c11 + z1; C[o + 2] = c12 + z2; C[o + 3] = c13 + z3;
      o += m;
      C[o] = c20 + z0; C[o + 1] = c21 + z1; C[o + 2] = c22 + z2; C[o + 3] = c23 + z3;
      o += m;
      C[o] = c30 + z0; C[o + 1] = c31 + z1; C[o + 2] = c32 + z2; C[o + 3] = c33 + z3;
    }
  }
  // Edges: rows ≥ n4 (all columns) and columns ≥ m4 (rows < n4).
  for (let i = 0; i < n; i++) {
    for (let j = i < n4 ? m4 : 0; j < m; j++) {
      let s = bias ? bias[j] : 0;
      const a = i * k;
      const b = j * k;
      for (let t = 0; t < k; t++) s += A[a + t] * B[b + t];
      C[i * m + j] = s;
    }
  }
}

/** C [m × k] += Aᵀ · B, with A [n × m], B [n × k] (weight gradients: Δᵀ·X). */
// biome-ignore format: the 4×4 register blocks read best one block row per line
export function gemmAtBAdd(A: Float32Array, B: Float32Array, C: Float32Array, n: number, m: number, k: number): void {
  const m4 = m - (m % 4);
  const k4 = k - (k % 4);
  for (let i = 0; i < m4; i += 4) {
    for (let j = 0; j < k4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let t = 0; t < n; t++) {
        const a = t * m + i;
        const b = t * k + j;
        const x0 = A[a];
        const x1 = A[a + 1];
        const x2 = A[a + 2];
        const x3 = A[a + 3];
        const y0 = B[b];
        const y1 = B[b + 1];
        const y2 = B[b + 2];
        const y3 = B[b + 3];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      let o = i * k + j;
      C[o] += c00; C[o + 1] += c01; C[o + 2] += c02; C[o + 3] += c03;
      o += k;
      C[o] += c10; C[o + 1] += c11; C[o + 2] += c12; C[o + 3] += c13;
      o += k;
      C[o] += c20; C[o + 1] += c21; C[o + 2] += c22; C[o + 3] += c23;
      o += k;
      C[o] += c30; C[o + 1] += c31; C[o + 2] += c32; C[o + 3] += c33;
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? k4 : 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += A[t * m + i] * B[t * k + j];
      C[i * k + j] += s;
    }
  }
}

/** C [n × k] = A [n × m] · B [m × k] (input gradients: Δ·W). */
// biome-ignore format: the 4×4 register blocks read best one block row per line
export function gemmAB(A: Float32Array, B: Float32Array, C: Float32Array, n: number, m: number, k: number): void {
  const n4 = n - (n % 4);
  const k4 = k - (k % 4);
  for (let i = 0; i < n4; i += 4) {
    const a0 = i * m;
    const a1 = a0 + m;
    const a2 = a1 + m;
    const a3 = a2 + m;
    for (let j = 0; j < k4; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let t = 0; t < m; t++) {
        const x0 = A[a0 + t];
        const x1 = A[a1 + t];
        const x2 = A[a2 + t];
        const x3 = A[a3 + t];
        const b = t * k + j;
        const y0 = B[b];
        const y1 = B[b + 1];
        const y2 = B[b + 2];
        const y3 = B[b + 3];
        c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
        c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
        c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
        c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
      }
      let o = i * k + j;
      C[o] = c00; C[o + 1] = c01; C[o + 2] = c02; C[o + 3] = c03;
      o += k;
      C[o] = c10; C[o + 1] = c11; C[o + 2] = c12; C[o + 3] = c13;
      o += k;
      C[o] = c20; C[o + 1] = c21; C[o + 2] = c22; C[o + 3] = c23;
      o += k;
      C[o] = c30; C[o + 1] = c31; C[o + 2] = c32; C[o + 3] = c33;
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = i < n4 ? k4 : 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < m; t++) s += A[i * m + t] * B[t * k + j];
      C[i * k + j] = s;
    }
  }
}
