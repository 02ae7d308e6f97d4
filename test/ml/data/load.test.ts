import { describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src/ml/data/load.ts';
import { expectMlError, fixture } from './helpers.ts';

describe('loadDataset', () => {
  it('dispatches every spec kind to its loader', () => {
    expect(loadDataset(`movielens-1m:${fixture('ml-1m-4field')}`).items.ids.length).toBe(4);
    const lfm = loadDataset(`lastfm-hetrec:${fixture('lastfm-hetrec')}?minListeners=3&topTags=1`);
    expect(lfm.items.ids).toEqual(['10', '20']);
    expect(lfm.itemTags[0]).toEqual(['electronic']);
    const csv = loadDataset(`csv:${fixture('csv/interactions.csv')},${fixture('csv/items.csv')}`);
    expect(csv.itemTitles[0]).toBe('Heat, The');
    const syn = loadDataset('synthetic:users=40,items=30,genres=3,interactionsPerUser=8,minInteractions=5');
    expect([syn.users.ids.length, syn.items.ids.length]).toEqual([40, 30]);
  });

  it('passes bad spec and bad parameter errors through', () => {
    expectMlError(() => loadDataset('nope:1'), 'BAD_DATA_SPEC');
    expect(expectMlError(() => loadDataset('synthetic:users=0'), 'BAD_CONFIG').field).toBe('users');
    expectMlError(() => loadDataset('movielens-1m:/no/such/dir'), 'BAD_FILE');
  });
});
