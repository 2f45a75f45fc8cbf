import pino from 'pino';
import { isTokenSecret, SECRET_PART_RUN, TOKEN_PREFIX } from './domain/tokens.ts';

export type Logger = pino.Logger;

// The last line of defence, applied to every line as it is written: whatever a message, an error, a
// path or a quoted GraphQL document carries (a client may paste a token anywhere), no token of either
// kind, no SHA-256 hex digest (what is stored of a token) and no password inside a connection URL
// reaches the output. A token whose prefix does not read as one (`keygate%5F…` in a path, percent-encoded)
// is still found by its secret part, whose checksum tells it from any other run of letters and digits.
const SECRETS: ReadonlyArray<[RegExp, string | ((match: string) => string)]> = [
  [new RegExp(`${TOKEN_PREFIX}(?:verifier_)?[0-9A-Za-z]{8,}`, 'g'), `${TOKEN_PREFIX}[redacted]`],
  [SECRET_PART_RUN, (run) => (isTokenSecret(run) ? '[redacted token]' : run)],
  [/\b[0-9a-fA-F]{64}\b/g, '[redacted hash]'],
  // The scheme starts where no scheme character comes before it: tried from every letter of a long run
  // (a path of 15,000 letters), the pattern cost time in the square of the run's length, 127 ms of
  // CPU for one such request's log line.
  [/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/[^\s:@/"\\]*:)[^\s@/"\\]+@/gi, '$1[redacted]@'],
];

export function scrubSecrets(line: string): string {
  let scrubbed = line;
  for (const [pattern, replacement] of SECRETS) {
    // Narrowed for String.replace, whose two forms take a string or a function, not either.
    scrubbed =
      typeof replacement === 'string' ? scrubbed.replace(pattern, replacement) : scrubbed.replace(pattern, replacement);
  }
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
