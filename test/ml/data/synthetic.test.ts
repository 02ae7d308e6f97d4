import { describe, expect, it } from 'vitest';
import { itemPopularity } from '../../../src/ml/data/stats.ts';
import { generateSynthetic, SYNTHETIC_DEFAULTS } from '../../../src/ml/data/synthetic.ts';
import { expectMlError, pairs } from './helpers.ts';

const d = generateSynthetic();

describe('generateSynthetic', () => {
  it('default size fits the seconds-long pipeline: 1,500 users × 600 items, 60–80k interactions', () => {
    expect(d.users.ids.length).toBe(1500);
    expect(d.items.ids.length).toBe(600);
    expect(d.interactions.indices.length).toBeGreaterThan(60_000);
    expect(d.interactions.indices.length).toBeLessThan(80_000);
    for (let u = 0; u < 1500; u++)
      expect(d.interactions.indptr[u + 1] - d.interactions.indptr[u]).toBeGreaterThanOrEqual(
        SYNTHETIC_DEFAULTS.minInteractions,
      );
  });

  it('is deterministic per seed', () => {
    const small = { users: 100, items: 60, seed: 5 };
    const a = generateSynthetic(small);
    const b = generateSynthetic(small);
    expect(pairs(a.interactions)).toEqual(pairs(b.interactions));
    expect(a.itemTags).toEqual(b.itemTags);
    expect(Array.from(a.itemYears)).toEqual(Array.from(b.itemYears));
    expect(pairs(generateSynthetic({ ...small, seed: 6 }).interactions)).not.toEqual(pairs(a.interactions));
  });

  it('plants 1–2 genres per item, balanced, with tags, eras and years that agree', () => {
    const p = d.planted!;
    expect(p.genreNames.length).toBe(10);
    const perGenre = new Array(10).fill(0);
    for (let i = 0; i < 600; i++) {
      const gs = Array.from(p.itemGenres[i]);
      expect(gs.length === 1 || gs.length === 2).toBe(true);
      expect(new Set(gs).size).toBe(gs.length);
      expect(d.itemTags[i]).toEqual(gs.map((g) => p.genreNames[g]));
      perGenre[gs[0]]++;
      expect(p.itemEra[i] % 10).toBe(0);
      expect(d.itemYears[i] - p.itemEra[i]).toBeGreaterThanOrEqual(0);
      expect(d.itemYears[i] - p.itemEra[i]).toBeLessThan(10);
    }
    expect(perGenre).toEqual(new Array(10).fill(60)); // primary genres are balanced
    expect(new Set(p.itemEra).size).toBe(SYNTHETIC_DEFAULTS.decades);
    expect(Array.from(p.itemPopularityRank).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 600 }, (_, i) => i),
    );
  });

  it('users draw most interactions from their favourite genres and their decade', () => {
    const p = d.planted!;
    const x = d.interactions;
    let inFav = 0;
    let inEra = 0;
    for (let u = 0; u < x.rows; u++) {
      const fav = new Set(p.userGenres![u]);
      expect(fav.size).toBeGreaterThanOrEqual(1);
      expect(fav.size).toBeLessThanOrEqual(SYNTHETIC_DEFAULTS.favouriteGenres);
      for (let q = x.indptr[u]; q < x.indptr[u + 1]; q++) {
        const i = x.indices[q];
        if (Array.from(p.itemGenres[i]).some((g) => fav.has(g))) inFav++;
        if (p.itemEra[i] === p.userEra![u]) inEra++;
      }
    }
    const n = x.indices.length;
    expect(inFav / n).toBeGreaterThan(0.85);
    // A decade is 1/7 of the catalogue; preferred decades are clearly over-represented.
    expect(inEra / n).toBeGreaterThan(0.25);
  });

  it('popularity follows the planted Zipf rank', () => {
    const pop = itemPopularity(d.interactions);
    const rank = d.planted!.itemPopularityRank;
    const mean = (lo: number, hi: number) => {
      let s = 0;
      let k = 0;
      for (let i = 0; i < 600; i++)
        if (rank[i] >= lo && rank[i] < hi) {
          s += pop[i];
          k++;
        }
      return s / k;
    };
    expect(mean(0, 60)).toBeGreaterThan(4 * mean(540, 600));
    expect(mean(0, 60)).toBeGreaterThan(mean(60, 300));
  });

  it('validates parameters, naming the field', () => {
    expect(expectMlError(() => generateSynthetic({ users: 0 }), 'BAD_CONFIG').field).toBe('users');
    expect(expectMlError(() => generateSynthetic({ favouriteShare: 1.5 }), 'BAD_CONFIG').field).toBe(
      'favouriteShare',
    );
    expect(
      expectMlError(() => generateSynthetic({ genres: 5, favouriteGenres: 6 }), 'BAD_CONFIG').field,
    ).toBe('favouriteGenres');
    // Sizes that could not be allocated are refused, not thrown as a RangeError from deep inside.
    expect(expectMlError(() => generateSynthetic({ users: 1e12 }), 'BAD_CONFIG').field).toBe('users');
    expect(
      expectMlError(() => generateSynthetic({ users: 1e6, interactionsPerUser: 1e4 }), 'BAD_CONFIG').field,
    ).toBe('interactionsPerUser');
    expect(expectMlError(() => generateSynthetic({ seed: -1 }), 'BAD_CONFIG').field).toBe('seed');
    // Bounded, as the generator allocates a list per genre × decade (an API caller once asked for 6·10⁷).
    expect(expectMlError(() => generateSynthetic({ decades: 6e7 }), 'BAD_CONFIG').field).toBe('decades');
    expect(
      expectMlError(() => generateSynthetic({ items: 1e6, genres: 5000, decades: 100 }), 'BAD_CONFIG').field,
    ).toBe('decades');
    expect(expectMlError(() => generateSynthetic({ firstDecade: 1e300 }), 'BAD_CONFIG').field).toBe(
      'firstDecade',
    );
    // A default that depends on another parameter follows it: 5 items, so at most 5 genres.
    expect(generateSynthetic({ users: 10, items: 5 }).items.ids).toHaveLength(5);
    expect(expectMlError(() => generateSynthetic({ items: 5, genres: 6 }), 'BAD_CONFIG').field).toBe(
      'genres',
    );
  });
});
