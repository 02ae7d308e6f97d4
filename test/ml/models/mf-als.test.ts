import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/ml/core/rng.ts';
import type { UnobservedWeights } from '../../../src/ml/models/mf/als.ts';
import { AlsWorkspace, computeGramian, objectiveConstant, solveSide } from '../../../src/ml/models/mf/als.ts';
import { rowRegularisation } from '../../../src/ml/models/mf/ials.ts';
import { randomCsr } from './mf-fixture.ts';

const nRows = 12;
const nOther = 15;
const D = 4;
const w1 = 1;

/** Random rows, features, offsets and unobserved weights (varying by column or by row, in (0.1, 0.5)). */
function setup(seed: number, by: 'column' | 'row') {
  const rows = randomCsr(nRows, nOther, 5, seed);
  const rng = new Rng(seed + 1);
  const features = Float64Array.from({ length: nOther * D }, () => rng.normal() * 0.5);
  const offsets = Float32Array.from({ length: nOther }, () => rng.normal() * 0.3);
  const x = Float32Array.from({ length: nRows * D }, () => rng.normal() * 0.5);
  const weights = Float64Array.from(
    { length: by === 'row' ? nRows : nOther },
    () => 0.1 + 0.4 * rng.nextFloat(),
  );
  const unobserved: UnobservedWeights = { by, weights };
  const reg = rowRegularisation(rows, new Float64Array(nRows).fill(3), 0.05, 1);
  return { rows, features, offsets, x, reg, unobserved };
}

const w0 = (s: ReturnType<typeof setup>, u: number, j: number): number =>
  s.unobserved.weights[s.unobserved.by === 'row' ? u : j];

/** Dense reference objective: Σ_rows Σ_j w (p − o − x·f)² + λ_row ‖x‖². */
function denseObjective(s: ReturnType<typeof setup>): number {
  let total = 0;
  for (let u = 0; u < nRows; u++) {
    const pos = new Set(s.rows.indices.subarray(s.rows.indptr[u], s.rows.indptr[u + 1]));
    let n2 = 0;
    for (let a = 0; a < D; a++) n2 += s.x[u * D + a] ** 2;
    total += s.reg[u] * n2;
    for (let j = 0; j < nOther; j++) {
      let dot = 0;
      for (let a = 0; a < D; a++) dot += s.x[u * D + a] * s.features[j * D + a];
      const p = pos.has(j) ? 1 : 0;
      total += (pos.has(j) ? w1 : w0(s, u, j)) * (p - s.offsets[j] - dot) ** 2;
    }
  }
  return total;
}

/** Max |A x − b| over rows, with A, b built densely from the definition. */
function normalResidual(s: ReturnType<typeof setup>): number {
  let worst = 0;
  for (let u = 0; u < nRows; u++) {
    const pos = new Set(s.rows.indices.subarray(s.rows.indptr[u], s.rows.indptr[u + 1]));
    for (let a = 0; a < D; a++) {
      let ax = s.reg[u] * s.x[u * D + a];
      let b = 0;
      for (let j = 0; j < nOther; j++) {
        const w = pos.has(j) ? w1 : w0(s, u, j);
        let dot = 0;
        for (let c = 0; c < D; c++) dot += s.features[j * D + c] * s.x[u * D + c];
        ax += w * s.features[j * D + a] * dot;
        b += w * ((pos.has(j) ? 1 : 0) - s.offsets[j]) * s.features[j * D + a];
      }
      worst = Math.max(worst, Math.abs(ax - b));
    }
  }
  return worst;
}

describe('iALS half-sweep (CG row solves)', () => {
  for (const by of ['column', 'row'] as const) {
    it(`solves each row’s normal equations when given D CG steps (weights by ${by})`, () => {
      const s = setup(1, by);
      const ws = new AlsWorkspace(D);
      computeGramian(s.features, s.offsets, nOther, s.unobserved, ws);
      const before = normalResidual(s);
      solveSide({ ...s, w1, cgSteps: D + 2 }, s.x, ws);
      expect(before).toBeGreaterThan(0.1);
      expect(normalResidual(s)).toBeLessThan(1e-4);
    });

    it(`reports the objective at its starting point and never increases it (weights by ${by})`, () => {
      const s = setup(2, by);
      const ws = new AlsWorkspace(D);
      computeGramian(s.features, s.offsets, nOther, s.unobserved, ws);
      const c = objectiveConstant(s.rows, s.offsets, s.unobserved, w1);
      const losses: number[] = [];
      for (let sweep = 0; sweep < 4; sweep++) {
        const reference = denseObjective(s);
        const reported = solveSide({ ...s, w1, cgSteps: 1 }, s.x, ws) + c;
        expect(reported).toBeCloseTo(reference, 3);
        losses.push(reference);
      }
      for (let k = 1; k < losses.length; k++) expect(losses[k]).toBeLessThan(losses[k - 1]);
    });
  }
});
