// The per-key verification budget (docs/rules.md, Verification): every verification of a known,
// unexpired key takes one point of its key's budget for the current minute of the injected clock
// (KEYGATE_VERIFY_RATE_LIMIT_PER_KEY, default 1,200; 0: no budget). Counted by rate-limiter-flexible,
// in Redis when REDIS_URL is set (every process shares the counters), with an in-memory insurance
// limiter while Redis is unreachable, as the API's own limits do (src/limits/rate-limit.ts).
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { connectCounters, type RedisLogger } from '../limits/redis-connection.ts';

const WINDOW_MS = 60_000;
export const DEFAULT_VERIFY_PER_KEY = 1_200;

export interface RateLimitState {
  limit: number;
  remaining: number;
  resetAt: Date;
}

export interface BudgetOptions {
  perKeyPerMinute: number;
  redisUrl?: string | undefined;
  /** Prefix of the Redis keys (the budget adds "verify:"). */
  prefix?: string | undefined;
  now?: () => Date;
  logger?: RedisLogger;
}

export class VerifyBudget {
  readonly #limit: number;
  readonly #now: () => Date;
  readonly #limiter: RateLimiterMemory | RateLimiterRedis | null;
  readonly #redis: Redis | null;

  constructor(options: BudgetOptions) {
    this.#limit = options.perKeyPerMinute;
    this.#now = options.now ?? (() => new Date());
    const duration = WINDOW_MS / 1000;
    if (this.#limit <= 0) {
      this.#limiter = null;
      this.#redis = null;
    } else if (options.redisUrl) {
      this.#redis = connectCounters(
        options.redisUrl,
        {
          fallback: 'verification budgets are counted per process until it is back',
          restored: 'verification budgets are shared across processes',
        },
        options.logger,
      );
      this.#limiter = new RateLimiterRedis({
        storeClient: this.#redis,
        points: this.#limit,
        duration,
        keyPrefix: `${options.prefix ?? 'keygate:rl:'}verify`,
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ points: this.#limit, duration }),
      });
    } else {
      this.#redis = null;
      this.#limiter = new RateLimiterMemory({ points: this.#limit, duration });
    }
  }

  /** False when there is no budget (KEYGATE_VERIFY_RATE_LIMIT_PER_KEY=0): take and peek answer null. */
  get active(): boolean {
    return this.#limiter !== null;
  }

  /** Takes one point of the key's budget: the state afterwards, and whether it was within it. Null: no budget. */
  async take(apiKeyId: string): Promise<{ allowed: boolean; state: RateLimitState } | null> {
    const limiter = this.#limiter;
    if (!limiter) return null;
    const now = this.#now().getTime();
    const window = Math.floor(now / WINDOW_MS);
    const resetAt = new Date((window + 1) * WINDOW_MS);
    try {
      const res = await limiter.consume(`${apiKeyId}:${window}`);
      return { allowed: true, state: { limit: this.#limit, remaining: res.remainingPoints, resetAt } };
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return { allowed: false, state: { limit: this.#limit, remaining: 0, resetAt } };
    }
  }

  /** The key's budget now, without taking from it (an EXPIRED verdict still describes the key). */
  async peek(apiKeyId: string): Promise<RateLimitState | null> {
    const limiter = this.#limiter;
    if (!limiter) return null;
    const window = Math.floor(this.#now().getTime() / WINDOW_MS);
    const res = await limiter.get(`${apiKeyId}:${window}`);
    const remaining = Math.max(0, this.#limit - (res?.consumedPoints ?? 0));
    return { limit: this.#limit, remaining, resetAt: new Date((window + 1) * WINDOW_MS) };
  }

  /** Resolves once Redis is connected (true), or false if not within `timeoutMs` (or not used). */
  async ready(timeoutMs = 2_000): Promise<boolean> {
    const redis = this.#redis;
    if (!redis) return false;
    if (redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
    this.#redis?.disconnect();
  }
}
