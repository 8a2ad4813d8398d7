import { describe, expect, it } from 'vitest';
import { PageCache } from './page-cache.js';

describe('PageCache', () => {
  it('answers from the cache only while the index has not moved, and keeps the most recently used', async () => {
    const cache = new PageCache<string>(2);
    let loads = 0;
    const load = (v: string) => async () => {
      loads++;
      return v;
    };
    expect(await cache.get('a', 1, load('a@1'))).toBe('a@1');
    expect(await cache.get('a', 1, load('never'))).toBe('a@1');
    expect(await cache.get('a', 2, load('a@2'))).toBe('a@2');
    expect(loads).toBe(2);
    await cache.get('b', 2, load('b@2'));
    await cache.get('a', 2, load('never'));
    await cache.get('c', 2, load('c@2'));
    // b was the least recently used of three: it went.
    expect(await cache.get('a', 2, load('never'))).toBe('a@2');
    expect(await cache.get('b', 2, load('b again'))).toBe('b again');
    expect(loads).toBe(5);
  });

  it('keeps nothing when the load fails', async () => {
    const cache = new PageCache<string>(4);
    await expect(cache.get('a', 1, () => Promise.reject(new Error('bad cursor')))).rejects.toThrow('bad cursor');
    expect(await cache.get('a', 1, async () => 'ok')).toBe('ok');
  });
});
