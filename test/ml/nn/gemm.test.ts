import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/ml/core/rng.ts';
import { gemmAB, gemmABt, gemmAtBAdd } from '../../../src/ml/nn/gemm.ts';

const rand = (n: number, rng: Rng) => new Float32Array(n).map(() => rng.normal());
const at = (a: Float32Array, cols: number, r: number, c: number) => a[r * cols + c];

// Shapes with and without 4-aligned edges.
const shapes = [
  [8, 12, 16],
  [7, 5, 3],
  [1, 1, 1],
  [13, 32, 64],
  [4, 1, 16],
];

describe('blocked gemm kernels match naive products', () => {
  it('gemmABt: C = A·Bᵀ + bias', () => {
    const rng = new Rng(1);
    for (const [n, m, k] of shapes) {
      const A = rand(n * k, rng);
      const B = rand(m * k, rng);
      const bias = rand(m, rng);
      const C = new Float32Array(n * m).fill(Number.NaN);
      gemmABt(A, B, C, n, m, k, bias);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < m; j++) {
          let s = bias[j];
          for (let t = 0; t < k; t++) s += at(A, k, i, t) * at(B, k, j, t);
          expect(at(C, m, i, j)).toBeCloseTo(s, 4);
        }
    }
  });

  it('gemmAtBAdd: C += Aᵀ·B', () => {
    const rng = new Rng(2);
    for (const [n, m, k] of shapes) {
      const A = rand(n * m, rng);
      const B = rand(n * k, rng);
      const C0 = rand(m * k, rng);
      const C = Float32Array.from(C0);
      gemmAtBAdd(A, B, C, n, m, k);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < k; j++) {
          let s = at(C0, k, i, j);
          for (let t = 0; t < n; t++) s += at(A, m, t, i) * at(B, k, t, j);
          expect(at(C, k, i, j)).toBeCloseTo(s, 4);
        }
    }
  });

  it('gemmAB: C = A·B', () => {
    const rng = new Rng(3);
    for (const [n, m, k] of shapes) {
      const A = rand(n * m, rng);
      const B = rand(m * k, rng);
      const C = new Float32Array(n * k).fill(Number.NaN);
      gemmAB(A, B, C, n, m, k);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < k; j++) {
          let s = 0;
          for (let t = 0; t < m; t++) s += at(A, m, i, t) * at(B, k, t, j);
          expect(at(C, k, i, j)).toBeCloseTo(s, 4);
        }
    }
  });
});
