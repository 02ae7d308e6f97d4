// The labelling rule's ties, fallbacks and boundaries, as label.ts and concepts/README.md document them.
import { describe, expect, it } from 'vitest';
import { analyseNeurons } from '../../../src/ml/concepts/analyse.ts';
import {
  BAND_MIN_ITEMS,
  NICHE_MIN_PCT,
  POPULAR_MAX_PCT,
  popularityBand,
} from '../../../src/ml/concepts/label.ts';
import type { Dataset } from '../../../src/ml/data/types.ts';
import { catalogue } from './catalogue.ts';

const dataset = (tags: string[][], years: Int32Array): Dataset => catalogue(tags, years, 'rules');

/** Runs analyseNeurons with neuron j active on items[j] (activation decreasing along the list). */
function analyse(ds: Dataset, active: number[][]) {
  const n = ds.items.ids.length;
  const L = active.length;
  const itemCodes = new Float32Array(n * L);
  active.forEach((items, j) => {
    items.forEach((i, r) => {
      itemCodes[i * L + j] = 100 - r;
    });
  });
  // Equal popularity everywhere: every mean percentile is ≈ 50, so no popularity band interferes.
  return analyseNeurons({
    dataset: ds,
    itemCodes,
    userCodes: new Float32Array(L),
    latents: L,
    popularity: new Int32Array(n).fill(3),
  });
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe('concept choice ties and fallbacks', () => {
  // 200 items: 0–49 carry Common and Rare, 50–149 Common only (Common 75 %, Rare 25 % of items).
  const tags = range(0, 200).map((i) => (i < 50 ? ['Common', 'Rare'] : i < 150 ? ['Common'] : []));
  const ds = dataset(tags, new Int32Array(200));

  it('equal purities at every K go to the rarer tag (before the name)', () => {
    const { neurons } = analyse(ds, [range(0, 50)]);
    expect(neurons[0].bestTag).toBe('Rare');
    expect(neurons[0].label).toBe('Rare');
  });

  it('two neurons with identical evidence: the concept table names the lower index', () => {
    const { concepts } = analyse(ds, [range(0, 50), range(0, 50)]);
    expect(concepts.find((c) => c.concept === 'Rare')).toMatchObject({ neuron: 0, purity20: 1 });
    expect(concepts.find((c) => c.concept === 'Common')).toMatchObject({ neuron: 0 });
  });

  it('labels with the best PASSING tag when the top-purity tag misses its (higher) bar', () => {
    // 400 items, Drama on 200 (needs 0.75), Horror on 20 (needs 0.6). Top 20: 7 Drama+Horror, 6 Horror,
    // 7 Drama → purity@20 Drama 0.70 (fails), Horror 0.65 (passes).
    const t: string[][] = range(0, 400).map(() => []);
    for (let i = 0; i < 7; i++) t[i] = ['Drama', 'Horror'];
    for (let i = 7; i < 13; i++) t[i] = ['Horror'];
    for (let i = 13; i < 20; i++) t[i] = ['Drama'];
    for (let i = 20; i < 213; i++) t[i] = ['Drama'];
    for (let i = 213; i < 220; i++) t[i] = ['Horror'];
    const { neurons } = analyse(dataset(t, new Int32Array(400)), [range(0, 20)]);
    expect(neurons[0].purity20).toBeCloseTo(13 / 20, 12);
    expect(neurons[0]).toMatchObject({ kind: 'concept', label: 'Horror', bestTag: 'Horror' });
  });
});

describe('era base rate', () => {
  it('counts items of unknown year in the denominator (documented in decadeBaseRates)', () => {
    // 100 items: 0–39 from 1995, the rest unknown → the 1990s are 40 % of items, bar 0.7. The neuron's
    // top 50 hold all 40 1990s items and 10 unknown ones: 80 %, an era label. (Leaving unknown years out
    // of the denominator would make the base rate 100 % and the bar unreachable.)
    const years = Int32Array.from(range(0, 100), (i) => (i < 40 ? 1995 : 0));
    const { neurons } = analyse(
      dataset(
        range(0, 100).map(() => []),
        years,
      ),
      [range(0, 50)],
    );
    expect(neurons[0].decadeShare50).toBeCloseTo(0.8, 12);
    expect(neurons[0]).toMatchObject({ kind: 'era', label: '1990s' });
  });
});

describe('popularity band boundaries are inclusive', () => {
  it('exactly BAND_MIN_ITEMS listed items, exactly POPULAR_MAX_PCT, exactly NICHE_MIN_PCT', () => {
    expect(popularityBand(1, BAND_MIN_ITEMS)).toBe('popular');
    expect(popularityBand(1, BAND_MIN_ITEMS - 1)).toBeNull();
    expect(popularityBand(POPULAR_MAX_PCT, 50)).toBe('popular');
    expect(popularityBand(NICHE_MIN_PCT, 50)).toBe('niche');
    expect(popularityBand(POPULAR_MAX_PCT + 0.01, 50)).toBeNull();
    expect(popularityBand(NICHE_MIN_PCT - 0.01, 50)).toBeNull();
  });
});
