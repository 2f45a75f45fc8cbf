// Rate limits, enforced where a request is authenticated (the node:http layer and Yoga's context both
// call `authenticate`), counted by rate-limiter-flexible: in memory, or in Redis when REDIS_URL is set
// so that every Keygate process shares the counters.
//
// - Per API key: at most `perKeyPerMinute` authenticated requests in each minute.
// - Per client address: at most `failedAuthPerMinute` failed authentications in each minute. Past that,
//   the address is answered 429 for the rest of the minute without its token being looked at, valid or
//   not: answering a guessed valid token differently (200) from a wrong one (429) would turn the limit
//   into an oracle that does not slow guessing at all. Tokens that already authenticated from that
//   address are exempt, so a client sharing its address with a guesser keeps working; a token never
//   seen from there waits for the next minute.
//
// Windows are fixed minutes of the injected clock (the key of a counter names its minute), so tests move
// time instead of sleeping. If Redis cannot be reached, each process falls back to in-memory counters of
// its own (the library's insurance limiter) and logs a warning: limits stay on, per process, rather
// than failing open or failing every request.
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { hashToken } from '../domain/tokens.ts';
import type { Principal } from '../verification/principal.ts';

const WINDOW_MS = 60_000;
const KNOWN_GOOD_MAX = 50_000;

interface Limiter {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
}

export interface RateLimitsOptions {
  /** Requests per API key per minute; 0 means no limit. */
  perKeyPerMinute: number;
  /** Failed authentications per client address per minute; 0 means no limit. */
  failedAuthPerMinute: number;
  /** Counters live in this Redis when set (shared by every process using the same prefix). */
  redisUrl?: string;
  /** Prefix of the Redis keys. */
  prefix?: string;
  /** The clock the minutes are counted on. */
  now?: () => Date;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

export type AuthOutcome =
  | { kind: 'authenticated'; caller: Principal }
  | { kind: 'unauthenticated' }
  | { kind: 'rate-limited'; retryAfterSeconds: number; message: string };

/** The body of a 429 answer (sent with a Retry-After header by both authentication paths). */
export function rateLimitedBody(outcome: { message: string; retryAfterSeconds: number }): string {
  return JSON.stringify({
    errors: [{ message: outcome.message, extensions: { code: 'RATE_LIMITED', retryAfter: outcome.retryAfterSeconds } }],
  });
}

export class RateLimits {
  readonly #perKey: number;
  readonly #failedAuth: number;
  readonly #now: () => Date;
  readonly #keys: Limiter;
  readonly #failures: Limiter;
  readonly #redis: Redis | null;
  /** "address \0 token hash" of tokens that authenticated from that address (least recent dropped first). */
  readonly #knownGood = new Map<string, true>();

