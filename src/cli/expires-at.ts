// `--expires-at TIME` of `keygate key create`: an RFC 3339 time, or a duration from now such as 90d or
// 12h (docs/api.md, CLI). Whether the time lies in the future is the domain's rule (parseExpiresAt).
import { badInput } from '../domain/errors.ts';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION = /^(\d{1,6})([mhdw])$/;
// Date and time with seconds and an explicit offset: what RFC 3339 requires (no bare dates).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function parseExpiresAtOption(text: string, now: Date): Date {
  const duration = DURATION.exec(text.trim());
  if (duration) {
    const [, amount, unit] = duration as unknown as [string, string, keyof typeof UNIT_MS];
    return new Date(now.getTime() + Number(amount) * UNIT_MS[unit]);
  }
  const time = new Date(text);
  if (!RFC3339.test(text.trim()) || Number.isNaN(time.getTime())) {
    throw badInput(
      `--expires-at ${JSON.stringify(text)}: give an RFC 3339 time (e.g. 2027-01-31T12:00:00Z) or a duration such as 90d, 12h, 30m or 2w.`,
    );
  }
  return time;
}
