// Rate limits (issue 4, README "Limits and rate limits"): requests per API key per minute, failed
// authentications per client address per minute; over a limit: HTTP 429, RATE_LIMITED and a
// Retry-After header in seconds. Counted in memory, or in Redis shared by every process. Windows are
// minutes of the test clock, so the tests move time instead of waiting.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createTokenLookup } from '../../src/auth/token-lookup.ts';
import { TokenVerifier } from '../../src/auth/verifier.ts';
import { loadConfig } from '../../src/config.ts';
import { RateLimits, type RateLimitsOptions } from '../../src/limits/rate-limit.ts';
import { COMMAND_TIMEOUT_MS, WATCH_EVERY_MS } from '../../src/limits/redis-connection.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { WHOAMI } from '../helpers/documents.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { startHttpServer } from '../helpers/verify-server.ts';

const REDIS_URL = process.env.KEYGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const MINUTE = 60_000;
/** A token of the right shape that no key has (checksum included: it costs a lookup). */
const WRONG = 'keygate_0000000000000000000000000000000000000000000';

interface Answer {
  status: number;
  code: string | undefined;
  message: string | undefined;
  retryAfter: string | null;
}

type Send = (token: string | null, headers?: Record<string, string>) => Promise<Answer>;

async function answer(response: Response): Promise<Answer> {
  const body = (await response.json()) as { errors?: Array<{ message: string; extensions?: { code?: string } }> };
  return {
    status: response.status,
    code: body.errors?.[0]?.extensions?.code,
    message: body.errors?.[0]?.message,
    retryAfter: response.headers.get('retry-after'),
  };
}

function viaFetch(app: { fetch: (url: string, init: RequestInit) => Promise<Response> | Response }): Send {
  return async (token, headers = {}) => {
    const all: Record<string, string> = { 'content-type': 'application/json', ...headers };
    if (token !== null) all.authorization = `Bearer ${token}`;
    return answer(
      await app.fetch('http://keygate.test/graphql', {
        method: 'POST',
        headers: all,
        body: JSON.stringify({ query: WHOAMI }),
      }),
    );
  };
}

/** Seconds left in the current minute of `now`, as Retry-After should say. */
function secondsLeft(now: Date): number {
  return Math.ceil((MINUTE - (now.getTime() % MINUTE)) / 1000);
}

function expectRateLimited(sent: Answer, retryAfter?: number) {
  expect(sent.status).toBe(429);
  expect(sent.code).toBe('RATE_LIMITED');
  expect(sent.retryAfter).toMatch(/^\d+$/);
  const seconds = Number(sent.retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
  if (retryAfter !== undefined) expect(seconds).toBe(retryAfter);
  expect(sent.message).toContain(`Retry after ${seconds} seconds`);
}

/** Sends `count` requests one after another and returns their answers. */
async function times(count: number, send: () => Promise<Answer>): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await send());
  return answers;
}

describe('configuration', () => {
  it('defaults to 1,200 requests and 3,000,000 of cost per key and 60 failed authentications per address per minute, in memory', () => {
    const { rateLimits } = loadConfig({});
    expect(rateLimits).toEqual({
      perKeyPerMinute: 1_200,
      failedAuthPerMinute: 60,
      costBudgetPerKeyPerMinute: 3_000_000,
      verifyPerKeyPerMinute: 1_200,
      prefix: 'keygate:rl:',
    });
  });

  it('takes the numbers, Redis and a trusted address header from the environment', () => {
    const { rateLimits } = loadConfig({
      KEYGATE_RATE_LIMIT_PER_KEY: '100',
      KEYGATE_FAILED_AUTH_LIMIT: '0',
      KEYGATE_COST_BUDGET_PER_KEY: '5000',
      REDIS_URL: 'redis://127.0.0.1:6379/2',
      KEYGATE_CLIENT_ADDRESS_HEADER: 'X-Forwarded-For',
    });
    expect(rateLimits).toEqual({
      perKeyPerMinute: 100,
      failedAuthPerMinute: 0,
      costBudgetPerKeyPerMinute: 5_000,
      verifyPerKeyPerMinute: 1_200,
      redisUrl: 'redis://127.0.0.1:6379/2',
      prefix: 'keygate:rl:',
      clientAddressHeader: 'x-forwarded-for',
    });
  });

  it('refuses a REDIS_URL that is not a redis:// URL, naming the variable', () => {
    expect(() => loadConfig({ REDIS_URL: 'http://example.test' })).toThrow(/REDIS_URL/);
  });
});

