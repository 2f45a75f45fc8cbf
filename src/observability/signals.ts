// What the metrics count, reported from where it happens (one call at each site). Every signal is a
// no-op until metrics are switched on (METRICS_PORT, src/observability/metrics.ts replaces them), so a
// process without metrics pays an empty call, and nothing here loads prom-client.

/** How an authentication attempt ended; `expired` is a token past its expiry (docs/rules.md, Expiry). */
export type AuthenticationOutcome = 'ok' | 'missing' | 'malformed' | 'unknown' | 'expired' | 'rate_limited';

/** The verdicts of token verification, as metric labels (docs/rules.md, Verification). */
export const VERIFICATION_VERDICTS = [
  'valid',
  'malformed',
  'unknown',
  'expired',
  'rate_limited',
  'insufficient_scopes',
] as const;
export type VerificationVerdict = (typeof VERIFICATION_VERDICTS)[number];

/** Which limit refused a request (src/limits/rate-limit.ts). */
export type RateLimit = 'key' | 'failed_auth';

export interface Signals {
  /** A finished HTTP request: its GraphQL operation ('' for none), outcome and duration. */
  request(operation: string, outcome: string, seconds: number): void;
  authentication(outcome: AuthenticationOutcome): void;
  /** A verdict of token verification (src/verification/engine.ts counts each once). */
  verification(verdict: VerificationVerdict): void;
  rateLimited(limit: RateLimit): void;
  /** An error that means the database cannot serve now (answered 503). */
  databaseUnavailable(): void;
  /** The token cache answered without the database (hit) or a lookup was needed (miss). */
  tokenCache(hit: boolean): void;
  /** A read of src/domain/read-cache.ts was served from the cache (hit) or loaded (miss). */
  readCache(hit: boolean): void;
  /** A lastUsedAt flush wrote uses recorded at these times. */
  lastUsedFlushed(recordedAt: Iterable<[string, Date]>): void;
}

const noop = () => {};

export const signals: Signals = {
  request: noop,
  authentication: noop,
  verification: noop,
  rateLimited: noop,
  databaseUnavailable: noop,
  tokenCache: noop,
  readCache: noop,
  lastUsedFlushed: noop,
};