  constructor(options: RateLimitsOptions) {
    this.#perKey = options.perKeyPerMinute;
    this.#failedAuth = options.failedAuthPerMinute;
    this.#now = options.now ?? (() => new Date());
    const prefix = options.prefix ?? 'keygate:rl:';
    const duration = WINDOW_MS / 1000;
    const memory = (points: number) => new RateLimiterMemory({ points, duration });
    if (options.redisUrl && (this.#perKey > 0 || this.#failedAuth > 0)) {
      this.#redis = connect(options.redisUrl, options.logger);
      const redis = (points: number, name: string) =>
        new RateLimiterRedis({
          storeClient: this.#redis,
          points,
          duration,
          keyPrefix: `${prefix}${name}`,
          // While Redis is not connected, count in this process instead of waiting or failing.
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory(points),
        });
      this.#keys = redis(this.#perKey, 'key');
      this.#failures = redis(this.#failedAuth, 'fail');
    } else {
      this.#redis = null;
      this.#keys = memory(this.#perKey);
      this.#failures = memory(this.#failedAuth);
    }
  }

  /** False when both limits are off: authentication then needs no counting at all. */
  get active(): boolean {
    return this.#perKey > 0 || this.#failedAuth > 0;
  }

  /** Limits that never refuse (tests that are not about them). */
  static off(): RateLimits {
    return new RateLimits({ perKeyPerMinute: 0, failedAuthPerMinute: 0 });
  }

  /**
   * Authenticates `token` with `verify` under both limits. `verify` may throw (database down); the
   * error is the caller's to report and counts as no attempt.
   */
  async authenticate(
    token: string | null,
    address: string,
    verify: (token: string | null) => Promise<Principal | null>,
  ): Promise<AuthOutcome> {
    const guarded = this.#failedAuth > 0;
    const knownGoodKey = guarded && token !== null ? `${address}\0${hashToken(token)}` : null;
    if (guarded && !(knownGoodKey && this.#knownGood.has(knownGoodKey))) {
      const failures = await this.#failures.get(this.#windowKey(address));
      if (failures && failures.consumedPoints >= this.#failedAuth) return this.#tooManyFailures();
    }

    const caller = await verify(token);
    if (!caller) {
      if (!guarded) return { kind: 'unauthenticated' };
      const allowed = await this.#consume(this.#failures, address);
      return allowed ? { kind: 'unauthenticated' } : this.#tooManyFailures();
    }

    if (knownGoodKey) this.#rememberGood(knownGoodKey);
    // A verifier token is not an API key: the keys it checks have their own budget (src/verification).
    if (this.#perKey > 0 && caller.kind !== 'verifier' && !(await this.#consume(this.#keys, caller.key.id))) {
      return {
        kind: 'rate-limited',
        retryAfterSeconds: this.#retryAfter(),
        message: `Rate limit exceeded: an API key may make ${this.#perKey} requests per minute. Retry after ${this.#retryAfter()} seconds.`,
      };
    }
    return { kind: 'authenticated', caller };
  }

  /** Resolves once Redis is connected (true), or false if it is not within `timeoutMs` (or not used). */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    const redis = this.#redis;
    if (!redis) return false;
    if (redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const onReady = () => done(true);
      const done = (value: boolean) => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        resolve(value);
      };
      redis.once('ready', onReady);
    });
  }

  async close(): Promise<void> {
    if (!this.#redis) return;
    this.#redis.disconnect();
  }

  #windowKey(id: string): string {
    return `${id}:${Math.floor(this.#now().getTime() / WINDOW_MS)}`;
  }

  /** Seconds until the current window ends on the injected clock (at least 1). */
  #retryAfter(): number {
    const now = this.#now().getTime();
    const end = (Math.floor(now / WINDOW_MS) + 1) * WINDOW_MS;
    return Math.max(1, Math.ceil((end - now) / 1000));
  }

  /** One point for `id` in the current window: false when that goes over the limit. */
  async #consume(limiter: Limiter, id: string): Promise<boolean> {
    try {
      await limiter.consume(this.#windowKey(id));
      return true;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return false;
      throw rejection;
    }
  }

  #tooManyFailures(): AuthOutcome {
    const retryAfterSeconds = this.#retryAfter();
    return {
      kind: 'rate-limited',
      retryAfterSeconds,
      message: `Too many failed authentication attempts from this address. Retry after ${retryAfterSeconds} seconds.`,
    };
  }

  #rememberGood(key: string): void {
    this.#knownGood.delete(key);
    this.#knownGood.set(key, true);
    if (this.#knownGood.size > KNOWN_GOOD_MAX) {
      const oldest = this.#knownGood.keys().next().value;
      if (oldest !== undefined) this.#knownGood.delete(oldest);
    }
  }
}

/** A Redis connection that never queues commands while down (the limiter counts in memory then). */
function connect(url: string, logger: RateLimitsOptions['logger']): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger?.warn({ err: err.message }, 'Redis is unreachable: rate limits are counted per process until it is back');
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.info({}, 'Redis is reachable again: rate limits are shared across processes');
  });
  return redis;
}
