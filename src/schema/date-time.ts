// The DateTime scalar's output: what Date.prototype.toISOString gives, in about half the time for the
// dates Keygate holds (a page of 50 keys has 100 to 150 of them; toISOString took 0.4 µs each).

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: past it, and before 1970, toISOString itself answers. */
const END_MS = 253_402_300_800_000;
const [ZERO, DASH, T, COLON, DOT, Z] = ['0', '-', 'T', ':', '.', 'Z'].map((char) => char.charCodeAt(0)) as [
  number,
  number,
  number,
  number,
  number,
  number,
];

/** The character codes of the tens and units of 0 to 99. */
const tens = (n: number) => ZERO + Math.floor(n / 10);
const units = (n: number) => ZERO + (n % 10);

/**
 * `date.toISOString()`, e.g. "2021-08-17T13:28:57.801Z", computed from the epoch milliseconds with the
 * days-to-civil-date arithmetic of H. Hinnant ("chrono-compatible low-level date algorithms"). The
 * string is made in one piece: a template literal would make a rope of a dozen strings, allocated per
 * date and kept until the response is written.
 */
export function isoString(date: Date): string {
  const ms = date.getTime();
  if (!(ms >= 0 && ms < END_MS)) return date.toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  // The civil date of a day number, in eras of 400 years starting on March 1st.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  const century = Math.floor(year / 100);
  return String.fromCharCode(
    tens(century),
    units(century),
    tens(year % 100),
    units(year % 100),
    DASH,
    tens(month),
    units(month),
    DASH,
    tens(day),
    units(day),
    T,
    tens(hours),
    units(hours),
    COLON,
    tens(minutes),
    units(minutes),
    COLON,
    tens(seconds),
    units(seconds),
    DOT,
    ZERO + Math.floor(millis / 100),
    tens(millis % 100),
    units(millis % 100),
    Z,
  );
}
