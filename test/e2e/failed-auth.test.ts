// The failed-authentication limit on PostgreSQL under a burst (docs/rules.md, rate limits): 1,000
// well-formed unknown tokens over 200 concurrent connections cause at most the configured number of
// lookups, in one process or in two sharing Redis; and a key that authenticated recently, on any
// process, is not refused because someone else at its address used up the address's failures.
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLookup } from '../../src/auth/token-lookup.ts';
import { TokenVerifier } from '../../src/auth/verifier.ts';
import { generateToken } from '../../src/domain/tokens.ts';
import { RateLimits } from '../../src/limits/rate-limit.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import type { Listening } from '../helpers/ports.ts';
import { startHttpServer } from '../helpers/verify-server.ts';

const REDIS_URL = process.env.KEYGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LIMIT = 60;
const MINUTE = 60_000;
const BODY = JSON.stringify({ query: '{ currentApiKey { id } }' });

function post(agent: Agent, port: number, token: string, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/graphql',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(BODY),
          authorization: `Bearer ${token}`,
          'x-forwarded-for': address,
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.once('error', reject);
    req.end(BODY);
  });
}

describe.each([
  { shared: 'memory', processes: 1 },
  { shared: 'Redis', processes: 2 },
])(
  'failed-authentication limit on PostgreSQL, counters in $shared, $processes process(es)',
  ({ shared, processes }) => {
    let t: TestApp;
    let org: Org;
    const lookups = { count: 0 };
    const instances: Listening[] = [];
    const prefix = `keygate:test:${randomUUID()}:`;
    let agent: Agent;

    beforeAll(async () => {
      t = await createTestApp('postgresql');
      // The windows are minutes of the test clock: start just after a minute begins, and stay in it.
      t.clock.freeze();
      t.clock.advance(MINUTE - (t.clock.now().getTime() % MINUTE) + 1_000);
      org = await t.org();
      agent = new Agent({ keepAlive: true, maxSockets: 200 });
      const lookup = createTokenLookup(t.db.database.raw);
      for (let i = 0; i < processes; i++) {
        // What a process keeps to itself: its verifier (token cache) and its limiter (local memory).
        const verifier = new TokenVerifier(t.domain, {
          find: (hash) => {
            lookups.count++;
            return lookup.find(hash);
          },
        });
        const rateLimits = new RateLimits({
          perKeyPerMinute: 0,
          failedAuthPerMinute: LIMIT,
          ...(shared === 'Redis' ? { redisUrl: REDIS_URL, prefix } : {}),
          now: t.clock.now,
        });
        if (shared === 'Redis') expect(await rateLimits.ready()).toBe(true);
        instances.push(await startHttpServer(t, { rateLimits, verifier, clientAddressHeader: 'x-forwarded-for' }));
      }
    }, 60_000);

    afterAll(async () => {
      agent?.destroy();
      for (const instance of instances) await instance.close();
      if (shared === 'Redis') {
        const redis = new Redis(REDIS_URL);
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length) await redis.del(...keys);
        redis.disconnect();
      }
      await t?.close();
    });

    it(`1,000 unknown tokens over 200 connections: at most ${LIMIT} lookups, the rest 429`, async () => {
      const address = '203.0.113.1';
      const before = lookups.count;
      const statuses = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          post(agent, (instances[i % instances.length] as Listening).port, generateToken(), address),
        ),
      );
      const looked = lookups.count - before;
      console.info(`${shared}: ${looked} lookups for 1,000 unknown tokens over 200 connections (limit ${LIMIT})`);
      expect(looked).toBeLessThanOrEqual(LIMIT);
      expect(statuses.filter((status) => status === 401)).toHaveLength(looked);
      expect(statuses.filter((status) => status === 429)).toHaveLength(1_000 - looked);
    }, 60_000);

    it('a key that authenticated recently on any process is not refused at an address blocked by others', async () => {
      const [a, b] = [instances[0] as Listening, instances.at(-1) as Listening];
      const crowd = '198.51.100.7'; // every client behind one proxy
      const key = await org.key({ roles: ['viewer'] });
      const fresh = await org.key({ roles: ['viewer'] });
      // The key works from somewhere else, on process A.
      expect(await post(agent, a.port, key.token, '198.51.100.200')).toBe(200);
      // An attacker behind the shared address uses up its failures, on process B.
      await Promise.all(Array.from({ length: LIMIT + 5 }, () => post(agent, b.port, generateToken(), crowd)));
      expect(await post(agent, b.port, generateToken(), crowd)).toBe(429);
      // The key, behind the same address, on B (which has never seen it) and on A.
      expect(await post(agent, b.port, key.token, crowd)).toBe(200);
      expect(await post(agent, a.port, key.token, crowd)).toBe(200);
      // Also once the processes' token caches have let it go (they look tokens up every few seconds).
      t.clock.advance(6_000);
      expect(await post(agent, b.port, key.token, crowd)).toBe(200);
      expect(await post(agent, a.port, key.token, crowd)).toBe(200);
      // A valid key that authenticated nowhere recently waits like any guess: no oracle.
      expect(await post(agent, b.port, fresh.token, crowd)).toBe(429);
    }, 60_000);
  },
);
