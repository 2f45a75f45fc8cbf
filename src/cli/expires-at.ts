// `--expires-at TIME` of `keygate key create`: an RFC 3339 time, or a duration from now such as 90d or
// 12h, in m (minutes: there are no months), h, d or w (docs/api.md, CLI). A value that is not one of
// these (white space around it included), names a day that does not exist (February 30th) or lands
// outside the years 0001 to 9999 in UTC (what GraphQL's DateTime takes; PostgreSQL has no year 0) is a
// usage error (exit 2), like any malformed option value; whether the time lies in the future is the
// domain's rule (parseExpiresAt, exit 1).
import { type Command, UsageError, usageLine } from './command.ts';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION = /^(\d{1,6})([mhdw])$/;
// Date and time with seconds and an explicit offset: what RFC 3339 requires (no bare dates).
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
// The first and last instants an RFC 3339 time (four-digit years) can name; the year 0000, which it
// can write, is no time: before the first, as GraphQL's DateTime has it (src/schema/builder.ts).
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Reads the option before anything runs; the time is computed against the domain's clock. */
export function expiresAtOption(command: Command, text: string): (now: Date) => Date {
  const wrong = (why: string) =>
    new UsageError(
      `--expires-at ${JSON.stringify(text)}: ${why}; give an RFC 3339 time (e.g. 2027-01-31T12:00:00Z) or a duration: a whole number and m (minutes), h (hours), d (days) or w (weeks), e.g. 90d.`,
      usageLine(command),
    );
  // Not trimmed: RFC 3339 has no white space, nor does GraphQL's DateTime read any. Space around a value
  // is a quoting mistake in a script (a variable with its newline), and a value the operator did not
  // write as they meant it is refused, as any malformed value is, not guessed at.
  if (text.trim() !== text) throw wrong('white space before or after it');
  const duration = DURATION.exec(text);
  if (duration) {
    const [, amount, unit] = duration as unknown as [string, string, keyof typeof UNIT_MS];
    return (now) => {
      const time = new Date(now.getTime() + Number(amount) * UNIT_MS[unit]);
      if (time.getTime() > LATEST) throw wrong('that is after the year 9999');
      return time;
    };
  }
  const fields = RFC3339.exec(text);
  const time = new Date(text);
  if (!fields || Number.isNaN(time.getTime())) throw wrong('not a time');
  // JavaScript shifts an impossible day (February 30th) or hour into a real one: the time must name,
  // at its own offset, exactly the fields written.
  const [, year, month, day, hour, minute, second, , sign, offsetHours, offsetMinutes] = fields;
  const offset = sign ? (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) : 0;
  const local = new Date(time.getTime() + offset * 60_000);
  const roundTrips =
    Number(offsetHours ?? 0) <= 23 &&
    Number(offsetMinutes ?? 0) <= 59 &&
    local.getUTCFullYear() === Number(year) &&
    local.getUTCMonth() + 1 === Number(month) &&
    local.getUTCDate() === Number(day) &&
    local.getUTCHours() === Number(hour) &&
    local.getUTCMinutes() === Number(minute) &&
    local.getUTCSeconds() === Number(second);
  if (!roundTrips) throw wrong('no such date or time');
  if (time.getTime() < EARLIEST) throw wrong('that is before the year 0001');
  if (time.getTime() > LATEST) throw wrong('that is after the year 9999');
  return () => time;
}
