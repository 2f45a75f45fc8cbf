import pino from 'pino';
import { TOKEN_PREFIX } from './domain/tokens.ts';

export type Logger = pino.Logger;

// The last line of defence, applied to every line as it is written: whatever a message, an error or a
// quoted GraphQL document carries (a client may paste a token anywhere), no token, no SHA-256 hex
// digest (what is stored of a token) and no password inside a connection URL reaches the output.
const SECRETS: ReadonlyArray<[RegExp, string]> = [
  [new RegExp(`${TOKEN_PREFIX}[0-9A-Za-z]{8,}`, 'g'), `${TOKEN_PREFIX}[redacted]`],
  [/\b[0-9a-fA-F]{64}\b/g, '[redacted hash]'],
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:@/"\\]*:)[^\s@/"\\]+@/gi, '$1[redacted]@'],
];

export function scrubSecrets(line: string): string {
  let scrubbed = line;
  for (const [pattern, replacement] of SECRETS) scrubbed = scrubbed.replace(pattern, replacement);
  return scrubbed;
}

/** Authorization headers and tokens are never logged, whatever the level. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token'],
        censor: '[redacted]',
      },
      hooks: { streamWrite: scrubSecrets },
    },
    destination,
  );
}
