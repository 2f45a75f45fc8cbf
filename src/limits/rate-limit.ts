// Rate limits, enforced where a request is authenticated: the steps below are called by the one
// authentication pipeline (src/auth/authenticate.ts), which decides when each applies. Counted by
// rate-limiter-flexible: in memory, or in Redis when REDIS_URL is set so that every Keygate process
// shares the counters.
//
// - Per API key: at most `perKeyPerMinute` authenticated requests in each minute.
// - Per client address: at most `failedAuthPerMinute` lookups of tokens that turn out unknown (and
//   missing or malformed tokens) in each minute, exactly, however many requests arrive at once: a slot
//   is taken atomically before the lookup and given back when the token turns out valid. Past that,
//   the address is answered 429 for the rest of the minute without its token being looked up: answering
//   a guessed valid token differently (200) from a wrong one (429) would turn the limit into an oracle.
//   Tokens known to be valid are exempt, so a client sharing its address with a guesser keeps working:
//   a token this process has cached as valid, or one that authenticated on any process within the last
//   KNOWN_GOOD_MS (its hash is kept in Redis when REDIS_URL is set, in this process otherwise). A valid
//   token seen nowhere recently waits for the next minute.
// - Per API key, cost: at most `costBudgetPerKeyPerMinute` of the cost estimate a minute (charged by
//   src/limits/graphql-limits.ts, operationLimits, once the operation's cost is known; cheap operations
//   are not charged, so they add no round trip).
//
// Windows are fixed minutes of the injected clock (the key of a counter names its minute), so tests move
// time instead of sleeping. If Redis cannot be reached, or stops answering, each process falls back to
// in-memory counters of its own (the library's insurance limiter) and logs a warning: limits stay on,
// per process, rather than failing open, failing every request or waiting (src/limits/redis-connection.ts).
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { signals } from '../observability/signals.ts';
import { connectCounters } from './redis-connection.ts';

const WINDOW_MS = 60_000;
/** How long a token that authenticated stays exempt from its address's failed-authentication limit. */
export const KNOWN_GOOD_MS = 15 * 60_000;
const KNOWN_GOOD_MAX = 50_000;

interface Limiter {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
  reward(key: string, points?: number): Promise<RateLimiterRes>;
}

export interface RateLimitsOptions {
  /** Requests per API key per minute; 0 means no limit. */
  perKeyPerMinute: number;
  /** Failed authentications per client address per minute; 0 means no limit. */
  failedAuthPerMinute: number;
  /** Cost per API key per minute (see chargeCost); 0 or unset means no limit. */
  costBudgetPerKeyPerMinute?: number;
  /** Counters live in this Redis when set (shared by every process using the same prefix). */
  redisUrl?: string;
  /** Prefix of the Redis keys. */
  prefix?: string;
  /** The clock the minutes are counted on. */
  now?: () => Date;
  logger?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** A refusal by a limit: when to come back, and why (the message of the 429). */
export interface RateLimited {
  retryAfterSeconds: number;
  message: string;
}

export class RateLimits {
  readonly #perKey: number;
  readonly #failedAuth: number;
  readonly #now: () => Date;
  readonly #keys: Limiter;
  readonly #failures: Limiter;
  readonly #costBudget: number;
  readonly #costs: Limiter;
  readonly #redis: Redis | null;
  readonly #goodPrefix: string;
  /** Hashes of tokens that authenticated here, with when (least recently remembered dropped first). */
  readonly #knownGood = new LRUCache<string, number>({ max: KNOWN_GOOD_MAX });

