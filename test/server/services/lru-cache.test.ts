import { describe, expect, it } from 'vitest';
import { LruCache } from '../../../src/server/services/recommendations.ts';

describe('LruCache', () => {
  it('evicts the least recently used entry past its count', () => {
    const c = new LruCache<string>(2);
    c.set('a', 'A');
    c.set('b', 'B');
    expect(c.get('a')).toBe('A'); // a is now the most recent
    c.set('c', 'C');
    expect([c.get('a'), c.get('b'), c.get('c')]).toEqual(['A', undefined, 'C']);
  });

  it('evicts past its total weight too (response bytes), keeping the weight exact through replacements', () => {
    const c = new LruCache<Buffer>(100, 10, (b) => b.length);
    c.set('a', Buffer.alloc(4));
    c.set('b', Buffer.alloc(4));
    c.set('a', Buffer.alloc(2)); // replaced: weight 6, a most recent
    expect(c.totalWeight).toBe(6);
    c.set('c', Buffer.alloc(5)); // 11 > 10: b, the least recent, goes
    expect([c.get('b'), c.get('a')?.length, c.get('c')?.length]).toEqual([undefined, 2, 5]);
    expect(c.totalWeight).toBe(7);
    c.set('huge', Buffer.alloc(50)); // alone over the limit: everything else goes, it stays (the caller caps bodies)
    expect(c.size).toBe(1);
    c.clear();
    expect(c.totalWeight).toBe(0);
  });
});