describe.each(providers)('rate limits on %s (in memory, app.fetch)', (provider) => {
  let t: TestApp;
  let org: Org;
  let send: Send;

  beforeAll(async () => {
    t = await createTestApp(provider, {
      rateLimits: { perKeyPerMinute: 5, failedAuthPerMinute: 3 },
      clientAddressHeader: 'x-forwarded-for',
    });
    t.clock.freeze();
    org = await t.org();
    send = viaFetch(t.app);
  });
  afterAll(() => t.close());

  // Every test starts in a minute of its own.
  const nextMinute = () => t.clock.advance(MINUTE);

  describe('per API key', () => {
    it('answers the request over the limit with 429, RATE_LIMITED and Retry-After until the minute ends', async () => {
      nextMinute();
      const key = await org.key({ roles: ['viewer'] });
      const within = await times(5, () => send(key.token));
      expect(within.map((sent) => sent.status)).toEqual([200, 200, 200, 200, 200]);
      const over = await send(key.token);
      expectRateLimited(over, secondsLeft(t.clock.now()));
      expect(over.message).toContain('5 requests per minute');
    });

    it('counts each key on its own', async () => {
      nextMinute();
      const busy = await org.key({ roles: ['viewer'] });
      const other = await org.key({ roles: ['viewer'] });
      await times(5, () => send(busy.token));
      expect((await send(busy.token)).status).toBe(429);
      expect((await send(other.token)).status).toBe(200);
    });

    it('starts counting again when the next minute begins', async () => {
      nextMinute();
      const key = await org.key({ roles: ['viewer'] });
      await times(5, () => send(key.token));
      t.clock.advance(secondsLeft(t.clock.now()) * 1000 - 1_000);
      expect((await send(key.token)).status).toBe(429); // one second before the minute ends
      t.clock.advance(1_000);
      expect((await send(key.token)).status).toBe(200);
    });

    it('refuses before running anything: a refused mutation writes nothing', async () => {
      nextMinute();
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      await times(5, () => send(manager.token));
      const response = await t.app.fetch('http://keygate.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${manager.token}` },
        body: JSON.stringify({ query: 'mutation { createApiKey(input: { name: "late" }) { token } }' }),
      });
      expect(response.status).toBe(429);
      expect(await t.domain.db.apiKey.count({ where: { name: 'late' } })).toBe(0);
    });
  });

  describe('failed authentications per client address', () => {
    it('answers the attempt over the limit with 429, RATE_LIMITED and Retry-After instead of 401', async () => {
      nextMinute();
      const from = { 'x-forwarded-for': '203.0.113.1' };
      const failures = await times(3, () => send(WRONG, from));
      expect(failures.map((sent) => [sent.status, sent.code])).toEqual(Array(3).fill([401, 'UNAUTHENTICATED']));
      const over = await send(WRONG, from);
      expectRateLimited(over, secondsLeft(t.clock.now()));
      expect(over.message).toMatch(/failed authentication attempts/);
    });

    it('counts missing and malformed tokens as failures too', async () => {
      nextMinute();
      const from = { 'x-forwarded-for': '203.0.113.2' };
      expect((await send(null, from)).status).toBe(401);
      expect((await send('not-a-token', from)).status).toBe(401);
      expect((await send(WRONG, from)).status).toBe(401);
      expect((await send(null, from)).status).toBe(429);
    });

    it('counts each address on its own', async () => {
      nextMinute();
      await times(4, () => send(WRONG, { 'x-forwarded-for': '203.0.113.3' }));
      expect((await send(WRONG, { 'x-forwarded-for': '203.0.113.3' })).status).toBe(429);
      expect((await send(WRONG, { 'x-forwarded-for': '203.0.113.4' })).status).toBe(401);
    });

    it('takes the last address of the trusted header (the one the proxy saw), not one the client wrote', async () => {
      nextMinute();
      // A guesser cannot escape its count by writing a fresh address in front of the proxy's.
      for (let i = 0; i < 3; i++) await send(WRONG, { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.5` });
      expect((await send(WRONG, { 'x-forwarded-for': '198.51.100.99, 203.0.113.5' })).status).toBe(429);
    });

    it('does not count successful authentications', async () => {
      nextMinute();
      const from = { 'x-forwarded-for': '203.0.113.6' };
      const key = await org.key({ roles: ['viewer'] });
      await times(2, () => send(WRONG, from));
      expect((await times(5, () => send(key.token, from))).every((sent) => sent.status === 200)).toBe(true);
      expect((await send(WRONG, from)).status).toBe(401); // the third failure: still within the limit
    });

    it('answers a blocked address 429 even for a valid token it has not used before: no oracle for guesses', async () => {
      nextMinute();
      const from = { 'x-forwarded-for': '203.0.113.7' };
      const guessed = await org.key({ roles: ['viewer'] });
      await times(3, () => send(WRONG, from));
      expectRateLimited(await send(guessed.token, from));
      expect((await send(guessed.token, { 'x-forwarded-for': '203.0.113.8' })).status).toBe(200);
    });

    it('keeps serving tokens that already authenticated from the blocked address', async () => {
      nextMinute();
      const from = { 'x-forwarded-for': '203.0.113.9' };
      const neighbour = await org.key({ roles: ['viewer'] });
      expect((await send(neighbour.token, from)).status).toBe(200);
      await times(4, () => send(WRONG, from));
      expect((await send(WRONG, from)).status).toBe(429);
      expect((await send(neighbour.token, from)).status).toBe(200);
    });

    it('lets the address try again when the next minute begins', async () => {
      nextMinute();
      const from = { 'x-forwarded-for': '203.0.113.10' };
      const key = await org.key({ roles: ['viewer'] });
      await times(4, () => send(WRONG, from));
      expect((await send(key.token, from)).status).toBe(429);
      t.clock.advance(secondsLeft(t.clock.now()) * 1000);
      expect((await send(WRONG, from)).status).toBe(401);
      expect((await send(key.token, from)).status).toBe(200);
    });
  });

  it('ignores address headers unless one is configured as trusted', async () => {
    const untrusting = await createTestApp(provider, { rateLimits: { perKeyPerMinute: 0, failedAuthPerMinute: 2 } });
    try {
      const sendThere = viaFetch(untrusting.app);
      // Without a socket and without a trusted header, every request is from the same unknown address.
      await sendThere(WRONG, { 'x-forwarded-for': '192.0.2.1' });
      await sendThere(WRONG, { 'x-forwarded-for': '192.0.2.2' });
      expect((await sendThere(WRONG, { 'x-forwarded-for': '192.0.2.3' })).status).toBe(429);
    } finally {
      await untrusting.close();
    }
  });
});

describe.each(providers)('rate limits on %s through the HTTP server', (provider) => {
  let t: TestApp;
  let org: Org;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    t = await createTestApp(provider);
    t.clock.freeze();
    org = await t.org();
    const rateLimits = new RateLimits({ perKeyPerMinute: 3, failedAuthPerMinute: 2, now: t.clock.now });
    const verifier = new TokenVerifier(t.domain, createTokenLookup(t.db.database.raw));
    ({ url, close } = await startHttpServer(t, { rateLimits, verifier }));
  });
  afterAll(async () => {
    await close?.();
    await t?.close();
  });

  const send: Send = (token, headers) =>
    viaFetch({ fetch: (_path, init) => fetch(`${url}/graphql`, init) })(token, headers);

  it('counts each request once: exactly the limit passes, then 429 with Retry-After', async () => {
    t.clock.advance(MINUTE);
    const key = await org.key({ roles: ['viewer'] });
    expect((await times(3, () => send(key.token))).map((sent) => sent.status)).toEqual([200, 200, 200]);
    expectRateLimited(await send(key.token), secondsLeft(t.clock.now()));
  });

  it('limits failed authentications by the peer address, ignoring untrusted headers', async () => {
    t.clock.advance(MINUTE);
    expect((await send(WRONG, { 'x-forwarded-for': '192.0.2.10' })).status).toBe(401);
    expect((await send(null, { 'x-forwarded-for': '192.0.2.11' })).status).toBe(401);
    expectRateLimited(await send(WRONG, { 'x-forwarded-for': '192.0.2.12' }), secondsLeft(t.clock.now()));
    t.clock.advance(MINUTE);
    expect((await send(WRONG)).status).toBe(401);
  });
});

describe.each(providers)('rate limits on %s shared through Redis', (provider) => {
  let t: TestApp;
  let org: Org;
  const prefix = `keygate-test:${randomUUID()}:`;
  let sendA: Send;
  let sendB: Send;
  let redis: Redis;

  /** A second Keygate "process": its own app, verifier and limits, on the same database and Redis. */
  async function instance(options: Omit<RateLimitsOptions, 'now'>): Promise<Send> {
    const rateLimits = new RateLimits({ ...options, now: t.clock.now });
    expect(await rateLimits.ready()).toBe(true);
    closers.push(() => rateLimits.close());
    const app = createApp({
      domain: t.domain,
      database: t.db.database,
      config: { corsOrigins: [], production: false, rateLimits: { clientAddressHeader: 'x-forwarded-for' } },
      logger: createLogger('silent'),
      rateLimits,
    });
    return viaFetch(app);
  }
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    t = await createTestApp(provider);
    t.clock.freeze();
    org = await t.org();
    const options = { perKeyPerMinute: 4, failedAuthPerMinute: 2, redisUrl: REDIS_URL, prefix };
    sendA = await instance(options);
    sendB = await instance(options);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    // Only this run's keys.
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await t?.close();
  });

  it('shares the per-key count between two instances', async () => {
    t.clock.advance(MINUTE);
    const key = await org.key({ roles: ['viewer'] });
    expect((await sendA(key.token)).status).toBe(200);
    expect((await sendB(key.token)).status).toBe(200);
    expect((await sendA(key.token)).status).toBe(200);
    expect((await sendB(key.token)).status).toBe(200);
    expectRateLimited(await sendA(key.token), secondsLeft(t.clock.now()));
    expectRateLimited(await sendB(key.token), secondsLeft(t.clock.now()));
    expect(await redis.keys(`${prefix}*`)).not.toHaveLength(0);
  });

  it('shares the failed-authentication count between two instances', async () => {
    t.clock.advance(MINUTE);
    const from = { 'x-forwarded-for': '203.0.113.50' };
    expect((await sendA(WRONG, from)).status).toBe(401);
    expect((await sendB(WRONG, from)).status).toBe(401);
    expectRateLimited(await sendA(WRONG, from));
    expectRateLimited(await sendB(WRONG, from));
  });

  it('starts counting again in the next minute', async () => {
    t.clock.advance(MINUTE);
    const key = await org.key({ roles: ['viewer'] });
    await times(4, () => sendA(key.token));
    expect((await sendB(key.token)).status).toBe(429);
    t.clock.advance(MINUTE);
    expect((await sendB(key.token)).status).toBe(200);
  });

  /** An app limiting 2 requests a key a minute, counted in the Redis at `redisUrl`; what it logs about Redis. */
  function limitedThrough(redisUrl: string) {
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger = {
      warn: (_: object, msg: string) => warnings.push(msg),
      info: (_: object, msg: string) => infos.push(msg),
    };
    const rateLimits = new RateLimits({
      perKeyPerMinute: 2,
      failedAuthPerMinute: 0,
      redisUrl,
      prefix,
      now: t.clock.now,
      logger,
    });
    const app = createApp({
      domain: t.domain,
      database: t.db.database,
      config: { corsOrigins: [], production: false },
      logger: createLogger('silent'),
      rateLimits,
    });
    return { rateLimits, send: viaFetch(app), warnings, infos };
  }

  it('keeps limiting, per process, and logs a warning when Redis cannot be reached', async () => {
    // Nothing listens on port 1: every connection attempt is refused.
    const { rateLimits, send, warnings } = limitedThrough('redis://127.0.0.1:1');
    try {
      expect(await rateLimits.ready(300)).toBe(false);
      const key = await org.key({ roles: ['viewer'] });
      const started = Date.now();
      expect((await times(3, () => send(key.token))).map((sent) => sent.status)).toEqual([200, 200, 429]);
      expect(Date.now() - started).toBeLessThan(2_000); // no waiting for Redis
      expect(warnings.some((msg) => /Redis is unreachable/.test(msg))).toBe(true);
    } finally {
      await rateLimits.close();
    }
  });

  it('keeps limiting, per process, without waiting, and logs a warning when Redis stops answering on an open connection', async () => {
    // A partition: the connection stays open and nothing comes back. Each request used to wait for
    // Redis until its deadline answered 503, on every process, while /readyz stayed green.
    const target = new URL(REDIS_URL);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const { rateLimits, send, warnings, infos } = limitedThrough(proxy.via(REDIS_URL));
    try {
      expect(await rateLimits.ready(2_000)).toBe(true);
      t.clock.advance(MINUTE);
      const key = await org.key({ roles: ['viewer'] });
      expect((await send(key.token)).status).toBe(200); // counted in Redis
      proxy.silence();
      const started = Date.now();
      // Counted in this process from here: two more, then 429.
      expect((await times(3, () => send(key.token))).map((sent) => sent.status)).toEqual([200, 200, 429]);
      expect(Date.now() - started).toBeLessThan(2 * COMMAND_TIMEOUT_MS + 1_000); // no waiting for the deadline
      await new Promise((resolve) => setTimeout(resolve, 2 * WATCH_EVERY_MS + COMMAND_TIMEOUT_MS));
      expect(warnings.some((msg) => /Redis is not answering/.test(msg))).toBe(true);
      // Once the silent connection is dropped, a request does not wait for Redis at all.
      const once = Date.now();
      expect((await send(key.token)).status).toBe(429);
      expect(Date.now() - once).toBeLessThan(COMMAND_TIMEOUT_MS);
      proxy.resume();
      expect(await rateLimits.ready(5_000)).toBe(true);
      expect(infos.some((msg) => /Redis is reachable again/.test(msg))).toBe(true);
    } finally {
      await rateLimits.close();
      await proxy.close();
    }
  }, 20_000);
});
