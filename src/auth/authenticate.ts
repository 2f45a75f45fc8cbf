// The one authentication pipeline (docs/rules.md, Authentication; docs/architecture.md, the two
// trips): Authorization header → bearer token → format (checksum) → one hash → cache → lookup, with the
// failed-authentication and per-key limits (src/limits/rate-limit.ts) as steps in between. The node:http
// layer (src/http/server.ts), Yoga's plugin (src/http/authentication.ts) and POST /v1/verify
// (src/verification/http.ts) all call it; src/http/responses.ts turns a refusal into its answer.
//
// The answer is synchronous whenever nothing has to be waited for: a token the cache knows (valid, or
// known unknown) or one refused by its format, while no limit counts. A promise only for a lookup or a
// count. The pipeline never rejects: a failure is an outcome ('unavailable' for a database outage,
// 'failed' for anything else). Every outcome is counted once, here (keygate_authentications_total).
import { randomUUID } from 'node:crypto';
import { hashToken, isVerifierToken, isWellFormedToken, isWellFormedVerifierToken } from '../domain/tokens.ts';
import type { Caller } from '../domain/types.ts';
import { isDatabaseUnavailable } from '../errors.ts';
import type { RateLimited, RateLimits } from '../limits/rate-limit.ts';
import { signals } from '../observability/signals.ts';
import type { Principal } from '../verification/principal.ts';
import type { VerifierTokens } from '../verification/verifier-tokens.ts';
import { bearerToken } from './bearer.ts';
import type { TokenVerifier } from './verifier.ts';

/** Why a token was refused; one answer for all of them (401), told apart only in the metrics. */
export type UnauthenticatedReason = 'missing' | 'malformed' | 'unknown' | 'expired';

/** Every way authentication can fail; `refused` tells a refusal from a principal. */
export type Refusal =
  | { refused: true; kind: 'unauthenticated'; reason: UnauthenticatedReason }
  | ({ refused: true; kind: 'rate-limited' } & RateLimited)
  | { refused: true; kind: 'unavailable'; error: unknown }
  | { refused: true; kind: 'failed'; error: unknown; errorId: string };

/**
 * The principal itself (no wrapper object: a cached caller costs no allocation), or a refusal.
 * Test with `isRefusal`.
 */
export type Authentication = Principal | Refusal;

export const isRefusal = (outcome: Authentication): outcome is Refusal => (outcome as Refusal).refused === true;

/** The refusal for each reason, made once. */
export const UNAUTHENTICATED: Record<UnauthenticatedReason, Refusal> = {
  missing: { refused: true, kind: 'unauthenticated', reason: 'missing' },
  malformed: { refused: true, kind: 'unauthenticated', reason: 'malformed' },
  unknown: { refused: true, kind: 'unauthenticated', reason: 'unknown' },
  expired: { refused: true, kind: 'unauthenticated', reason: 'expired' },
};

/**
 * Where a well-formed token's hash is known (TokenVerifier for API keys, VerifierTokens): the cache,
 * synchronously (undefined: ask the database), and the database.
 */
interface Credentials {
  cached(hash: string): Principal | null | undefined;
  lookUpCaller(hash: string): Promise<Principal | 'expired' | null>;
}

export interface AuthenticatorOptions {
  /** API key tokens; refused as malformed when not given (POST /v1/verify takes verifier tokens only). */
  apiKeys?: TokenVerifier | undefined;
  /** Verifier tokens; refused as malformed when not given. */
  verifierTokens?: VerifierTokens | undefined;
  /** The limits whose steps apply; none when not given. */
  rateLimits?: RateLimits | undefined;
  /** Token → hash (SHA-256 by default; tests count the calls: one per token at most). */
  hash?: (token: string) => string;
}

/**
 * Whether two header values are equal, in a time that depends on their length only (the value is a
 * secret: an early exit would tell how much of a guess matches).
 */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

export class Authenticator {
  readonly #apiKeys: Credentials | null;
  readonly #verifiers: Credentials | null;
  readonly #rateLimits: RateLimits | null;
  readonly #hash: (token: string) => string;
  /**
   * The last well-formed token's Authorization header, its credentials and its hash. A service sends the
   * same verifier token (or API key) on request after request: its format (a pattern and a CRC32) and
   * SHA-256 are then worked out once, about 2 µs of a verification's 45. The cache (then the database)
   * is still asked every time, so a deleted or expired token is refused as before.
   */
  #lastHeader: string | null = null;
  #lastCredentials: Credentials | null = null;
  #lastHash: string | null = null;

  constructor(options: AuthenticatorOptions) {
    this.#apiKeys = options.apiKeys ?? null;
    this.#verifiers = options.verifierTokens ?? null;
    this.#rateLimits = options.rateLimits?.active ? options.rateLimits : null;
    this.#hash = options.hash ?? hashToken;
  }

  /**
   * Authenticates the request with this Authorization header. `addressOf(source)` (the client address,
   * src/limits/client-address.ts) is called only when the failed-authentication limit counts.
   */
  authenticate<S>(
    authorization: string | null | undefined,
    source: S,
    addressOf: (source: S) => string,
  ): Authentication | Promise<Authentication> {
    try {
      return this.#authenticate(authorization, source, addressOf);
    } catch (error) {
      // The cache's synchronous checks read the database too (src/auth/verifier.ts, externalChanges).
      return failure(error);
    }
  }

