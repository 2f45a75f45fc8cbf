// createVerifier: a service's client of Keygate's POST /v1/verify. Concurrent checks of the same token
// (with the same scopes and team) share one request; VALID answers may be kept for `cacheMs` (default
// 0: every check asks Keygate, so a revocation is seen within Keygate's own second; a cache of N ms
// lets a revoked key through for up to N ms more). Fails closed: when Keygate cannot be reached, answers
// 5xx, or takes longer than `timeoutMs`, verify() rejects with KeygateUnavailableError and the
// middlewares answer 503, never letting the request through.
import type { Verification, VerifyOptions } from './types.ts';

export interface VerifierOptions {
  /** Keygate's base URL, e.g. "http://keygate.internal:4000". */
  url: string;
  /** A verifier token (`keygate verifier create`). */
  token: string;
  /** How long a VALID answer is reused, in ms (default 0: never). Never past the token's own expiry. */
  cacheMs?: number;
  /** How long to wait for Keygate, in ms (default 2,000). */
  timeoutMs?: number;
  /** Keys kept in the cache at most (default 10,000; the least recently stored go first). */
  maxCacheEntries?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** Keygate could not give an answer (unreachable, timed out, unavailable): refuse the request. */
export class KeygateUnavailableError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeygateUnavailableError';
  }
}

/** Keygate refused the verifier's own request (a bad verifier token: 401; a bad request: 400). */
export class KeygateRequestError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'KeygateRequestError';
    this.status = status;
    this.code = code;
  }
}

export interface KeygateVerifier {
  verify(token: string, options?: VerifyOptions): Promise<Verification>;
  /** Forgets every cached answer. */
  clear(): void;
}

const keyOf = (token: string, options: VerifyOptions) =>
  `${token}\0${[...(options.requiredScopes ?? [])].sort().join(' ')}\0${options.teamId ?? ''}`;

export function createVerifier(options: VerifierOptions): KeygateVerifier {
  const endpoint = `${options.url.replace(/\/+$/, '')}/v1/verify`;
  const cacheMs = options.cacheMs ?? 0;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxEntries = options.maxCacheEntries ?? 10_000;
  const doFetch = options.fetch ?? fetch;
  const cache = new Map<string, { verification: Verification; until: number }>();
  const inFlight = new Map<string, Promise<Verification>>();

  async function ask(token: string, verifyOptions: VerifyOptions): Promise<Verification> {
    let response: Response;
    try {
      response = await doFetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          token,
          requiredScopes: verifyOptions.requiredScopes ?? [],
          ...(verifyOptions.teamId ? { teamId: verifyOptions.teamId } : {}),
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = (error as Error)?.name === 'TimeoutError';
      throw new KeygateUnavailableError(
        timedOut ? `Keygate did not answer within ${timeoutMs} ms.` : `Keygate could not be reached at ${endpoint}.`,
        { cause: error },
      );
    }
    if (response.status === 200) return (await response.json()) as Verification;
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    const message = body?.error?.message ?? `Keygate answered ${response.status}.`;
    if (response.status >= 500 || response.status === 429) {
      throw new KeygateUnavailableError(`Keygate is unavailable: ${message}`);
    }
    throw new KeygateRequestError(response.status, body?.error?.code ?? 'UNKNOWN_ERROR', message);
  }

  function remember(key: string, verification: Verification): void {
    if (cacheMs <= 0 || !verification.valid) return;
    const now = Date.now();
    const expires = verification.tokenExpiresAt ? Date.parse(verification.tokenExpiresAt) : Number.POSITIVE_INFINITY;
    const until = Math.min(now + cacheMs, expires);
    if (until <= now) return;
    if (cache.size >= maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(key, { verification, until });
  }

  return {
    verify(token, verifyOptions = {}) {
      const key = keyOf(token, verifyOptions);
      const cached = cache.get(key);
      if (cached) {
        if (cached.until > Date.now()) return Promise.resolve(cached.verification);
        cache.delete(key);
      }
      const pending = inFlight.get(key);
      if (pending) return pending;
      const request = ask(token, verifyOptions).then(
        (verification) => {
          inFlight.delete(key);
          remember(key, verification);
          return verification;
        },
        (error: unknown) => {
          inFlight.delete(key);
          throw error;
        },
      );
      inFlight.set(key, request);
      return request;
    },
    clear() {
      cache.clear();
    },
  };
}
