import { describe, expect, it } from 'vitest';
import { splitHoldout } from '../../../src/ml/data/split.ts';
import {
  autoConcepts,
  checkTargets,
  measureInterventions,
  REPLACE_PROBE,
} from '../../../src/ml/steer/measure.ts';
import { renderInterventionsMarkdown } from '../../../src/ml/steer/report-md.ts';
import { tinyBundle } from './fixture.ts';

describe('measureInterventions', () => {
  const bundle = tinyBundle({ nUsers: 60, nItems: 50, latents: 10, seed: 3 });
  const split = splitHoldout(bundle.dataset.interactions, { perUser: 1, minTrain: 2 });
  const report = measureInterventions({
    bundle: { ...bundle, dataset: { ...bundle.dataset, interactions: split.train } },
    split,
    options: {
      filterConcepts: ['Horror'],
      promoteConcepts: ['Comedy'],
      filterStrengths: [0, 2],
      filterUserStrengths: [1],
      promoteStrengths: [0, 1, 50],
      popularityStrengths: [0, -1],
      segmentShare: 0.2,
      audienceShare: 0.2,
    },
  });

  it('filtering: delta mode never touches untargeted users; strength 0 is the identity', () => {
    const delta = report.filtering.filter((r) => r.mode === 'delta');
    expect(delta.map((r) => [r.on, r.strength])).toEqual([
      ['items', 0],
      ['items', 2],
      ['users', 1],
    ]);
    for (const r of report.filtering) {
      expect(r.untargeted_changed).toBe(0);
      expect(r.untargeted_checked).toBeGreaterThan(0);
      expect(r.share_before).toBeGreaterThan(0);
      expect(r.neurons).toEqual([0]); // the fixture labels only neuron 0 "Horror"
    }
    const zero = delta.find((r) => r.strength === 0)!;
    expect(zero.share_after).toBe(zero.share_before);
    expect(zero.collateral_rbo).toBeCloseTo(1 - 0.9 ** 30, 6);
    // Replace mode at a vanishing strength moves the targeted users by their reconstruction error alone:
    // the collateral the delta mode saves (strength 0 would be the identity in either mode).
    const replace = report.filtering.find((r) => r.mode === 'replace')!;
    expect(replace.strength).toBe(REPLACE_PROBE);
    expect(replace.collateral_rbo).toBeLessThan(zero.collateral_rbo - 1e-3);
  });

  it('promotion: strength 0 moves nothing, a huge boost reaches at least as many', () => {
    const rows = report.promotion;
    expect(rows.map((r) => r.strength)).toEqual([0, 1, 50]);
    // The audience had it outside the top-20 (so outside the top-10) and the others outside the top-30:
    // at strength 0 nothing may enter those.
    expect(rows[0].success_top10).toBe(0);
    expect(rows[0].others_rising).toBe(0);
    expect(rows[2].success_top30).toBeGreaterThanOrEqual(rows[0].success_top30);
    expect(rows[2].success_top30 + rows[2].others_rising).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.success_top10).toBeLessThanOrEqual(r.success_top30);
      expect(bundle.dataset.items.index.has(r.item)).toBe(true);
    }
  });

  it('popularity: strength 0 reproduces the unsteered metrics on both sides', () => {
    const unsteered = report.popularity.filter((x) => x.strength === 0);
    expect(unsteered.map((r) => r.on).sort()).toEqual(['items', 'users']);
    for (const r of unsteered) {
      expect(r.longtail_after).toBe(r.longtail_before);
      expect(r['hr@10_after']).toBe(r['hr@10_before']);
      expect(r['ndcg@10_after']).toBe(r['ndcg@10_before']);
    }
    expect(new Set(report.popularity.map((r) => r.on))).toEqual(new Set(['items', 'users']));
  });

  it('renders a markdown section with every table', () => {
    const md = renderInterventionsMarkdown(report);
    expect(md).toContain('\n### Filtering');
    expect(md.startsWith('## Interventions')).toBe(true);
    expect(md).toContain('### Promotion');
    expect(md).toContain('### Popularity');
    const lines = md.split('\n');
    expect(lines.filter((l) => l.startsWith('| Horror')).length).toBe(report.filtering.length);
    // Every table row has as many cells as its header.
    const cells = (l: string) => l.split(' | ').length;
    for (const header of lines.filter(
      (l) => l.startsWith('| concept') || l.startsWith('| item') || l.startsWith('| on'),
    )) {
      const at = lines.indexOf(header);
      for (let r = at + 1; r < lines.length && lines[r].startsWith('|'); r++)
        expect(cells(lines[r])).toBe(cells(header));
    }
  });
});

