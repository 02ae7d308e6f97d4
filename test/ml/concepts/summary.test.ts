import { describe, expect, it } from 'vitest';
import { blankNeuron } from '../../../src/ml/concepts/neuron.ts';
import { eraNeurons, popularityNeuron } from '../../../src/ml/concepts/summary.ts';
import type { NeuronInfo } from '../../../src/ml/concepts/types.ts';

const n = (index: number, over: Partial<NeuronInfo>): NeuronInfo =>
  blankNeuron(index, {
    popPct20: 50,
    popPct50: 50,
    itemDensity: 0.1,
    userDensity: 0.1,
    topItems: Array.from({ length: 50 }, (_, i) => i),
    ...over,
  });

describe('headline neurons', () => {
  it('popularity neuron needs a full top-50 list and ignores dead neurons', () => {
    const neurons = [
      n(0, { popPct50: 3 }),
      n(1, { popPct50: 0.5, topItems: [1, 2, 3] }), // too short
      n(2, { popPct50: 0.1, kind: 'dead' }),
      n(3, { popPct50: 3, popPct20: 1, label: 'popular' }), // tie on @50, better @20
    ];
    expect(popularityNeuron(neurons)).toEqual({ neuron: 3, label: 'popular', popPct20: 1, popPct50: 3 });
    expect(popularityNeuron(neurons, 3)?.neuron).toBe(1);
    expect(popularityNeuron([n(0, { topItems: [] })])).toBeNull();
  });

  it('era neurons: purest per decade, ascending, first index on ties', () => {
    const neurons = [
      n(0, { decade: 1990, decadeShare50: 0.9 }),
      n(1, { decade: 1980, decadeShare50: 0.7 }),
      n(2, { decade: 1990, decadeShare50: 0.9 }),
      n(3, { decade: 1980, decadeShare50: 0.95, label: '1980s' }),
      n(4, { decade: 1970, decadeShare50: 1, kind: 'dead' }),
    ];
    expect(eraNeurons(neurons)).toEqual([
      { decade: 1980, neuron: 3, label: '1980s', decadeShare50: 0.95 },
      { decade: 1990, neuron: 0, label: '', decadeShare50: 0.9 },
    ]);
  });
});
