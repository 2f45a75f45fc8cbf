// The Redis connection of the shared counters (the rate limits, src/limits/rate-limit.ts, and the
// verification budget, src/verification/budget.ts). Redis is optional to a request: while it cannot
// answer, the counters are kept in each process (rate-limiter-flexible's insurance limiter), so a
// command must fail fast rather than wait.
// - Refused or closed: commands are not queued (enableOfflineQueue: false); the limiter counts in memory.
// - Connected but silent (a partition, a stopped host, a Redis stuck on a slow command): each command
//   gives up after COMMAND_TIMEOUT_MS, and a ping every WATCH_EVERY_MS that gets no answer in time drops
//   the connection, so that the commands after it go to memory at once while a new one is made. Without
//   this every request waited for Redis until its own deadline answered 503.
// Each state change is logged once: unreachable or silent (warn), reachable again (info).
import { Redis } from 'ioredis';
import { describeRedisError } from '../db/connection-errors.ts';

/** How long one command may wait for Redis's answer (a counter's round trip is well under 1 ms). */
export const COMMAND_TIMEOUT_MS = 500;
/** How often the connection is checked while connected. */
export const WATCH_EVERY_MS = 1_000;

export interface RedisLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** What the log says when the counters go to memory, and when they are shared again. */
export interface CounterMessages {
  /** E.g. "rate limits are counted per process until it is back". */
  fallback: string;
  /** E.g. "rate limits are shared across processes". */
  restored: string;
}

/** A connection to `url` for counters. */
export function connectCounters(url: string, messages: CounterMessages, logger?: RedisLogger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  const wentDown = (state: string, err: string, problem: string | null) => {
    if (down) return;
    down = true;
    logger?.warn({ err, problem }, `Redis ${state}: ${messages.fallback}`);
  };
  redis.on('error', (err: Error) => wentDown('is unreachable', err.message, describeRedisError(err, url)));
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.info({}, `Redis is reachable again: ${messages.restored}`);
  });
  let pinging = false;
  const watch = setInterval(() => {
    if (redis.status !== 'ready' || pinging) return;
    pinging = true;
    redis
      .ping()
      .catch((err: Error) => {
        wentDown('is not answering', err.message, `no answer to a ping within ${COMMAND_TIMEOUT_MS} ms`);
        // Reconnects (retryStrategy): commands meanwhile find it not ready and count in memory.
        redis.disconnect(true);
      })
      .finally(() => {
        pinging = false;
      });
  }, WATCH_EVERY_MS);
  watch.unref();
  redis.once('end', () => clearInterval(watch));
  return redis;
}
