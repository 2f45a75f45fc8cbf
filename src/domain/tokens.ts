// Token format: "keygate_" + 43 base62 characters (256 random bits) + 6 base62 characters of the
// CRC32 of the random part. Verifier tokens (docs/rules.md, Verification) have the same format with
// their own prefix, "keygate_verifier_" (an API key token has no second underscore, so no token can
// be read as both). The checksum lets the server (and secret scanners) reject a mistyped or
// made-up token without touching the database. Only the SHA-256 of a token is ever stored.
import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const TOKEN_PREFIX = 'keygate_';
export const VERIFIER_TOKEN_PREFIX = 'keygate_verifier_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 43; // ceil(256 / log2(62))
const CHECKSUM_LENGTH = 6; // ceil(32 / log2(62))
export const TOKEN_LENGTH = TOKEN_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;
const patternOf = (prefix: string) => new RegExp(`^${prefix}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);
const TOKEN_PATTERN = patternOf(TOKEN_PREFIX);
const VERIFIER_TOKEN_PATTERN = patternOf(VERIFIER_TOKEN_PREFIX);

function base62(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out.padStart(width, '0');
}

/** The same digits as base62(), in plain number arithmetic (a CRC32 fits): it runs on every request. */
function checksum(body: string): string {
  let out = '';
  let rest = crc32(body);
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

export function generateToken(prefix: string = TOKEN_PREFIX): string {
  const body = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_LENGTH);
  return `${prefix}${body}${checksum(body)}`;
}

export const generateVerifierToken = () => generateToken(VERIFIER_TOKEN_PREFIX);

/** Looks like a verifier token (its prefix); whether it is well formed is isWellFormedVerifierToken's call. */
export const isVerifierToken = (token: string | null): token is string =>
  token?.startsWith(VERIFIER_TOKEN_PREFIX) === true;

export function isWellFormedVerifierToken(token: string): boolean {
  if (token.length !== VERIFIER_TOKEN_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH) return false;
  if (!VERIFIER_TOKEN_PATTERN.test(token)) return false;
  const body = token.slice(VERIFIER_TOKEN_PREFIX.length, VERIFIER_TOKEN_PREFIX.length + BODY_LENGTH);
  return token.endsWith(checksum(body));
}

/**
 * Any run of this many letters and digits may be a token's secret part (its random part and checksum,
 * whatever came before it): the log's scrubber (src/logger.ts) and the request ids
 * (src/observability/request-id.ts) treat it as one.
 */
export const TOKEN_SECRET_LENGTH = BODY_LENGTH + CHECKSUM_LENGTH;

/**
 * A run of TOKEN_SECRET_LENGTH or more letters and digits, whole. Written `{49}…*`, not `{49,}`: V8 ran
 * `[0-9A-Za-z]{49,}` in time growing with the square of a run's length (1.2 ms for 32,000 letters,
 * against 0.02 ms).
 */
export const TOKEN_SECRET_RUN = new RegExp(`[0-9A-Za-z]{${TOKEN_SECRET_LENGTH}}[0-9A-Za-z]*`);

/** Prefix, length, alphabet and checksum: everything that can be known without a lookup. */
export function isWellFormedToken(token: string): boolean {
  if (token.length !== TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) return false;
  const body = token.slice(TOKEN_PREFIX.length, TOKEN_PREFIX.length + BODY_LENGTH);
  return token.endsWith(checksum(body));
}

/** SHA-256, hex. The one-shot `hash` costs a third of a Hash object's create, update and digest: it runs on every request. */
export function hashToken(token: string): string {
  return hash('sha256', token, 'hex');
}

/** The same SHA-256 as its 32 bytes: what the token table stores ("ApiKeyToken"."hash"). */
export function tokenHashBytes(token: string): Buffer<ArrayBuffer> {
  return hash('sha256', token, 'buffer') as Buffer<ArrayBuffer>;
}
