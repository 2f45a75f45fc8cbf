// docs/rules.md "Verification": the per-key verification budget (exhaustion, refill at the next minute,
// RATE_LIMITED before INSUFFICIENT_SCOPES, shared through Redis), and the failed-authentication limit:
// verifier tokens never count against it for the customer tokens they check, a bad verifier token
// counts per client address. Over POST /v1/verify on a real node:http server, on both databases.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken, generateVerifierToken } from '../../src/domain/tokens.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { startVerifyServer, type VerifyServer, verifierToken } from '../helpers/verify-server.ts';

const LIMIT = 3;
const REDIS_URL = process.env.KEYGATE_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

describe.each(providers)('the verification budget on %s', (provider) => {
  let t: TestApp;
  let http: VerifyServer;
  let org: Org;
  let verifier: string;

  beforeAll(async () => {
    t = await createTestApp(provider, { verifyPerKeyPerMinute: LIMIT });
    http = await startVerifyServer(t);
    org = await t.org();
    verifier = await verifierToken(t);
  });
  afterAll(async () => {
    await http.close();
    await t.close();
  });

  it('every verification of a known key takes one; past the budget RATE_LIMITED (before the scope check) until the next minute', async () => {
    t.clock.freeze();
    // Start at the beginning of a minute, so the whole test runs in one window.
    const now = t.clock.now().getTime();
    t.clock.advance(60_000 - (now % 60_000));
    const windowEnd = new Date(t.clock.now().getTime() + 60_000).toISOString();
    const key = await org.key({ roles: ['viewer'] });

    const first = await http.post(verifier, { token: key.token });
    expect(first.body).toMatchObject({ code: 'VALID', rateLimit: { limit: LIMIT, remaining: 2, resetAt: windowEnd } });
    const second = await http.post(verifier, { token: key.token, requiredScopes: ['incidents.edit'] });
    expect(second.body).toMatchObject({ code: 'INSUFFICIENT_SCOPES', rateLimit: { remaining: 1 } });
    expect((await http.post(verifier, { token: key.token })).body.rateLimit?.remaining).toBe(0);

    const limited = await http.post(verifier, { token: key.token, requiredScopes: ['incidents.edit'] });
    expect(limited.status).toBe(200);
    expect(limited.body).toMatchObject({
      valid: false,
      code: 'RATE_LIMITED',
      apiKey: { id: key.id },
      scopes: ['incidents.view', 'organisation_settings.view'],
      rateLimit: { limit: LIMIT, remaining: 0, resetAt: windowEnd },
    });

    // Another key has its own budget; unknown and malformed tokens take from none.
    const other = await org.key({ roles: ['viewer'] });
    expect((await http.post(verifier, { token: other.token })).body.code).toBe('VALID');

    t.clock.advance(59_999);
    expect((await http.post(verifier, { token: key.token })).body.code).toBe('RATE_LIMITED');
    t.clock.advance(1);
    const refilled = await http.post(verifier, { token: key.token });
    expect(refilled.body).toMatchObject({ code: 'VALID', rateLimit: { remaining: LIMIT - 1 } });
  });
});

describe('the verification budget with REDIS_URL', () => {
  it('is shared by every process using the same Redis', async () => {
    const prefix = `keygate-test-${randomBytes(6).toString('hex')}:`;
    const a = await createTestApp('postgresql', {
      verifyPerKeyPerMinute: LIMIT,
      verifyRedis: { url: REDIS_URL, prefix },
    });
    // A second app on the same database, as a second process would be.
    const b = await createTestApp('postgresql', {
      verifyPerKeyPerMinute: LIMIT,
      verifyRedis: { url: REDIS_URL, prefix },
    });
    const serverA = await startVerifyServer(a);
    const serverB = await startVerifyServer(b);
    try {
      // Both clocks at the same instant, the start of a minute: the whole test runs in one window.
      a.clock.freeze();
      b.clock.freeze();
      const target = a.clock.now().getTime() + 60_000 - (a.clock.now().getTime() % 60_000);
      a.clock.advance(target - a.clock.now().getTime());
      b.clock.advance(target - b.clock.now().getTime());
      const org = await a.org();
      const key = await org.key({ roles: ['viewer'] });
      // The two apps have separate databases here; the same key id is what the budget counts.
      const orgB = await b.org();
      const { createVerifier } = await import('../../src/verification/verifier-tokens.ts');
      const tokenA = (await createVerifier(a.domain.db, { name: 'a', organizationId: null }, new Date())).token;
      const tokenB = (await createVerifier(b.domain.db, { name: 'b', organizationId: null }, new Date())).token;
      const keyB = await orgB.key({ roles: ['viewer'] });
      // Make B's key carry A's key id: rename its row (the budget is per key id).
      await b.domain.db.$executeRawUnsafe(`UPDATE "ApiKey" SET "id" = $1 WHERE "id" = $2`, key.id, keyB.id);
      const codes: string[] = [];
      for (let i = 0; i < LIMIT + 1; i++) {
        const [server, auth, token] = i % 2 === 0 ? [serverA, tokenA, key.token] : [serverB, tokenB, keyB.token];
        codes.push((await server.post(auth, { token })).body.code);
      }
      expect(codes).toEqual(['VALID', 'VALID', 'VALID', 'RATE_LIMITED']);
    } finally {
      await serverA.close();
      await serverB.close();
      await a.close();
      await b.close();
    }
  });
});

describe.each(providers)('the failed-authentication limit and verification on %s', (provider) => {
  let t: TestApp;
  let http: VerifyServer;

  beforeAll(async () => {
    t = await createTestApp(provider, { rateLimits: { perKeyPerMinute: 0, failedAuthPerMinute: 2 } });
    http = await startVerifyServer(t);
  });
  afterAll(async () => {
    await http.close();
    await t.close();
  });

  it('unknown customer tokens checked by a good verifier token never count; bad verifier tokens do, per address', async () => {
    t.clock.freeze();
    const verifier = await verifierToken(t);
    for (let i = 0; i < 5; i++) {
      const response = await http.post(verifier, { token: generateToken() });
      expect(response.status).toBe(200);
      expect(response.body.code).toBe('UNKNOWN');
    }
    expect((await http.post(generateVerifierToken(), { token: generateToken() })).status).toBe(401);
    expect((await http.post('nonsense', { token: generateToken() })).status).toBe(401);
    const limited = await http.post(generateVerifierToken(), { token: generateToken() });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    // The verifier that already authenticated from this address keeps working.
    expect((await http.post(verifier, { token: generateToken() })).status).toBe(200);
  });
});