describe('checkTargets', () => {
  it('reports the weakest strength that meets each target', () => {
    const base = {
      concept: 'c',
      neuron: 0,
      neurons: [0],
      on: 'items' as const,
      users: 10,
      untargeted_checked: 1,
      untargeted_changed: 0,
    };
    const t = checkTargets(
      [
        { ...base, strength: 3, mode: 'delta', share_before: 0.5, share_after: 0.01, collateral_rbo: 0.85 },
        { ...base, strength: 2, mode: 'delta', share_before: 0.5, share_after: 0.04, collateral_rbo: 0.9 },
        { ...base, strength: 1, mode: 'delta', share_before: 0.5, share_after: 0.06, collateral_rbo: 0.95 },
        { ...base, strength: 0, mode: 'replace', share_before: 0.5, share_after: 0, collateral_rbo: 0.95 },
      ],
      [],
      [
        {
          on: 'items',
          neurons: [1],
          strength: -1,
          longtail_before: 0.1,
          longtail_after: 0.2,
          'hr@10_before': 0.5,
          'hr@10_after': 0.44,
          'ndcg@10_before': 0,
          'ndcg@10_after': 0,
        },
      ],
    );
    expect(t.filtering).toMatchObject({ met: true, strength: 2 });
    expect(t.promotion.met).toBe(false);
    expect(t.popularity.met).toBe(false); // HR fell 12 %
  });
});

describe('autoConcepts', () => {
  it('filters the most specific sharp concept and promotes the sharpest other one', () => {
    const c = (concept: string, purity20: number, items: number) => ({ concept, neuron: 0, purity20, items });
    expect(autoConcepts([c('indie', 1, 900), c('metal', 0.95, 120), c('jazz', 0.6, 50)])).toEqual({
      filter: 'metal',
      promote: 'indie',
    });
    expect(autoConcepts([c('a', 0.5, 10), c('b', 0.4, 5)])).toEqual({ filter: 'b', promote: 'a' });
    expect(autoConcepts([])).toEqual({ filter: '', promote: '' });
  });
});

describe('measureInterventions with one SAE per side', () => {
  it("runs, leaving out the runs on the users' codes (no user neuron carries an item concept)", () => {
    const bundle = tinyBundle({ nUsers: 60, nItems: 50, latents: 10, seed: 3, shared: false });
    const split = splitHoldout(bundle.dataset.interactions, { perUser: 1, minTrain: 2 });
    // "Horror" labels item neuron 0: a suppress on the users' codes by that concept is refused.
    const report = measureInterventions({
      bundle: { ...bundle, dataset: { ...bundle.dataset, interactions: split.train } },
      split,
      options: { filterConcepts: ['Horror'], promoteConcepts: ['Comedy'], filterStrengths: [1] },
    });
    expect(report.filtering.map((r) => r.on)).toEqual(['items']);
    expect(new Set(report.popularity.map((r) => r.on))).toEqual(new Set(['items']));
    expect(report.choices.some((c) => c.startsWith('One SAE per side'))).toBe(true);
  });

  it('reads the promotion audience from the users as the item SAE encodes them, not their own codes', () => {
    const bundle = tinyBundle({ nUsers: 60, nItems: 50, latents: 10, seed: 3, shared: false });
    const split = splitHoldout(bundle.dataset.interactions, { perUser: 1, minTrain: 2 });
    const input = {
      bundle: { ...bundle, dataset: { ...bundle.dataset, interactions: split.train } },
      split,
      options: { filterConcepts: [], promoteConcepts: ['Comedy'], popularityStrengths: [] },
    };
    const own = measureInterventions(input);
    // The user SAE's codes (here: none active) no longer decide who the audience is.
    const silent = measureInterventions({ ...input, userCodes: new Float32Array(60 * 10) });
    expect(own.promotion[0].audience).toBeGreaterThan(0);
    expect(silent.promotion).toEqual(own.promotion);
  });
});
