// The keys of a statement that gives them as one JSON value come in no particular order (the statement
// does not sort them: src/store/dialect.ts, keysAsJson); newestFirst orders them as every list shows
// keys, by id descending, which for ULIDs is newest first.
import { describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.ts';
import { newestFirst } from '../../src/store/key-columns.ts';

describe('newestFirst', () => {
  it('orders keys newest first whatever order they came in, the rest of each key untouched', () => {
    const at = Date.now();
    const ids = Array.from({ length: 200 }, (_, i) => newId(at + Math.floor(i / 20)));
    const keys = ids.map((id, i) => [id, `key ${i}`, i]);
    const shuffled = [...keys].sort(() => Math.random() - 0.5);
    const ordered = newestFirst(shuffled);
    expect(ordered.map((key) => key[0])).toEqual([...ids].reverse());
    expect(ordered).toEqual([...keys].reverse());
  });

  it('leaves no keys and one key as they are', () => {
    expect(newestFirst([])).toEqual([]);
    const one = [[newId(Date.now()), 'only']];
    expect(newestFirst(one)).toEqual(one);
  });
});
