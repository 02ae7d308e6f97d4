import { describe, expect, it } from 'vitest';
import {
  chosenSaeOptions,
  SAE_SETTINGS,
  saeOptionsWithOverrides,
  sizedForCatalogue,
  standardFrontier,
  withFittedPursuit,
} from '../../../src/ml/pipeline/options.ts';
import { resolveSaeOptions, type SaeTrainOptions } from '../../../src/ml/sae/options.ts';

describe('chosenSaeOptions', () => {
  const datasets: [string, number][] = [
    ['movielens-1m', 20],
    ['lastfm-hetrec', 100],
    ['synthetic', 16],
  ];
  for (const [name, dim] of datasets)
    for (const model of ['mf', 'ncf'] as const)
      for (const setting of SAE_SETTINGS)
        it(`${name} × ${model} × ${setting} is a valid SAE configuration`, () => {
          expect(() => resolveSaeOptions(chosenSaeOptions(model, name, setting), dim)).not.toThrow();
        });

  it('keeps k = 8 on ML-1M and takes k = 12 on Last.FM; fidelity pursues among k + 2 latents', () => {
    expect(chosenSaeOptions('mf', 'movielens-1m').k).toBe(8);
    expect(chosenSaeOptions('ncf', 'lastfm-hetrec').k).toBe(12);
    expect(chosenSaeOptions('mf', 'movielens-1m', 'fidelity').pursuit?.itemPool).toBe(10);
    expect(chosenSaeOptions('mf', 'lastfm-hetrec', 'fidelity').pursuit?.itemPool).toBe(14);
  });
});

describe('saeOptionsWithOverrides and the standard frontier', () => {
  it('drops the nesting when only the width changes, keeps given prefixes', () => {
    expect(saeOptionsWithOverrides('mf', 'movielens-1m', 'concepts', { latents: 512 }).matryoshka).toEqual(
      [],
    );
    expect(
      saeOptionsWithOverrides('mf', 'movielens-1m', 'concepts', { latents: 512, matryoshka: [64, 512] })
        .matryoshka,
    ).toEqual([64, 512]);
    expect(saeOptionsWithOverrides('mf', 'movielens-1m', 'concepts', { k: 4 }).matryoshka).toEqual([
      32, 128, 1024,
    ]);
  });

  it("fits the fidelity setting's item pool (k + 2) to the k and width a job gives, at most the width", () => {
    const fidelity = (own: SaeTrainOptions) => saeOptionsWithOverrides('mf', 'movielens-1m', 'fidelity', own);
    expect(fidelity({}).pursuit).toEqual({ itemPool: 10 });
    expect(fidelity({ k: 12 }).pursuit).toEqual({ itemPool: 14 });
    expect(fidelity({ latents: 8 }).pursuit).toEqual({ itemPool: 8 });
    expect(fidelity({ pursuit: { itemPool: 40 } }).pursuit).toEqual({ itemPool: 40 });
    for (const own of [{ k: 12 }, { latents: 8 }, { latents: 9, k: 8 }])
      expect(() => resolveSaeOptions(fidelity(own), 20), JSON.stringify(own)).not.toThrow();
    expect(saeOptionsWithOverrides('mf', 'movielens-1m', 'concepts', { k: 12 }).pursuit).toBeUndefined();
    expect(
      withFittedPursuit({ ...chosenSaeOptions('ncf', 'lastfm-hetrec', 'fidelity'), k: 4 }, { k: 4 }).pursuit,
    ).toEqual({ itemPool: 6 });
  });

  for (const [name, dim] of [
    ['movielens-1m', 20],
    ['lastfm-hetrec', 100],
  ] as const)
    for (const model of ['mf', 'ncf'] as const)
      it(`every standard frontier row on ${name} × ${model} is a valid SAE configuration`, () => {
        const rows = standardFrontier(model, name);
        expect(rows.length).toBeGreaterThanOrEqual(8);
        for (const row of rows)
          expect(() => resolveSaeOptions({ ...chosenSaeOptions(model, name), ...row }, dim)).not.toThrow();
      });
});

describe('sizedForCatalogue', () => {
  const concepts = (name: string) => chosenSaeOptions('mf', name, 'concepts');

  it('keeps 1024 latents on ML-1M and Last.FM, and shrinks them for a small catalogue', () => {
    expect(sizedForCatalogue(concepts('movielens-1m'), 'concepts', undefined, 3706).latents).toBe(1024);
    expect(sizedForCatalogue(concepts('lastfm-hetrec'), 'concepts', undefined, 2828).latents).toBe(1024);
    // 160 items × k 8 / 20 = 64: a neuron fires on ~20 items, so purity@20 can reach 1.
    const small = sizedForCatalogue(concepts('csv'), 'concepts', undefined, 160);
    expect([small.latents, small.matryoshka]).toEqual([64, [32, 64]]);
    expect(() => resolveSaeOptions(small, 20)).not.toThrow();
    // Never below 2k, even for a handful of items.
    expect(sizedForCatalogue(concepts('csv'), 'concepts', undefined, 5).latents).toBe(16);
  });

  it('leaves a width the caller chose, and the fidelity setting, alone', () => {
    const own = { latents: 512 };
    expect(sizedForCatalogue({ ...concepts('csv'), ...own }, 'concepts', own, 160).latents).toBe(512);
    const fidelity = chosenSaeOptions('mf', 'csv', 'fidelity');
    expect(sizedForCatalogue(fidelity, 'fidelity', undefined, 160)).toBe(fidelity);
  });
});
