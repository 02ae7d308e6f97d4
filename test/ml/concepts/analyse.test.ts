import { describe, expect, it } from 'vitest';
import { analyseNeurons } from '../../../src/ml/concepts/analyse.ts';
import type { Dataset } from '../../../src/ml/data/types.ts';
import { catalogue } from './catalogue.ts';

/**
 * 1000 items: 0–59 Horror (0–29 from 1995, 30–59 from 1975), 60–119 Comedy from 1975, 120–999 Drama
 * (120–139 unknown year, the rest 1995). Base rates: Drama 0.88, Comedy 0.06, Horror 0.06; 1990s 0.89,
 * 1970s 0.09. Popularity rank of item i is (7 i) mod 1000, so popular items are spread over all genres.
 */
const N = 1000;
const L = 6;

function fixture(): Dataset {
  const tags = Array.from({ length: N }, (_, i) => (i < 60 ? ['Horror'] : i < 120 ? ['Comedy'] : ['Drama']));
  const years = Int32Array.from(tags, (_, i) => (i < 30 ? 1995 : i < 120 ? 1975 : i < 140 ? 0 : 1995));
  return catalogue(tags, years);
}

const pop = Int32Array.from({ length: N }, (_, i) => N - ((7 * i) % N));

/**
 * Neuron 0: Horror items, item 0 strongest. 1: the 1970s comedies. 2: activation = popularity.
 * 3: dead. 4: active on the user only. 5: 86 % Drama (below Drama's bar of 0.94), mostly unknown years.
 */
function codes(): { itemCodes: Float32Array; userCodes: Float32Array } {
  const itemCodes = new Float32Array(N * L);
  for (let i = 0; i < 60; i++) itemCodes[i * L + 0] = 60 - i;
  for (let i = 60; i < 120; i++) itemCodes[i * L + 1] = 200 - i;
  for (let i = 0; i < N; i++) itemCodes[i * L + 2] = pop[i];
  let drama = 120;
  for (let r = 0; r < 50; r++) {
    const item = r % 7 === 3 ? 30 + Math.floor(r / 7) : drama++;
    itemCodes[item * L + 5] = 100 - r;
  }
  const userCodes = new Float32Array(L);
  userCodes[4] = 1;
  return { itemCodes, userCodes };
}

describe('analyseNeurons', () => {
  const { neurons, concepts } = analyseNeurons({
    dataset: fixture(),
    ...codes(),
    latents: L,
    popularity: pop,
  });

  it('labels a pure Horror neuron, without an era (60 % 1990s is below the 1990s bar)', () => {
    const n = neurons[0];
    expect(n).toMatchObject({
      index: 0,
      kind: 'concept',
      label: 'Horror',
      concept: 'Horror',
      bestTag: 'Horror',
    });
    expect([n.purity10, n.purity20, n.purity50]).toEqual([1, 1, 1]);
    expect(n.topItems).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(n.decade).toBe(1990);
    expect(n.decadeShare50).toBeCloseTo(0.6, 12);
    expect(n.popPct50).toBeCloseTo((7 * 24.5 * 100) / N, 10);
    expect(n.evidence).toContain('Horror');
  });

  it('combines a rare era with a concept', () => {
    expect(neurons[1]).toMatchObject({
      kind: 'combined',
      label: '1970s Comedy',
      concept: 'Comedy',
      decade: 1970,
    });
    expect(neurons[1].decadeShare50).toBe(1);
  });

  it('finds the popularity neuron at the floor percentile', () => {
    expect(neurons[2].popPct50).toBeCloseTo((24.5 / N) * 100, 10);
    expect(neurons[2].popPct20).toBeCloseTo((9.5 / N) * 100, 10);
    expect(neurons[2].label.startsWith('popular')).toBe(true);
    expect(['popularity', 'combined']).toContain(neurons[2].kind);
  });

  it('a common tag at a purity near its base rate is not a label', () => {
    const n = neurons[5];
    expect(n.bestTag).toBe('Drama');
    expect(n.purity20).toBeCloseTo(17 / 20, 12);
    expect(n.purity50).toBeCloseTo(43 / 50, 12);
    expect(n.kind).toBe('unlabelled');
    expect(n.label).toBe('');
  });

  it('dead and user-only neurons', () => {
    expect(neurons[3]).toMatchObject({ kind: 'dead', topItems: [] });
    expect(neurons[4]).toMatchObject({ kind: 'unlabelled', userDensity: 1, itemDensity: 0, topItems: [] });
  });

  it('one row per tag carried by ≥ 1 % of items, best neuron by purity@20', () => {
    expect(concepts.map((c) => c.concept)).toEqual(['Drama', 'Comedy', 'Horror']);
    expect(concepts[1]).toMatchObject({ neuron: 1, purity10: 1, purity20: 1, purity50: 1 });
    expect(concepts[2]).toMatchObject({ neuron: 0, purity10: 1, purity20: 1, purity50: 1 });
  });
});

describe('headline neurons', () => {
  const { neurons, popularity, eras } = analyseNeurons({
    dataset: fixture(),
    ...codes(),
    latents: L,
    popularity: pop,
  });

  it('the popularity neuron is the one with the most popular top-50', () => {
    expect(popularity).toMatchObject({ neuron: 2 });
    expect(popularity!.popPct50).toBeCloseTo((24.5 / N) * 100, 10);
  });

  it('the purest neuron per decade', () => {
    // Neuron 2's top-50 (items r·143 mod 1000, r < 50) are all from 1995; neuron 0's only 60 %.
    expect(eras.map((e) => [e.decade, e.neuron, e.decadeShare50])).toEqual([
      [1970, 1, 1],
      [1990, 2, 1],
    ]);
    expect(neurons[2].label).toBe('popular 1990s');
  });
});

describe('a catalogue without tags or years', () => {
  it('labels by popularity only and lists no concepts', () => {
    const dataset = fixture();
    dataset.itemTags = dataset.itemTags.map(() => []);
    dataset.itemYears = new Int32Array(N);
    const { neurons, concepts, eras } = analyseNeurons({ dataset, ...codes(), latents: L, popularity: pop });
    expect(concepts).toEqual([]);
    expect(eras).toEqual([]);
    expect(neurons[0]).toMatchObject({
      kind: 'unlabelled',
      bestTag: null,
      purity20: 0,
      decade: null,
      decadeShare50: 0,
    });
    expect(neurons[2]).toMatchObject({ kind: 'popularity', label: 'popular' });
    expect(neurons[0].evidence).toContain('no tags');
  });
});
