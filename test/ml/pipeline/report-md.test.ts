import { describe, expect, it } from 'vitest';
import type { ReproduceReport } from '../../../src/ml/pipeline/report.ts';
import { targetLines } from '../../../src/ml/pipeline/report-md.ts';

/** The fields targetLines reads, around a headline's eras. */
const report = (eras: ReproduceReport['headline']['eras']): ReproduceReport =>
  ({
    fidelity: { 'rbo@30': 0.6, 'kendall@30': 0.4 },
    ms: { embedding: 0.5 },
    sae: { l0_items: 12 },
    concepts: [],
    headline: { popularity: null, eras, concepts_purity20_ge_080: 0 },
  }) as unknown as ReproduceReport;

describe('targetLines: era neurons', () => {
  it('calls the era target not applicable when no item has a release year (Last.FM), not "NOT met"', () => {
    const line = targetLines(report([])).at(-1);
    expect(line).toBe('- era neurons: not applicable (no item among the neurons’ top-50 has a release year)');
  });

  it('still judges the target where there are decades', () => {
    const eras = [
      { decade: 1980, neuron: 16, label: '1980s', decadeShare50: 1 },
      { decade: 1990, neuron: 4, label: '1990s', decadeShare50: 0.5 },
    ];
    expect(targetLines(report(eras)).at(-1)).toBe(
      '- era neurons with ≥ 90 % of their top-50 from one decade: 1980s (#16, 100 %) (target: two decades: NOT met)',
    );
  });
});
