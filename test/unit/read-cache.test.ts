// The read cache: an entry is served only under the stamp it was read under; a new stamp drops all; a
// value is kept only when its key is read a second time under the same stamp, or, once a key has been
// kept, at its first read under every later stamp. A key's first read takes no stamp (once one has been taken).
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
    await cache.read('a', load);
    const kept = await cache.read('a', load);
    expect(await cache.read('a', load)).toBe(kept);
    expect(await cache.read('a', load)).toBe(kept);
    expect(calls.count).toBe(2);
    expect(state.taken).toBe(4);
  });

  it('keeps nothing read only once: a key is kept at its second read under the same stamp', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    for (let i = 0; i < 100; i++) await cache.read(`page ${i}`, async () => i);
    expect(cache.size).toBe(0);
    const a = loader('a');
    await cache.read('a', a.load);
    expect(cache.size).toBe(0);
    await cache.read('a', a.load);
    expect(cache.size).toBe(1);
    // A first read under the old stamp does not count under the new one.
    await cache.read('b', async () => 'b');
    state.value = 2;
    await cache.read('b', async () => 'b2');
    expect(cache.size).toBe(0);
    await cache.read('b', async () => 'b3');
    expect(await cache.read('b', async () => 'not read')).toBe('b3');
    expect(cache.size).toBe(1);
  });

  it('concurrent first reads of one key keep it: a burst after a change is served from then on', async () => {
    const { stamp } = stamps();
    const cache = new ReadCache(stamp);
    const { calls, load } = loader('page');
    await Promise.all(Array.from({ length: 5 }, () => cache.read('a', load)));
    expect(cache.size).toBe(1);
    await cache.read('a', load);
    expect(calls.count).toBe(5);
  });

  it('remembers first reads in bounded number: past the bound it starts over', async () => {
    const { stamp } = stamps();
    const cache = new ReadCache(stamp, 3);
    await cache.read('a', async () => 'a');
    for (const key of ['b', 'c', 'd']) await cache.read(key, async () => key); // the fourth key starts over
    await cache.read('a', async () => 'a again');
    expect(cache.size).toBe(0);
    await cache.read('d', async () => 'd again');
    expect(cache.size).toBe(1);
  });

  it('reads again, for every key, once the stamp has changed', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    const a = loader('a');
    const b = loader('b');
    for (const read of [a, b, a, b]) await cache.read(read === a ? 'a' : 'b', read.load);
    expect(cache.size).toBe(2);
    state.value = 2;
    await cache.read('a', a.load);
    expect(a.calls.count).toBe(3);
    expect(cache.size).toBe(1); // b, read under the old stamp, was dropped; a, hot, kept again at once
    await cache.read('a', a.load);
    await cache.read('b', b.load);
    await cache.read('b', b.load);
    expect(cache.size).toBe(2);
    await cache.read('a', a.load);
    await cache.read('b', b.load);
    expect([a.calls.count, b.calls.count]).toEqual([3, 3]);
  });

  it('a key once kept is kept at its first read under every later stamp; a key read once at a time never is', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    const polled = loader('page');
    await cache.read('polled', polled.load);
    await cache.read('polled', polled.load); // read twice under one stamp: kept, and hot from now on
    const paged = loader('next page');
    for (let change = 2; change <= 5; change++) {
      state.value = change; // another change committed
      await cache.read('paged', paged.load); // once under each stamp: never kept
      for (let poll = 0; poll < 3; poll++) await cache.read('polled', polled.load);
    }
    expect(polled.calls.count).toBe(2 + 4); // one statement a change
    expect(paged.calls.count).toBe(4);
    expect(cache.size).toBe(1);
    // A stamp under which the hot key was not read at all does not cool it.
    state.value = 6;
    await cache.read('paged', paged.load);
    state.value = 7;
    await cache.read('polled', polled.load);
    await cache.read('polled', polled.load);
    expect(polled.calls.count).toBe(7);
  });

  it('does not keep a value whose read began under a stamp that a later read has replaced', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    await cache.read('a', async () => 'first'); // so that the next read of 'a' would keep its value
    await cache.read('b', async () => 'b'); // so that the next read of 'b' takes the stamp
    let finish!: (value: string) => void;
    const slow = cache.read('a', () => new Promise<string>((resolve) => (finish = resolve)));
    await Promise.resolve();
    state.value = 2;
    const fresh = loader('new');
    expect(await cache.read('b', fresh.load)).toBe('new');
    finish('old');
    expect(await slow).toBe('old');
    expect(cache.size).toBe(0);
    const again = loader('new a');
    expect(await cache.read('a', again.load)).toBe('new a');
    expect(await cache.read('a', again.load)).toBe('new a');
    expect(again.calls.count).toBe(2);
  });

  it('keeps different keys apart', async () => {
    const { stamp } = stamps();
    const cache = new ReadCache(stamp);
    for (let i = 0; i < 2; i++) {
      expect(await cache.read('a', async () => 'A')).toBe('A');
      expect(await cache.read('b', async () => 'B')).toBe('B');
    }
    expect(await cache.read('a', async () => 'not read')).toBe('A');
    expect(await cache.read('b', async () => 'not read')).toBe('B');
  });

  it('bounds the summed weight, dropping the least recently used first, and keeps nothing heavier than the bound', async () => {
    const { stamp } = stamps();
    const cache = new ReadCache(stamp, 10);
    const weigh = (value: number) => value;
    const keep = async (key: string, value: number) => {
      await cache.read(key, async () => value, weigh);
      await cache.read(key, async () => value, weigh);
    };
    await keep('four', 4);
    await keep('five', 5);
    await cache.read('four', async () => -1, weigh); // used: now the most recent
    await keep('three', 3); // 12 > 10: 'five' goes
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
    await cache.read('a', async () => 'kept');
    expect(cache.size).toBe(1);
    fail = true;
    await expect(cache.read('a', async () => 'read')).rejects.toThrow('database down');
  });

  it("takes no stamp for a key's first read once a stamp has been taken: it is read whatever the stamp", async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    await cache.read('first of all', async () => 0); // the first read of all takes one
    expect(state.taken).toBe(1);
    const pages = Array.from({ length: 5 }, (_, i) => loader(`page ${i}`));
    for (const [i, page] of pages.entries()) expect(await cache.read(`page ${i}`, page.load)).toBe(`page ${i}`);
    expect(state.taken).toBe(1);
    // Asked again, a page takes the stamp and is kept; then it is served.
    await cache.read('page 0', pages[0]?.load as () => Promise<string>);
    expect(state.taken).toBe(2);
    expect(cache.size).toBe(1);
    expect(await cache.read('page 0', async () => 'not read')).toBe('page 0');
    expect(pages.map((page) => page.calls.count)).toEqual([2, 1, 1, 1, 1]);
  });

  it('a first read after a change, without a stamp, is forgotten at the next reading of the stamp: never kept from before it', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    await cache.read('other', async () => 'other'); // the stamp taken: 1
    await cache.read('a', async () => 'read under 1'); // no stamp taken
    state.value = 2; // a change
    const a = loader('read under 2');
    expect(await cache.read('a', a.load)).toBe('read under 2'); // takes stamp 2: the first read is forgotten
    expect(cache.size).toBe(0);
    expect(await cache.read('a', a.load)).toBe('read under 2'); // the second read under 2 keeps it
    expect(await cache.read('a', async () => 'not read')).toBe('read under 2');
    expect(a.calls.count).toBe(2);
  });

  it('a value kept under a stamp that first reads since have not taken is never served after the change', async () => {
    const { state, stamp } = stamps();
    const cache = new ReadCache(stamp);
    await cache.read('a', async () => 'first');
    let finish!: (value: string) => void;
    const slow = cache.read('a', () => new Promise<string>((resolve) => (finish = resolve)));
    await Promise.resolve();
    state.value = 2;
    expect(await cache.read('b', async () => 'b')).toBe('b'); // a first read: no stamp, so 2 is not seen yet
    finish('old');
    expect(await slow).toBe('old'); // kept under 1
    expect(await cache.read('a', async () => 'new')).toBe('new'); // stamp 2: not served
  });
});
