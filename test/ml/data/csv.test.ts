import { describe, expect, it } from 'vitest';
import { loadCsv } from '../../../src/ml/data/csv.ts';
import { expectMlError, fixture, fixtureVariant, pairs } from './helpers.ts';

describe('loadCsv', () => {
  it('reads interactions with a header, quoted ids, weights and duplicate pairs', () => {
    const d = loadCsv(fixture('csv/interactions.csv'));
    expect(d.name).toBe('csv');
    expect(d.users.ids).toEqual(['alice', 'bob', 'carol, jr.']);
    expect(d.items.ids).toEqual(['m1', 'm2', 'm3']);
    // alice,m1 appears twice: one positive.
    expect(pairs(d.interactions)).toEqual(['0:0', '0:1', '1:0', '1:1', '2:2']);
    expect(Array.from(d.interactions.values!)).toEqual([5, 3, 4, 1, 2.5]);
    expect(d.itemTitles).toEqual(['m1', 'm2', 'm3']);
    expect(d.itemTags).toEqual([[], [], []]);
  });

  it('joins an items file: quoted titles, | tags, years; skips items nobody interacted with', () => {
    const d = loadCsv(fixture('csv/interactions.csv'), fixture('csv/items.csv'));
    expect(d.itemTitles).toEqual(['Heat, The', 'Toy Story', 'Say "Hi"']);
    expect(d.itemTags).toEqual([['Action', 'Crime'], ['Animation', 'Comedy'], []]);
    expect(Array.from(d.itemYears)).toEqual([1995, 1995, 0]);
    expect(d.items.index.has('m9')).toBe(false);
  });

  it('reads a headerless two-column TSV', () => {
    const d = loadCsv(fixture('csv/interactions.tsv'));
    expect(d.users.ids).toEqual(['u1', 'u2']);
    expect(pairs(d.interactions)).toEqual(['0:0', '1:0', '1:1']);
  });

  it('detects a tab separator past leading blank lines', () => {
    const dir = fixtureVariant('csv', { 'blank-first.tsv': '\n\nu1\ti1\nu2\ti1\n' });
    expect(loadCsv(`${dir}/blank-first.tsv`).users.ids).toEqual(['u1', 'u2']);
  });

  it('ignores a UTF-8 byte-order mark before the header', () => {
    const dir = fixtureVariant('csv', { 'bom.csv': '\ufeffuser,item\nu1,i1\n' });
    const d = loadCsv(`${dir}/bom.csv`);
    expect(d.users.ids).toEqual(['u1']);
  });

  it('recognises headers by their column names, not only user/item', () => {
    const dir = fixtureVariant('csv', {
      'customers.csv': 'customer,product\nc1,p1\nc2,p1\n',
      'qty.csv': 'buyer_id,sku,qty\nc1,p1,2\nc2,p2,3\n',
      'iso.csv': 'user,item,rating,timestamp\nu1,i1,5,2023-01-05T10:00:00Z\nu2,i1,4,2023-01-06 11:00:00\n',
    });
    const customers = loadCsv(`${dir}/customers.csv`);
    expect([customers.users.ids, customers.items.ids]).toEqual([['c1', 'c2'], ['p1']]);
    const qty = loadCsv(`${dir}/qty.csv`);
    expect(Array.from(qty.interactions.values!)).toEqual([2, 3]);
    // The timestamp is ignored, so any text there is fine (ISO dates included).
    expect(loadCsv(`${dir}/iso.csv`).users.ids).toEqual(['u1', 'u2']);
  });

  it('maps an items file by its header: any column order, a year without tags, 1999.0, extra columns', () => {
    const dir = fixtureVariant('csv', {
      'interactions.csv': 'user,item\nu1,0001\nu2,0002\n',
      'by-name.csv': 'item,title,year\n0001,"Le Café, Noir",1985\n0002,Night,1999.0\n',
      'reordered.csv': 'title,director,item_id,genres\nLe Café,Varda,0001,Drama|Comedy\nNight,Lang,0002,\n',
    });
    const byName = loadCsv(`${dir}/interactions.csv`, `${dir}/by-name.csv`);
    expect(byName.items.ids).toEqual(['0001', '0002']);
    expect(byName.itemTitles).toEqual(['Le Café, Noir', 'Night']);
    // Years are years, not tags (they were read as tags "1985", "1999.0").
    expect(byName.itemTags).toEqual([[], []]);
    expect(Array.from(byName.itemYears)).toEqual([1985, 1999]);
    const reordered = loadCsv(`${dir}/interactions.csv`, `${dir}/reordered.csv`);
    expect(reordered.itemTitles).toEqual(['Le Café', 'Night']);
    expect(reordered.itemTags).toEqual([['Drama', 'Comedy'], []]);
  });

  it('names file and line of malformed rows', () => {
    const dir = fixtureVariant('csv', {
      'interactions.csv': 'user,item\na,b\nc\n',
      'bad-weight.csv': 'a,b,1\na,c,heavy\n',
      'bad-items.csv': 'item,title,tags,year\nm1,Heat,Action,nineteen\n',
      'quote.csv': 'a,b\n"c,d\n',
      'long-weight.csv': `a,b,1\na,c,secret=${'x'.repeat(100)}\n`,
      'far-year.csv': 'item,title,year\nm1,Heat,1e12\n',
    });
    // Years are kept as Int32: 1e12 once wrapped to -727379968.
    expect(
      expectMlError(() => loadCsv(fixture('csv/interactions.csv'), `${dir}/far-year.csv`), 'BAD_FILE')
        .message,
    ).toMatch(/far-year\.csv, line 2: year 1000000000000 is outside 0–9999/);
    expect(expectMlError(() => loadCsv(`${dir}/interactions.csv`), 'BAD_FILE').message).toMatch(
      /interactions\.csv, line 3: expected 2–4 fields, found 1/,
    );
    expect(expectMlError(() => loadCsv(`${dir}/bad-weight.csv`), 'BAD_FILE').message).toMatch(
      /bad-weight\.csv, line 2: non-numeric weight "heavy"/,
    );
    // A field is quoted only up to 40 characters: an error message must not copy a file out.
    expect(expectMlError(() => loadCsv(`${dir}/long-weight.csv`), 'BAD_FILE').message).toMatch(
      /line 2: non-numeric weight "secret=x{33}…"$/,
    );
    expect(
      expectMlError(() => loadCsv(fixture('csv/interactions.csv'), `${dir}/bad-items.csv`), 'BAD_FILE')
        .message,
    ).toMatch(/bad-items\.csv, line 2: non-numeric year/);
    expect(expectMlError(() => loadCsv(`${dir}/quote.csv`), 'BAD_FILE').message).toMatch(
      /quote\.csv, line 2: unterminated quoted field/,
    );
    expect(expectMlError(() => loadCsv(`${dir}/nope.csv`), 'BAD_FILE').message).toMatch(
      /nope\.csv: file not found/,
    );
  });

  it('reads a first row as data unless it names columns (a word as weight, or a user column first)', () => {
    const dir = fixtureVariant('csv', {
      'book.csv': 'alice,book,5\nu1,b1,1\n', // "book" is an item here: the 5 says so
      'book2.csv': 'alice,book\nu1,b1\n', // without a weight, an item-like second field alone is no header
      'bad-first.csv': '1,1,abc\n2,1,1\n', // numeric ids: a bad weight, not a header
      'learner.csv': 'learner,course,rating\nl1,c1,4\n', // a word as weight over word ids: a header
      'short.csv': 'u,i,r\nu1,i1,1\n',
    });
    expect(loadCsv(`${dir}/book.csv`).users.ids).toEqual(['alice', 'u1']);
    expect(loadCsv(`${dir}/book2.csv`).users.ids).toEqual(['alice', 'u1']);
    expect(loadCsv(`${dir}/learner.csv`).users.ids).toEqual(['l1']);
    expect(loadCsv(`${dir}/short.csv`).users.ids).toEqual(['u1']);
    expect(expectMlError(() => loadCsv(`${dir}/bad-first.csv`), 'BAD_FILE').message).toMatch(
      /bad-first\.csv, line 1: non-numeric weight "abc"/,
    );
  });

  it('refuses bytes that are not UTF-8, naming the line, rather than merging ids', () => {
    const dir = fixtureVariant('csv', {
      'latin1.csv': Buffer.concat([
        Buffer.from('u1,i1\n'),
        Buffer.from('caf\xe9,i1\ncaf\xe8,i2\n', 'latin1'),
      ]),
    });
    expect(expectMlError(() => loadCsv(`${dir}/latin1.csv`), 'BAD_FILE').message).toMatch(
      /latin1\.csv, line 2: not valid UTF-8/,
    );
    const utf16 = fixtureVariant('csv', { 'utf16.csv': Buffer.from('\ufeffuser,item\nu1,i1\n', 'utf16le') });
    expect(expectMlError(() => loadCsv(`${utf16}/utf16.csv`), 'BAD_FILE').message).toMatch(
      /utf16\.csv, line 1: UTF-16 text \(save the file as UTF-8\)/,
    );
  });

  it('refuses an items row with more fields than its header (an unquoted comma in a title)', () => {
    const dir = fixtureVariant('csv', {
      'items.csv': 'movieId,title,genres\ni1,American President, The (1995),Comedy|Drama\n',
      'rated.csv': 'u1,i1\n',
    });
    expect(expectMlError(() => loadCsv(`${dir}/rated.csv`, `${dir}/items.csv`), 'BAD_FILE').message).toMatch(
      /items\.csv, line 2: 4 fields under a header of 3: quote a field that holds a comma/,
    );
  });

  it('refuses a file with no interactions', () => {
    const dir = fixtureVariant('csv', { 'empty.csv': 'user,item\n' });
    expect(expectMlError(() => loadCsv(`${dir}/empty.csv`), 'BAD_FILE').message).toMatch(/no interactions/);
  });
});
