// PostgreSQL's timestamp(3) columns hold UTC without a zone; the token lookup reads them as text. They
// must be read as UTC whatever the process's own time zone: read as local time, a grace token in a zone
// west of UTC would keep working for hours after its grace period. This file runs in such a zone.
process.env.TZ = 'America/Los_Angeles';

import { describe, expect, it } from 'vitest';
import { toDate } from '../../src/store/dialect.ts';

describe('PostgreSQL timestamps are UTC, whatever the process time zone', () => {
  it('the process really runs west of UTC here (control)', () => {
    expect(new Date('2026-01-15T12:00:00.000').getTime()).not.toBe(Date.UTC(2026, 0, 15, 12));
  });

  it.each([
    ['2026-01-15 12:00:00', Date.UTC(2026, 0, 15, 12)],
    ['2026-07-01 23:59:59.999', Date.UTC(2026, 6, 1, 23, 59, 59, 999)],
    ['2026-03-08 10:30:00.5', Date.UTC(2026, 2, 8, 10, 30, 0, 500)], // the US change to summer time
  ])('%s is that instant in UTC', (text, expected) => {
    expect(toDate(text, 'postgresql')?.getTime()).toBe(expected);
  });

  it('SQLite ISO-8601 text (with its Z) is read as written', () => {
    expect(toDate('2026-01-15T12:00:00.000Z', 'sqlite')?.getTime()).toBe(Date.UTC(2026, 0, 15, 12));
  });

  it('null stays null', () => {
    expect(toDate(null, 'postgresql')).toBeNull();
  });
});
