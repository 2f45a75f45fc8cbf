// Ids of the rows Keygate creates: ULIDs that sort by creation time, with random characters drawn
// uniformly from the CSPRNG.
import { decodeTime } from 'ulidx';
import { describe, expect, it } from 'vitest';
import { newEventId, newId } from '../../src/domain/ids.ts';
import { isUlid } from '../../src/domain/input.ts';

describe('ids', () => {
  it('are ULIDs carrying the time they are made for', () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    for (const make of [newId, newEventId]) {
      const id = make(at);
      expect(isUlid(id)).toBe(true);
      expect(decodeTime(id)).toBe(at);
    }
  });

  it('sort in the order they were made, within one millisecond too', () => {
    const at = Date.now();
    const ids = Array.from({ length: 1000 }, (_, i) => newId(at + Math.floor(i / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('draw every random character uniformly from the 32 of Crockford base 32', () => {
    const counts = new Map<string, number>();
    // Later than any id made so far, a new millisecond each time: every id gets 16 fresh random
    // characters rather than an increment of the last ones.
    const start = Date.UTC(2100, 0, 1);
    for (let i = 0; i < 4000; i++) {
      for (const character of newEventId(start + i).slice(10)) counts.set(character, (counts.get(character) ?? 0) + 1);
    }
    expect(counts.size).toBe(32);
    // 64,000 draws: 2,000 expected per character; a fair source stays far inside ±15%.
    for (const count of counts.values()) expect(Math.abs(count - 2000)).toBeLessThan(300);
  });
});