  #authenticate<S>(
    authorization: string | null | undefined,
    source: S,
    addressOf: (source: S) => string,
  ): Authentication | Promise<Authentication> {
    let missing = false;
    let credentials: Credentials | null;
    let hash: string | null;
    const last = this.#lastHeader;
    if (last !== null && typeof authorization === 'string' && sameSecret(authorization, last)) {
      credentials = this.#lastCredentials;
      hash = this.#lastHash;
    } else {
      const token = bearerToken(authorization);
      missing = token === null;
      credentials = token === null ? null : this.#credentialsOf(token);
      hash = credentials === null ? null : this.#hash(token as string);
      if (hash !== null) {
        this.#lastHeader = authorization as string;
        this.#lastCredentials = credentials;
        this.#lastHash = hash;
      }
    }
    const cached = hash === null ? null : (credentials as Credentials).cached(hash);
    const limits = this.#rateLimits;
    if (cached) {
      // Nothing to count for a verifier token (it has no per-key limit) or while keys are not counted.
      if (limits === null || !limits.countsKeys || cached.kind === 'verifier') return admitted(cached);
      return counted(limits, cached);
    }
    if (cached === null) {
      const reason = missing ? 'missing' : hash === null ? 'malformed' : 'unknown';
      if (limits === null || !limits.countsFailures) return refused(reason);
      return settled(this.#failure(limits, UNAUTHENTICATED[reason], addressOf(source)));
    }
    // Only a lookup can tell.
    if (limits === null) return settled(this.#lookUp(credentials as Credentials, hash as string));
    if (!limits.countsFailures)
      return settled(this.#lookUpAndCount(limits, credentials as Credentials, hash as string));
    return settled(this.#reserveAndLookUp(limits, credentials as Credentials, hash as string, addressOf(source)));
  }

  /** Which credentials a token would be, when it has their format; null when it has neither. */
  #credentialsOf(token: string): Credentials | null {
    if (isVerifierToken(token)) return this.#verifiers && isWellFormedVerifierToken(token) ? this.#verifiers : null;
    return this.#apiKeys && isWellFormedToken(token) ? this.#apiKeys : null;
  }

  async #lookUp(credentials: Credentials, hash: string): Promise<Authentication> {
    const found = await credentials.lookUpCaller(hash);
    if (found === null) return UNAUTHENTICATED.unknown;
    return found === 'expired' ? UNAUTHENTICATED.expired : found;
  }

  async #lookUpAndCount(limits: RateLimits, credentials: Credentials, hash: string): Promise<Authentication> {
    const found = await this.#lookUp(credentials, hash);
    return isRefusal(found) ? found : this.#perKey(limits, found);
  }

  /** A token refused without a lookup (missing, malformed, known unknown) is a failure of its address. */
  async #failure(limits: RateLimits, refusal: Refusal, address: string): Promise<Authentication> {
    return (await limits.reserveFailure(address)) === null ? rateLimited(limits.tooManyFailures()) : refusal;
  }

  /**
   * A lookup under the failed-authentication limit (src/limits/rate-limit.ts, top of the file): it first
   * takes a slot of its address's failures, given back when the token is valid. An address out of slots
   * is refused without a lookup, unless the token authenticated recently (known good).
   */
  async #reserveAndLookUp(
    limits: RateLimits,
    credentials: Credentials,
    hash: string,
    address: string,
  ): Promise<Authentication> {
    const slot = await limits.reserveFailure(address);
    if (slot === null && !(await limits.isKnownGood(hash))) return rateLimited(limits.tooManyFailures());
    let found: Authentication;
    try {
      found = await this.#lookUp(credentials, hash);
    } catch (error) {
      if (slot !== null) await limits.releaseFailure(slot);
      throw error;
    }
    if (isRefusal(found)) return slot === null ? rateLimited(limits.tooManyFailures()) : found;
    if (slot !== null) await limits.releaseFailure(slot);
    limits.rememberGood(hash);
    return this.#perKey(limits, found);
  }

  /** The per-key limit; a verifier token is no API key (the keys it checks have their own budget). */
  async #perKey(limits: RateLimits, principal: Principal): Promise<Authentication> {
    if (principal.kind === 'verifier' || !limits.countsKeys) return principal;
    const refusal = await limits.admitKey(principal.key.id);
    return refusal ? rateLimited(refusal) : principal;
  }
}

/**
 * A cached key under the per-key limit: the path of every request while limits are on, so its outcome
 * is counted here rather than through `settled` (one promise less).
 */
async function counted(limits: RateLimits, caller: Caller): Promise<Authentication> {
  try {
    const refusal = await limits.admitKey(caller.key.id);
    if (refusal === null) return admitted(caller);
    signals.authentication('rate_limited');
    return rateLimited(refusal);
  } catch (error) {
    return failure(error);
  }
}

function rateLimited(refusal: RateLimited): Refusal {
  return { refused: true, kind: 'rate-limited', ...refusal };
}

function admitted(principal: Principal): Principal {
  signals.authentication('ok');
  return principal;
}

function refused(reason: UnauthenticatedReason): Refusal {
  signals.authentication(reason);
  return UNAUTHENTICATED[reason];
}

/** Counts the outcome of a pipeline that had to wait, and turns a failure into its outcome. */
function settled(pending: Promise<Authentication>): Promise<Authentication> {
  return pending.then((outcome) => {
    if (!isRefusal(outcome)) return admitted(outcome);
    if (outcome.kind === 'unauthenticated') return refused(outcome.reason);
    signals.authentication('rate_limited'); // the only other outcome a pipeline resolves to
    return outcome;
  }, failure);
}

/** Not an authentication outcome: the database (or a limiter) could not tell. */
function failure(error: unknown): Refusal {
  if (isDatabaseUnavailable(error)) {
    signals.databaseUnavailable();
    return { refused: true, kind: 'unavailable', error };
  }
  return { refused: true, kind: 'failed', error, errorId: randomUUID() };
}
