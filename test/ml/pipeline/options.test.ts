import { describe, expect, it } from 'vitest';
import { chosenSaeOptions, SAE_SETTINGS } from '../../../src/ml/pipeline/options.ts';
import { resolveSaeOptions } from '../../../src/ml/sae/options.ts';

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
