import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMovieLens, yearFromTitle } from '../../../src/ml/data/movielens.ts';
import { expectMlError, fixture, fixtureVariant, pairs } from './helpers.ts';

describe('loadMovieLens', () => {
  it('reads the 4-field ratings.dat, latin1 titles, years, genres and users.dat', () => {
    const d = loadMovieLens(fixture('ml-1m-4field'));
    expect(d.name).toBe('movielens-1m');
    expect(d.users.ids).toEqual(['1', '2', '3']);
    // Movie 4 is listed but never rated: not an item.
    expect(d.items.ids).toEqual(['1', '2', '3', '5']);
    expect(pairs(d.interactions)).toEqual(['0:0', '0:2', '0:3', '1:0', '1:1', '2:0', '2:1', '2:3']);
    expect(Array.from(d.interactions.values!)).toEqual([5, 4, 3, 4, 2, 5, 3, 1]);
    expect(d.itemTitles[2]).toBe('Misérables, Les (1995)');
    expect(d.itemTitles[3]).toBe('City of Lost Children, The (Cité des enfants perdus, La) (1995)');
    expect(Array.from(d.itemYears)).toEqual([1995, 1995, 1995, 1995]);
    expect(d.itemTags[0]).toEqual(['Animation', "Children's", 'Comedy']);
    expect(d.itemTags[3]).toEqual(['Adventure', 'Sci-Fi']);
    expect(d.userAttributes?.gender).toEqual(['F', 'M', 'M']);
    expect(d.userAttributes?.zip).toEqual(['48067', '70072', '55117']);
    expect(d.items.index.get('5')).toBe(3);
  });

  it('reads the 3-field ratings-no-timestamps.dat (CRLF and blank lines tolerated), no users.dat', () => {
    const d = loadMovieLens(fixture('ml-1m-3field'));
    expect(d.users.ids).toEqual(['10', '20']);
    expect(d.items.ids).toEqual(['1', '2', '3']);
    expect(pairs(d.interactions)).toEqual(['0:0', '0:1', '1:1', '1:2']);
    expect(d.userAttributes).toBeUndefined();
    expect(d.itemTags[2]).toEqual(['Action', 'Crime', 'Thriller']);
  });

  it('prefers ratings.dat when both rating files are present', () => {
    const dir = fixtureVariant('ml-1m-4field', { 'ratings-no-timestamps.dat': '9::1::5\n' });
    expect(loadMovieLens(dir).users.ids).toEqual(['1', '2', '3']);
  });

  it('names the file and line of a malformed rating', () => {
    const wrongCount = fixtureVariant('ml-1m-4field', { 'ratings.dat': '1::1::5::1\n1::2\n' });
    const e1 = expectMlError(() => loadMovieLens(wrongCount), 'BAD_FILE');
    expect(e1.message).toContain(join(wrongCount, 'ratings.dat'));
    expect(e1.message).toMatch(/line 2: expected 3–4 fields, found 2/);
    // Ids are kept in Int32Arrays: 2^31 would wrap onto another user instead of failing.
    const huge = fixtureVariant('ml-1m-4field', { 'ratings.dat': '1::1::5::1\n2147483648::1::5::1\n' });
    expect(expectMlError(() => loadMovieLens(huge), 'BAD_FILE').message).toMatch(
      /line 2: user id 2147483648 is too large/,
    );
    const nonNumeric = fixtureVariant('ml-1m-4field', { 'ratings.dat': '1::1::5::1\n\n1::x7::5::1\n' });
    expect(expectMlError(() => loadMovieLens(nonNumeric), 'BAD_FILE').message).toMatch(
      /line 3: non-numeric movie id "x7"/,
    );
    const badRating = fixtureVariant('ml-1m-4field', { 'ratings.dat': '1::1::five::1\n' });
    expect(expectMlError(() => loadMovieLens(badRating), 'BAD_FILE').message).toMatch(
      /line 1: non-numeric rating/,
    );
  });

  it('names the line of a malformed movies.dat or users.dat entry', () => {
    const movies = fixtureVariant('ml-1m-4field', {
      'movies.dat': '1::Toy Story (1995)::Comedy\n2::Jumanji\n',
    });
    const e = expectMlError(() => loadMovieLens(movies), 'BAD_FILE');
    expect(e.message).toContain('movies.dat, line 2: expected 3 fields, found 2');
    const users = fixtureVariant('ml-1m-4field', { 'users.dat': '1::F::1::10::48067\n2::M\n' });
    expect(expectMlError(() => loadMovieLens(users), 'BAD_FILE').message).toContain('users.dat, line 2');
  });

  it('refuses a rated movie missing from movies.dat instead of loading partially', () => {
    const dir = fixtureVariant('ml-1m-4field', { 'movies.dat': '1::Toy Story (1995)::Comedy\n' });
    expect(expectMlError(() => loadMovieLens(dir), 'BAD_FILE').message).toMatch(
      /rated movie 2 is not listed/,
    );
  });

  it('reads a movies.dat re-encoded as UTF-8 as UTF-8 (Latin-1 decoding made "MisÃ©rables")', () => {
    const dir = fixtureVariant('ml-1m-4field', {
      'movies.dat': Buffer.from(
        '1::Toy Story (1995)::Comedy\n2::Jumanji (1995)::Adventure\n3::Misérables, Les (1995)::Drama\n5::Cité (1995)::Drama\n',
        'utf8',
      ),
    });
    expect(loadMovieLens(dir).itemTitles).toContain('Misérables, Les (1995)');
  });

  it('refuses a users.dat that leaves out a rated user (its attributes would be a guess)', () => {
    const dir = fixtureVariant('ml-1m-4field', { 'users.dat': '1::F::1::10::48067\n' });
    expect(expectMlError(() => loadMovieLens(dir), 'BAD_FILE').message).toMatch(
      /users\.dat: rated user 2 is not listed/,
    );
  });

  it('refuses a movie listed twice (the last one silently won)', () => {
    const dir = fixtureVariant('ml-1m-4field', {
      'movies.dat':
        '1::Toy Story (1995)::Comedy\n2::Jumanji (1995)::Adventure\n3::X (1995)::Drama\n1::Not Toy Story (2001)::Horror\n',
    });
    expect(expectMlError(() => loadMovieLens(dir), 'BAD_FILE').message).toMatch(
      /movies\.dat, line 4: movie 1 is listed twice/,
    );
  });

  it('names missing directories and files', () => {
    expect(expectMlError(() => loadMovieLens('/nonexistent/ml'), 'BAD_FILE').message).toContain(
      '/nonexistent/ml',
    );
    const noRatings = fixtureVariant('ml-1m-3field', { 'ratings-no-timestamps.dat': null });
    expect(expectMlError(() => loadMovieLens(noRatings), 'BAD_FILE').message).toMatch(/neither ratings.dat/);
    const noMovies = fixtureVariant('ml-1m-3field', { 'movies.dat': null });
    expect(expectMlError(() => loadMovieLens(noMovies), 'BAD_FILE').message).toMatch(
      /movies.dat: file not found/,
    );
  });

  it('parses the year at the end of a title', () => {
    expect(yearFromTitle('Toy Story (1995)')).toBe(1995);
    expect(yearFromTitle('1984 (1984)')).toBe(1984);
    expect(yearFromTitle('Untitled')).toBe(0);
  });
});
