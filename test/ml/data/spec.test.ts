import { describe, expect, it } from 'vitest';
import { formatDataSpec, parseDataSpec } from '../../../src/ml/data/spec.ts';
import { expectMlError } from './helpers.ts';

describe('parseDataSpec', () => {
  it('parses every source kind', () => {
    expect(parseDataSpec('movielens-1m:/data/ml-1m')).toEqual({ kind: 'movielens-1m', dir: '/data/ml-1m' });
    expect(parseDataSpec('ml-1m:rel/dir')).toEqual({ kind: 'movielens-1m', dir: 'rel/dir' });
    expect(parseDataSpec('lastfm-hetrec:/d/lfm')).toEqual({
      kind: 'lastfm-hetrec',
      dir: '/d/lfm',
      options: { minListeners: 5, topTags: 4 },
    });
    expect(parseDataSpec('lastfm-hetrec:/d/lfm?minListeners=10&topTags=2')).toEqual({
      kind: 'lastfm-hetrec',
      dir: '/d/lfm',
      options: { minListeners: 10, topTags: 2 },
    });
    expect(parseDataSpec('csv:a.csv')).toEqual({ kind: 'csv', interactions: 'a.csv' });
    expect(parseDataSpec('csv:a.tsv,items.csv')).toEqual({
      kind: 'csv',
      interactions: 'a.tsv',
      items: 'items.csv',
    });
    expect(parseDataSpec('synthetic')).toEqual({ kind: 'synthetic', params: {} });
    expect(parseDataSpec('synthetic:users=500,items=200,seed=3')).toEqual({
      kind: 'synthetic',
      params: { users: 500, items: 200, seed: 3 },
    });
    expect(parseDataSpec(' synthetic:favouriteShare=0.9&zipf=1 ').kind).toBe('synthetic');
  });

  it('rejects bad specs with BAD_DATA_SPEC and says why', () => {
    const cases: [string, RegExp][] = [
      ['', /empty spec/],
      ['parquet:x', /unknown source "parquet"/],
      ['movielens-1m', /missing directory/],
      ['lastfm-hetrec:?minListeners=3', /missing directory/],
      ['lastfm-hetrec:/d?minListeners=abc', /minListeners="abc" is not a number/],
      ['lastfm-hetrec:/d?minListeners=0', /minListeners must be an integer ≥ 1/],
      ['lastfm-hetrec:/d?foo=1', /unknown parameter "foo"/],
      ['csv:', /expected csv:INTERACTIONS/],
      ['csv:a,b,c', /expected csv:INTERACTIONS/],
      ['csv:a,', /empty items path/],
      ['synthetic:users', /not key=value/],
      ['synthetic:colour=3', /unknown parameter "colour"/],
      ['synthetic:users=', /is not a number/],
    ];
    for (const [spec, why] of cases) {
      const e = expectMlError(() => parseDataSpec(spec), 'BAD_DATA_SPEC');
      expect(e.message, spec).toMatch(why);
      expect(e.message).toContain(`"${spec}"`);
    }
  });

  it('formats specs back to text that parses to the same spec', () => {
    for (const s of [
      'movielens-1m:/x',
      'lastfm-hetrec:/y?minListeners=3&topTags=1',
      'csv:a,b',
      'csv:a',
      'synthetic',
      'synthetic:users=5,seed=2',
    ]) {
      const parsed = parseDataSpec(s);
      expect(parseDataSpec(formatDataSpec(parsed))).toEqual(parsed);
    }
  });
});
