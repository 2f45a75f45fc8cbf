import pino from 'pino';
import { TOKEN_PREFIX, TOKEN_SECRET_LENGTH, TOKEN_SECRET_RUN } from './domain/tokens.ts';

export type Logger = pino.Logger;

// The last line of defence, applied to every line as it is written: whatever a message, an error, a
// path or a quoted GraphQL document carries (a client may paste a token anywhere, in any encoding), no
// token of either kind, no SHA-256 hex digest (what is stored of a token) and no password inside a
// connection URL reaches the output. A token is found by its prefix, and also by its secret part: any
// run of TOKEN_SECRET_LENGTH or more letters and digits is redacted, whatever is around it (a SHA-256
// hex digest is one; Keygate's ids are 26 characters), and so is any run of letters, digits, `_` and
// percent-escapes that holds one once decoded, however many times (`keygate%5F…`, `%6B%65…`,
// `keygate%255F…` in a path).
// Every pattern runs in time proportional to the line, whatever a client puts in it (the run of letters
// and digits is TOKEN_SECRET_RUN, whose comment says how).
// A run of what a token and its percent-escapes are made of (`%` alone too: a class, not an alternation
// of escapes, which V8 also ran in time growing faster than the run).
const ENCODED_SPAN = new RegExp(`[0-9A-Za-z_%]{${TOKEN_SECRET_LENGTH}}[0-9A-Za-z_%]*`, 'g');
const PERCENT_ESCAPE = /%([0-9A-Fa-f]{2})/g;
const MAX_DECODED_SPAN = 512;

const DECODING_ROUNDS = 8;
const AN_ESCAPE = /%[0-9A-Fa-f]{2}/;

/**
 * Whether `span`, percent-decoded until nothing changes, holds a run as long as a token's secret part;
 * a span still encoded after DECODING_ROUNDS decodes (no client encodes a path that many times) counts
 * as holding one.
 */
function holdsEncodedToken(span: string): boolean {
  let text = span;
  for (let round = 0; round < DECODING_ROUNDS; round++) {
    const next = text.replace(PERCENT_ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (next === text) return TOKEN_SECRET_RUN.test(text);
    text = next;
  }
  return TOKEN_SECRET_RUN.test(text) || AN_ESCAPE.test(text);
}

/** `line` with every run of letters, digits, `_` and percent-escapes that holds a token once decoded replaced. */
function withoutEncodedTokens(line: string): string {
  if (!line.includes('%')) return line;
  ENCODED_SPAN.lastIndex = 0;
  let scrubbed = '';
  let from = 0;
  for (let found = ENCODED_SPAN.exec(line); found !== null; found = ENCODED_SPAN.exec(line)) {
    const span = found[0];
    // Longer than any encoding of a token (5 × 57 characters, doubly encoded) is redacted undecoded.
    if (span.includes('%') && (span.length > MAX_DECODED_SPAN || holdsEncodedToken(span))) {
      scrubbed += `${line.slice(from, found.index)}[redacted]`;
      from = found.index + span.length;
    }
  }
  return from === 0 ? line : scrubbed + line.slice(from);
}

const SECRETS: ReadonlyArray<[RegExp, string]> = [
  [new RegExp(TOKEN_SECRET_RUN.source, 'g'), '[redacted]'],
  [new RegExp(`${TOKEN_PREFIX}(?:verifier_)?[0-9A-Za-z]{8,}`, 'g'), `${TOKEN_PREFIX}[redacted]`],
  // The scheme starts where no scheme character comes before it: tried from every letter of a long run
  // (a path of 15,000 letters), the pattern cost time in the square of the run's length, 127 ms of
  // CPU for one such request's log line.
  [/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/[^\s:@/"\\]*:)[^\s@/"\\]+@/gi, '$1[redacted]@'],
];

export function scrubSecrets(line: string): string {
  // First, while an encoded token is whole.
  let scrubbed = withoutEncodedTokens(line);
  for (const [pattern, replacement] of SECRETS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

/** `value` without any "stack" property, at any depth (an error's cause, an aggregate's errors). */
function withoutStacks(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => withoutStacks(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value)) {
    if (name !== 'stack') copy[name] = withoutStacks(field, depth + 1);
  }
  return copy;
}

/**
 * An error as pino's own serializer gives it (type, message, code and the error's other fields, its
 * cause's message included), without its stack: docs/api.md promises no log line holds one. The type,
 * the message and the error id of the request (which the client was shown) say what failed.
 */
const errWithoutStack = (error: unknown): unknown =>
  withoutStacks(error instanceof Error ? pino.stdSerializers.err(error) : error);

/** Authorization headers and tokens are never logged, whatever the level; nor stacks. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token'],
        censor: '[redacted]',
      },
      serializers: { err: errWithoutStack },
      hooks: { streamWrite: scrubSecrets },
    },
    destination,
  );
}
