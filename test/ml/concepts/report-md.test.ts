import { describe, expect, it } from 'vitest';
import {
  conceptTableMarkdown,
  headlineNeuronsMarkdown,
  hierarchyMarkdown,
  mdCell,
  neuronTableMarkdown,
} from '../../../src/ml/concepts/report-md.ts';
import type { NeuronInfo } from '../../../src/ml/concepts/types.ts';
import type { Dataset } from '../../../src/ml/data/types.ts';

const neuron = (over: Partial<NeuronInfo>): NeuronInfo => ({
  index: 0,
  label: 'Horror',
  kind: 'concept',
  concept: 'Horror',
  bestTag: 'Horror',
  purity10: 1,
  purity20: 0.95,
  purity50: 0.9,
  popPct20: 10,
  popPct50: 12.34,
  decade: 1980,
  decadeShare50: 0.5,
  itemDensity: 0.1,
  userDensity: 0.1,
  topItems: [1, 0],
  evidence: '',
  ...over,
});

const dataset = {
  itemTitles: ['Alien (1979)', 'Scream | 2 (1997)'],
  items: { ids: ['1', '2'] },
} as unknown as Dataset;

describe('report markdown', () => {
  it('escapes pipes', () => {
    expect(mdCell('a|b\nc')).toBe('a\\|b c');
  });

  it('renders labelled neurons only by default', () => {
    const md = neuronTableMarkdown(
      [neuron({}), neuron({ index: 1, kind: 'unlabelled', label: '' }), neuron({ index: 2, kind: 'dead' })],
      dataset,
    );
    const lines = md.split('\n');
    expect(lines).toHaveLength(3);
    const all = neuronTableMarkdown(
      [neuron({ index: 1, kind: 'unlabelled', label: '', concept: null })],
      dataset,
      { labelledOnly: false },
    );
    expect(all.split('\n')[2]).toContain('| 1 | — | unlabelled | (Horror) |');
    expect(lines[2]).toBe(
      '| 0 | Horror | concept | Horror | 1.00 / 0.95 / 0.90 | 12.3 % | 1980s (50 %) | Scream \\| 2 (1997); Alien (1979) |',
    );
  });

  it('renders the concept table with the best neuron label', () => {
    const md = conceptTableMarkdown(
      [{ concept: 'Horror', neuron: 0, purity10: 1, purity20: 1, purity50: 0.96 }],
      [neuron({})],
    );
    expect(md.split('\n')[2]).toBe('| Horror | #0 Horror | 1.00 | 1.00 | 0.96 |');
  });

  it('renders the hierarchy as a nested list', () => {
    const md = hierarchyMarkdown({
      coarse: 1,
      nodes: [
        {
          neuron: 0,
          label: 'Horror',
          children: [{ neuron: 3, label: '1980s Horror', coactivation: 0.9, cosine: 0.5 }],
        },
      ],
      orphans: [],
    });
    expect(md).toBe('- **#0 Horror**\n  - #3 1980s Horror (co-activation 0.90, decoder cos 0.50)');
    const withUnlabelled = hierarchyMarkdown({
      coarse: 2,
      nodes: [
        {
          neuron: 0,
          label: 'Horror',
          children: [
            { neuron: 3, label: '', coactivation: 1, cosine: null },
            { neuron: 4, label: 'Slasher', coactivation: 0.8, cosine: null },
          ],
        },
        { neuron: 1, label: '', children: [{ neuron: 5, label: '', coactivation: 1, cosine: null }] },
      ],
      orphans: [6],
    });
    expect(withUnlabelled.split('\n')).toEqual([
      '- **#0 Horror**',
      '  - #4 Slasher (co-activation 0.80)',
      '  - … 1 more (unlabelled or beyond the first 8)',
      '- (1 finer neurons with no coarse parent above the co-activation threshold)',
    ]);
  });

  it('renders the headline neurons', () => {
    const md = headlineNeuronsMarkdown({ neuron: 8, label: 'popular', popPct20: 0.5, popPct50: 0.86 }, [
      { decade: 1980, neuron: 0, label: '1980s', decadeShare50: 1 },
    ]);
    expect(md).toBe(
      'Popularity neuron: #8 "popular", top-20 / top-50 mean popularity percentile 0.50 % / 0.86 % (0 = most popular).\n\n| decade | purest neuron | share of top-50 |\n|---|---|---|\n| 1980s | #0 1980s | 100 % |',
    );
    expect(headlineNeuronsMarkdown(null, [])).toContain('none');
  });
});
