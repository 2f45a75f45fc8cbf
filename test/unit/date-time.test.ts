// The DateTime scalar's formatter gives exactly what Date.prototype.toISOString gives.
import { describe, expect, it } from 'vitest';
import { isoString } from '../../src/schema/date-time.ts';

const same = (ms: number) => expect(isoString(new Date(ms))).toBe(new Date(ms).toISOString());

describe('isoString', () => {
  it('matches toISOString on the edges of days, months, leap years, centuries and its range', () => {
    const edges = [
      0,
      1,
      999,
      Date.UTC(1970, 11, 31, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29, 12), // leap day of a year divisible by 400
      Date.UTC(2100, 1, 28, 23, 59, 59, 999), // 2100 is not a leap year
      Date.UTC(2100, 2, 1),
      Date.UTC(2024, 1, 29),
      Date.UTC(2023, 11, 31, 23, 59, 59, 999),
      Date.UTC(2024, 0, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(2021, 7, 17, 13, 28, 57, 801),
    ];
    for (const ms of edges) same(ms);
  });

  it('matches toISOString on 100,000 random instants of 1970 to 9999', () => {
    for (let i = 0; i < 100_000; i++) same(Math.floor(Math.random() * Date.UTC(10000, 0, 1)));
  });

  it('leaves dates before 1970 and from 10000 on to toISOString (extended years)', () => {
    for (const ms of [-1, Date.UTC(1969, 11, 31, 23, 59, 59, 999), Date.UTC(-1, 0, 1), Date.UTC(10000, 0, 1)]) same(ms);
    expect(isoString(new Date(Date.UTC(10000, 0, 1)))).toBe('+010000-01-01T00:00:00.000Z');
  });
});
