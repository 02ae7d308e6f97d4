import { describe, expect, it } from 'vitest';
import { loadLastFm } from '../../../src/ml/data/lastfm.ts';
import { expectMlError, fixture, fixtureVariant, pairs } from './helpers.ts';

// Fixture: artists 10 (4 listeners), 20 (3), 30 (2: users 2, 6), 40 (1); user 6 listens only to 30.
describe('loadLastFm', () => {
  it('keeps every artist with minListeners=1 (any listen is a positive, CRLF lines)', () => {
    const d = loadLastFm(fixture('lastfm-hetrec'), { minListeners: 1 });
    expect(d.name).toBe('lastfm-hetrec');
    expect(d.users.ids).toEqual(['2', '3', '4', '5', '6']);
    expect(d.items.ids).toEqual(['10', '20', '30', '40']);
    expect(d.interactions.indices.length).toBe(10);
    expect(Array.from(d.interactions.values!.slice(0, 3))).toEqual([100, 50, 7]);
    expect(d.itemTitles).toEqual(['Björk', 'Sigur Rós', 'Foo', 'Bar']);
    expect(Array.from(d.itemYears)).toEqual([0, 0, 0, 0]);
  });

  it('drops artists under minListeners, then users left with nothing', () => {
    const d = loadLastFm(fixture('lastfm-hetrec'), { minListeners: 3 });
    expect(d.items.ids).toEqual(['10', '20']);
    expect(d.users.ids).toEqual(['2', '3', '4', '5']);
    expect(pairs(d.interactions)).toEqual(['0:0', '0:1', '1:0', '1:1', '2:0', '2:1', '3:0']);
    expect(d.itemTags[1]).toEqual(['icelandic']);
  });

  it('the default filter is 5 listeners: nothing in the fixture survives, and says so', () => {
    expect(expectMlError(() => loadLastFm(fixture('lastfm-hetrec')), 'BAD_FILE').message).toMatch(
      /no artist has ≥ 5 listeners/,
    );
  });

  it('takes each artist’s most used tags, lower-cased, latin1-decoded, ties alphabetical', () => {
    const d = loadLastFm(fixture('lastfm-hetrec'), { minListeners: 1 });
    // artist 10: electronic ×3, icelandic ×2, café ×2, rock ×1, female vocalists ×1.
    expect(d.itemTags[0]).toEqual(['electronic', 'café', 'icelandic', 'female vocalists']);
    expect(d.itemTags[2]).toEqual(['seen live']);
    expect(d.itemTags[3]).toEqual([]);
    const two = loadLastFm(fixture('lastfm-hetrec'), { minListeners: 1, topTags: 2 });
    expect(two.itemTags[0]).toEqual(['electronic', 'café']);
  });

  it('loads without tag files (no tags), but names a malformed line or a missing file', () => {
    const noTags = fixtureVariant('lastfm-hetrec', { 'tags.dat': null, 'user_taggedartists.dat': null });
    expect(loadLastFm(noTags, { minListeners: 1 }).itemTags.every((t) => t.length === 0)).toBe(true);
    // One tag file without the other is a broken copy: every artist would lose its tags without a word.
    const halfTags = fixtureVariant('lastfm-hetrec', { 'tags.dat': null });
    expect(expectMlError(() => loadLastFm(halfTags, { minListeners: 1 }), 'BAD_FILE').message).toMatch(
      /tags\.dat: file not found \(artists' tags need it beside user_taggedartists\.dat\)/,
    );
    // A copy with its header stripped would lose its first record to the header skip.
    const headless = fixtureVariant('lastfm-hetrec', { 'user_artists.dat': '2\t10\t100\n2\t11\t5\n' });
    expect(expectMlError(() => loadLastFm(headless, { minListeners: 1 }), 'BAD_FILE').message).toMatch(
      /user_artists\.dat, line 1: expected the hetrec header line \("userID artistID weight"\), found data/,
    );
    const bad = fixtureVariant('lastfm-hetrec', {
      'user_artists.dat': 'userID\tartistID\tweight\r\n2\t10\t100\r\n2\tten\t5\r\n',
    });
    const e = expectMlError(() => loadLastFm(bad, { minListeners: 1 }), 'BAD_FILE');
    expect(e.message).toMatch(/user_artists\.dat, line 3: non-numeric artistID "ten"/);
    const short = fixtureVariant('lastfm-hetrec', {
      'user_artists.dat': 'userID\tartistID\tweight\n2\t10\n',
    });
    expect(expectMlError(() => loadLastFm(short, { minListeners: 1 }), 'BAD_FILE').message).toMatch(
      /line 2: expected 3 fields, found 2/,
    );
    const unknownTag = fixtureVariant('lastfm-hetrec', {
      'user_taggedartists.dat': 'userID\tartistID\ttagID\tday\tmonth\tyear\n2\t10\t77\t1\t1\t2009\n',
    });
    expect(expectMlError(() => loadLastFm(unknownTag, { minListeners: 1 }), 'BAD_FILE').message).toMatch(
      /user_taggedartists\.dat, line 2: tagID 77/,
    );
    const noArtists = fixtureVariant('lastfm-hetrec', { 'artists.dat': null });
    expect(expectMlError(() => loadLastFm(noArtists, { minListeners: 1 }), 'BAD_FILE').message).toMatch(
      /artists\.dat: file not found/,
    );
  });
});