  constructor(options: RateLimitsOptions) {
    this.#perKey = options.perKeyPerMinute;
    this.#failedAuth = options.failedAuthPerMinute;
    this.#now = options.now ?? (() => new Date());
    const prefix = options.prefix ?? 'keygate:rl:';
    this.#goodPrefix = `${prefix}good:`;
    const duration = WINDOW_MS / 1000;
    const memory = (points: number) => new RateLimiterMemory({ points, duration });
    this.#costBudget = options.costBudgetPerKeyPerMinute ?? 0;
    if (options.redisUrl && (this.#perKey > 0 || this.#failedAuth > 0 || this.#costBudget > 0)) {
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
      this.#costs = redis(this.#costBudget, 'cost');
    } else {
      this.#redis = null;
      this.#keys = memory(this.#perKey);
      this.#failures = memory(this.#failedAuth);
      this.#costs = memory(this.#costBudget);
    }
  }

  /** False when both limits are off: authentication then needs no counting at all. */
  get active(): boolean {
    return this.#perKey > 0 || this.#failedAuth > 0;
  }

  /** True when requests per API key are counted. */
  get countsKeys(): boolean {
    return this.#perKey > 0;
  }

  /** True when failed authentications per client address are counted. */
  get countsFailures(): boolean {
    return this.#failedAuth > 0;
  }

  /** Limits that never refuse (tests that are not about them). */
  static off(): RateLimits {
    return new RateLimits({ perKeyPerMinute: 0, failedAuthPerMinute: 0 });
  }

  /**
   * Takes one of the address's failure slots of this minute, atomically (concurrent requests cannot
   * overshoot the limit): the slot to give back with `releaseFailure` if the token turns out valid, or
   * null when the address has none left.
   */
  async reserveFailure(address: string): Promise<string | null> {
    const slot = this.#windowKey(address);
    return (await this.#take(this.#failures, slot)) ? slot : null;
  }

  /** Gives back a slot of `reserveFailure` (the token was valid, or its lookup failed). */
  async releaseFailure(slot: string): Promise<void> {
    await this.#failures.reward(slot).catch(() => {});
  }

  /** The refusal of an address past its failed authentications (counted in the metrics). */
  tooManyFailures(): RateLimited {
    signals.rateLimited('failed_auth');
    const retryAfterSeconds = this.#retryAfter();
    return {
      retryAfterSeconds,
      message: `Too many failed authentication attempts from this address. Retry after ${retryAfterSeconds} seconds.`,
    };
  }

  /** Counts one request of an API key: null while within its limit (or none is set), else the refusal. */
  async admitKey(keyId: string): Promise<RateLimited | null> {
    if (this.#perKey <= 0 || (await this.#take(this.#keys, this.#windowKey(keyId)))) return null;
    signals.rateLimited('key');
    const retryAfterSeconds = this.#retryAfter();
    return {
      retryAfterSeconds,
      message: `Rate limit exceeded: an API key may make ${this.#perKey} requests per minute. Retry after ${retryAfterSeconds} seconds.`,
    };
  }

  /**
   * Charges `cost` to the key's budget of the current minute: null while within it, else the refusal
   * (the charge stays counted: a key over its budget stays refused until the minute ends).
   */
  async chargeCost(keyId: string, cost: number): Promise<RateLimited | null> {
    if (this.#costBudget === 0) return null;
    try {
      await this.#costs.consume(this.#windowKey(keyId), cost);
      return null;
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfterSeconds = this.#retryAfter();
      return {
        retryAfterSeconds,
        message: `Cost budget exceeded: an API key may spend ${this.#costBudget} of estimated query cost per minute (KEYGATE_COST_BUDGET_PER_KEY); this request costs ${cost}. Retry after ${retryAfterSeconds} seconds.`,
      };
    }
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

  /** One point in the window `slot`: false when that goes over the limit. */
  async #take(limiter: Limiter, slot: string): Promise<boolean> {
    try {
      await limiter.consume(slot);
      return true;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return false;
      throw rejection;
    }
  }

  /**
   * Notes that the token with `hash` was looked up and is valid: here, and in Redis for every other
   * process. Called after lookups only; a token in use is looked up again every few seconds (the
   * verifier's maxAgeMs), which keeps it fresh here and in Redis.
   */
  rememberGood(hash: string): void {
    this.#knownGood.set(hash, this.#now().getTime());
    if (this.#redis?.status === 'ready') {
      this.#redis.set(`${this.#goodPrefix}${hash}`, '1', 'PX', KNOWN_GOOD_MS).catch(() => {});
    }
  }

  /** Did the token with `hash` authenticate recently, here or (with Redis) on any process? */
  async isKnownGood(hash: string): Promise<boolean> {
    const at = this.#knownGood.peek(hash);
    if (at !== undefined && this.#now().getTime() - at < KNOWN_GOOD_MS) return true;
    if (this.#redis?.status !== 'ready') return false;
    try {
      return (await this.#redis.exists(`${this.#goodPrefix}${hash}`)) === 1;
    } catch {
      return false;
    }
  }
}

/** The counters' Redis connection (src/limits/redis-connection.ts). */
const connect = (url: string, logger: RateLimitsOptions['logger']): Redis =>
  connectCounters(
    url,
    {
      fallback: 'rate limits are counted per process until it is back',
      restored: 'rate limits are shared across processes',
    },
    logger,
  );
