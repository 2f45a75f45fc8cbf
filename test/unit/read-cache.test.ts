// The read cache: an entry is served only under the stamp it was read under; a new stamp drops all.
import { describe, expect, it } from 'vitest';
import { ReadCache } from '../../src/domain/read-cache.ts';

/** A stamp the test moves, and how often it was taken. */
function stamps() {
  const state = { value: 1, taken: 0 };
  return {
    state,
    stamp: async () => {
      state.taken++;
      return String(state.value);
    },
  };
}

function loader<T>(value: T) {
  const calls = { count: 0 };
  const load = async () => {
    calls.count++;
    return value;
  };
  return { calls, load };
}

describe('read cache', () => {
  it('serves a value again while the stamp is unchanged, taking the stamp on every read', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    const { calls, load } = loader({ page: 1 });
    const first = await cache.read('a', load);
    expect(await cache.read('a', load)).toBe(first);
    expect(await cache.read('a', load)).toBe(first);
    expect(calls.count).toBe(1);
    expect(state.taken).toBe(3);
  });

  it('reads again, for every key, once the stamp has changed', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    const a = loader('a');
    const b = loader('b');
    await cache.read('a', a.load);
    await cache.read('b', b.load);
    state.value = 2;
    await cache.read('a', a.load);
    expect(a.calls.count).toBe(2);
    expect(cache.size).toBe(1); // b, read under the old stamp, was dropped
    await cache.read('b', b.load);
    expect(b.calls.count).toBe(2);
    await cache.read('a', a.load);
    await cache.read('b', b.load);
    expect([a.calls.count, b.calls.count]).toEqual([2, 2]);
  });

  it('does not keep a value whose read began under a stamp that a later read has replaced', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    let finish!: (value: string) => void;
    const slow = cache.read('a', () => new Promise<string>((resolve) => (finish = resolve)));
    await Promise.resolve();
    state.value = 2;
    const fresh = loader('new');
    expect(await cache.read('b', fresh.load)).toBe('new');
    finish('old');
    expect(await slow).toBe('old');
    const again = loader('new a');
    expect(await cache.read('a', again.load)).toBe('new a');
    expect(again.calls.count).toBe(1);
  });

  it('keeps different keys apart', async () => {
    const { stamp } = stamps();
    const cache = new ReadCache(stamp);
    expect(await cache.read('a', async () => 'A')).toBe('A');
    expect(await cache.read('b', async () => 'B')).toBe('B');
    expect(await cache.read('a', async () => 'not read')).toBe('A');
  });

  it('bounds the summed weight, dropping the least recently used first, and keeps nothing heavier than the bound', async () => {
    const { stamp } = stamps();
    const cache = new ReadCache(stamp, 10);
    const weigh = (value: number) => value;
    await cache.read('four', async () => 4, weigh);
    await cache.read('five', async () => 5, weigh);
    await cache.read('four', async () => -1, weigh); // used: now the most recent
    await cache.read('three', async () => 3, weigh); // 12 > 10: 'five' goes
    expect(cache.size).toBe(2);
    expect(await cache.read('four', async () => -1, weigh)).toBe(4);
    expect(await cache.read('five', async () => 50, weigh)).toBe(50); // too heavy to keep
    expect(await cache.read('five', async () => 51, weigh)).toBe(51);
    expect(await cache.read('three', async () => -1, weigh)).toBe(3);
  });

  it('a failed read is not kept and fails the caller', async () => {
    const { stamp } = stamps();
    const cache = new ReadCache(stamp);
    await expect(cache.read('a', async () => Promise.reject(new Error('database down')))).rejects.toThrow(
      'database down',
    );
    expect(await cache.read('a', async () => 'read')).toBe('read');
  });

  it('a failing stamp fails the read, even with a value kept', async () => {
    let fail = false;
    const cache = new ReadCache(async () => {
      if (fail) throw new Error('database down');
      return '1';
    });
    await cache.read('a', async () => 'kept');
    fail = true;
    await expect(cache.read('a', async () => 'read')).rejects.toThrow('database down');
  });
});
