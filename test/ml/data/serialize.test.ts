import { describe, expect, it } from 'vitest';
import { loadMovieLens } from '../../../src/ml/data/movielens.ts';
import { loadCatalog, saveCatalog } from '../../../src/ml/data/serialize.ts';
import { generateSynthetic } from '../../../src/ml/data/synthetic.ts';
import type { Dataset } from '../../../src/ml/data/types.ts';
import { expectMlError, fixture } from './helpers.ts';

function plain(d: Dataset) {
  return {
    ...d,
    users: d.users.ids,
    items: d.items.ids,
    userIndex: [...d.users.index],
    itemIndex: [...d.items.index],
  };
}

describe('saveCatalog / loadCatalog', () => {
  it('round-trips a synthetic dataset with its planted truth', () => {
    const d = generateSynthetic({ users: 80, items: 50, genres: 4, seed: 2 });
    const back = loadCatalog(saveCatalog(d));
    expect(plain(back)).toEqual(plain(d));
    expect(back.planted!.userGenres!.length).toBe(80);
  });

  it('round-trips a loaded dataset with values, user attributes and non-ASCII titles', () => {
    const d = loadMovieLens(fixture('ml-1m-4field'));
    const back = loadCatalog(saveCatalog(d));
    expect(plain(back)).toEqual(plain(d));
    expect(back.itemTitles[2]).toBe('Misérables, Les (1995)');
    expect(back.planted).toBeUndefined();
  });

  it('rejects corrupted bytes and other artifacts', () => {
    const bytes = saveCatalog(generateSynthetic({ users: 20, items: 10, genres: 2 }));
    const bad = bytes.slice();
    bad[bad.length - 3] ^= 0xff;
    expectMlError(() => loadCatalog(bad), 'BAD_ARTIFACT');
    expectMlError(() => loadCatalog(new Uint8Array([1, 2, 3])), 'BAD_ARTIFACT');
  });
});
