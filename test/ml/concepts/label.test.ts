import { describe, expect, it } from 'vitest';
import { labelNeuron, minShareFor, type NeuronEvidence } from '../../../src/ml/concepts/label.ts';

const neutral: NeuronEvidence = {
  concept: null,
  decade: 1990,
  decadeShare50: 0.5,
  decadeBaseRate: 0.5,
  popPct50: 40,
  listed: 50,
};

describe('labelling rule', () => {
  it('the required share grows with the base rate', () => {
    expect(minShareFor(0.05)).toBe(0.6);
    expect(minShareFor(0.4)).toBeCloseTo(0.7, 12);
    expect(minShareFor(0.63)).toBeCloseTo(0.815, 12);
  });

  it('a share exactly at the threshold passes (12 of 20 against 0.6 computed in floating point)', () => {
    expect(minShareFor(0.2)).toBeGreaterThan(0.6); // 0.6000000000000001
    const l = labelNeuron({
      ...neutral,
      concept: { tag: 'Drama', purity10: 0.6, purity20: 12 / 20, purity50: 0.5, baseRate: 0.2 },
    });
    expect(l).toMatchObject({ label: 'Drama', kind: 'concept' });
  });

  it('says over how many items a short list was measured, and why a users-only neuron has no label', () => {
    const short = labelNeuron({ ...neutral, popPct50: 2, listed: 30 });
    expect(short.label).toBe('popular');
    expect(short.evidence).toContain('only 30 items');
    expect(labelNeuron({ ...neutral, listed: 0, decade: null }).evidence).toBe(
      'Unlabelled: active on users only, on no item.',
    );
  });

  it('labels a pure rare concept', () => {
    const l = labelNeuron({
      ...neutral,
      concept: { tag: 'Horror', purity10: 1, purity20: 0.95, purity50: 0.8, baseRate: 0.09 },
    });
    expect(l).toMatchObject({ label: 'Horror', kind: 'concept', concept: 'Horror' });
    expect(l.evidence).toContain('0.95');
  });

  it('does not accept a common tag at a purity near its base rate', () => {
    const l = labelNeuron({
      ...neutral,
      concept: { tag: 'Drama', purity10: 0.7, purity20: 0.65, purity50: 0.66, baseRate: 0.4 },
    });
    expect(l.kind).toBe('unlabelled');
    expect(l.label).toBe('');
    expect(l.evidence).toContain('Drama');
  });

  it('judges purity@20: a short but pure list passes, a rare tag below 0.6 does not', () => {
    const short = labelNeuron({
      ...neutral,
      concept: { tag: 'War', purity10: 1, purity20: 0.9, purity50: 0.4, baseRate: 0.04 },
    });
    expect(short.label).toBe('War');
    const weak = labelNeuron({
      ...neutral,
      concept: { tag: 'War', purity10: 1, purity20: 0.55, purity50: 0.5, baseRate: 0.04 },
    });
    expect(weak.kind).toBe('unlabelled');
  });

  it('combines era and concept ("1990s Action")', () => {
    const l = labelNeuron({
      concept: { tag: 'Action', purity10: 0.9, purity20: 0.85, purity50: 0.7, baseRate: 0.13 },
      decade: 1990,
      decadeShare50: 0.95,
      decadeBaseRate: 0.63,
      popPct50: 30,
      listed: 50,
    });
    expect(l).toMatchObject({ label: '1990s Action', kind: 'combined', concept: 'Action' });
  });

  it('era alone, and an era share below its threshold is ignored', () => {
    expect(
      labelNeuron({ ...neutral, decade: 1950, decadeShare50: 0.92, decadeBaseRate: 0.05 }),
    ).toMatchObject({
      label: '1950s',
      kind: 'era',
      concept: null,
    });
    expect(labelNeuron({ ...neutral, decade: 1990, decadeShare50: 0.8, decadeBaseRate: 0.63 }).kind).toBe(
      'unlabelled',
    );
  });

  it('popularity bands', () => {
    expect(labelNeuron({ ...neutral, popPct50: 1.2 })).toMatchObject({
      label: 'popular',
      kind: 'popularity',
    });
    expect(labelNeuron({ ...neutral, popPct50: 85 })).toMatchObject({ label: 'niche', kind: 'popularity' });
    expect(labelNeuron({ ...neutral, popPct50: 5.01 }).kind).toBe('unlabelled');
    expect(labelNeuron({ ...neutral, popPct50: 95, listed: 19 }).kind).toBe('unlabelled');
  });
});
