// The authentication pipeline (src/auth/authenticate.ts): each outcome, which of them are settled
// without a promise, and that a token is hashed once however many steps (cache, lookup, failed-auth
// limit) it goes through, and not again while it is the last header seen. Then through a real node:http server on each database: a refusal settled
// by the token's format or by the cache costs no lookup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Authentication, Authenticator, isRefusal, type Refusal } from '../../src/auth/authenticate.ts';
import type { TokenLookup, TokenMatch } from '../../src/auth/token-lookup.ts';
import { createTokenLookup } from '../../src/auth/token-lookup.ts';
import { TokenVerifier } from '../../src/auth/verifier.ts';
import type { Db } from '../../src/db/client.ts';
import { DEFAULT_ROLES, RoleCatalogue } from '../../src/domain/roles.ts';
import { generateToken, generateVerifierToken, hashToken } from '../../src/domain/tokens.ts';
import type { Domain } from '../../src/domain/types.ts';
import { RateLimits, type RateLimitsOptions } from '../../src/limits/rate-limit.ts';
import { VerifierTokens } from '../../src/verification/verifier-tokens.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import type { Listening } from '../helpers/ports.ts';
import { startHttpServer } from '../helpers/verify-server.ts';

const catalogue = new RoleCatalogue(DEFAULT_ROLES);
const NOW = Date.parse('2026-01-01T00:00:00Z');
const ADDRESS = '203.0.113.7';
const addressOf = (address: string) => address;

function keyRow(id: string, expiresAt: Date | null): TokenMatch {
  return {
    key: {
      id,
      organizationId: 'org',
      name: `key ${id}`,
      createdAt: new Date(NOW),
      tokenLastIssuedAt: new Date(NOW),
      lastUsedAt: null,
      creatorKeyId: null,
      creatorKeyName: null,
      expiresAt,
      creatorUserId: 'user',
    },
    tokenId: `token of ${id}`,
    expiresAt: null,
    grants: [['viewer'], [], []],
  };
}

/** A pipeline over an API-key cache and verifier tokens backed by maps, counting hashes and lookups. */
function setup(limits?: Omit<RateLimitsOptions, 'now'>) {
  const clock = { now: NOW };
  const now = () => new Date(clock.now);
  const keys = new Map<string, TokenMatch>();
  const verifiers = new Map<string, { id: string; name: string; organizationId: null; createdAt: Date }>();
  const looked: string[] = [];
  let failure: Error | null = null;
  const lookup: TokenLookup = {
    async find(hash) {
      looked.push(hash);
      if (failure) throw failure;
      return keys.get(hash) ?? null;
    },
  };
  const db = {
    verifier: {
      async findUnique({ where }: { where: { hash: string } }) {
        looked.push(where.hash);
        return verifiers.get(where.hash) ?? null;
      },
    },
  } as unknown as Db;
  const hashed: string[] = [];
  const rateLimits = limits ? new RateLimits({ ...limits, now }) : undefined;
  const authenticator = new Authenticator({
    apiKeys: new TokenVerifier({ catalogue, now } as unknown as Domain, lookup),
    verifierTokens: new VerifierTokens(db, now),
    rateLimits,
    hash: (token) => {
      hashed.push(token);
      return hashToken(token);
    },
  });
  const header = (token: string | null) => (token === null ? undefined : `Bearer ${token}`);
  return {
    clock,
    looked,
    hashed,
    failWith: (error: Error | null) => {
      failure = error;
    },
    key(id: string, expiresAt: Date | null = null) {
      const token = generateToken();
      keys.set(hashToken(token), keyRow(id, expiresAt));
      return token;
    },
    verifier(id: string) {
      const token = generateVerifierToken();
      verifiers.set(hashToken(token), { id, name: id, organizationId: null, createdAt: new Date(NOW) });
      return token;
    },
    /** The outcome, and whether it came without a promise. */
    async run(token: string | null, from = ADDRESS): Promise<{ outcome: Authentication; synchronous: boolean }> {
      const answer = authenticator.authenticate(header(token), from, addressOf);
      return answer instanceof Promise
        ? { outcome: await answer, synchronous: false }
        : { outcome: answer, synchronous: true };
    },
  };
}

const refusal = (outcome: Authentication): Refusal => {
  if (!isRefusal(outcome)) throw new Error('expected a refusal');
  return outcome;
};
const keyIdOf = (outcome: Authentication) => {
  if (isRefusal(outcome) || outcome.kind === 'verifier') throw new Error('expected an API key');
  return outcome.key.id;
};

describe('the authentication pipeline, limits off', () => {
  it('missing and malformed tokens: refused at once, nothing hashed or looked up', async () => {
    const t = setup();
    const token = t.key('K1');
    const broken = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const [header, reason] of [
      [null, 'missing'],
      [broken, 'malformed'],
      ['keygate_nope', 'malformed'],
      [`${generateVerifierToken().slice(0, -1)}!`, 'malformed'],
    ] as const) {
      const { outcome, synchronous } = await t.run(header);
      expect(synchronous).toBe(true);
      expect(refusal(outcome)).toMatchObject({ kind: 'unauthenticated', reason });
    }
    expect(t.hashed).toEqual([]);
    expect(t.looked).toEqual([]);
  });

  it('a valid token: one lookup by its hash, hashed once; then from the cache, without a promise', async () => {
    const t = setup();
    const token = t.key('K1');
    const first = await t.run(token);
    expect(first.synchronous).toBe(false);
    expect(keyIdOf(first.outcome)).toBe('K1');
    expect(t.hashed).toEqual([token]);
    expect(t.looked).toEqual([hashToken(token)]);

    const again = await t.run(token);
    expect(again.synchronous).toBe(true);
    expect(keyIdOf(again.outcome)).toBe('K1');
    expect(t.hashed).toEqual([token]); // the same header as the last request's: its hash is known
    expect(t.looked).toHaveLength(1);
  });

  it('an unknown token: looked up once, then refused from the cache without a promise', async () => {
    const t = setup();
    const token = generateToken();
    const first = await t.run(token);
    expect(refusal(first.outcome)).toMatchObject({ kind: 'unauthenticated', reason: 'unknown' });
    const again = await t.run(token);
    expect(again.synchronous).toBe(true);
    expect(refusal(again.outcome)).toMatchObject({ kind: 'unauthenticated', reason: 'unknown' });
    expect(t.hashed).toEqual([token]);
    expect(t.looked).toEqual([hashToken(token)]);
  });

  it('a key past its expiry: refused as expired', async () => {
    const t = setup();
    const token = t.key('K1', new Date(NOW - 1_000));
    expect(refusal((await t.run(token)).outcome)).toMatchObject({ kind: 'unauthenticated', reason: 'expired' });
    expect(t.hashed).toEqual([token]);
  });

  it('a verifier token: its own lookup, hashed once, and cached like a key', async () => {
    const t = setup();
    const token = t.verifier('V1');
    const first = await t.run(token);
    expect(first.outcome).toMatchObject({ kind: 'verifier', verifier: { id: 'V1' } });
    const again = await t.run(token);
    expect(again.synchronous).toBe(true);
    expect(again.outcome).toBe(first.outcome);
    expect(t.hashed).toEqual([token]);
    expect(t.looked).toEqual([hashToken(token)]);
  });

  it('the last header is recognised without a hash, other tokens are hashed, and the cache still decides', async () => {
    const t = setup();
    const a = t.key('KA');
    const b = t.key('KB');
    for (const token of [a, a, b, b, a]) expect(keyIdOf((await t.run(token)).outcome)).toBe(token === a ? 'KA' : 'KB');
    expect(t.hashed).toEqual([a, b, a]);
    // A header of the same length that differs only in its last character: not the last one.
    const twin = `${a.slice(0, -1)}${a.endsWith('A') ? 'B' : 'A'}`;
    expect(refusal((await t.run(twin)).outcome)).toMatchObject({ kind: 'unauthenticated', reason: 'malformed' });
    expect(keyIdOf((await t.run(a)).outcome)).toBe('KA'); // a malformed token did not replace the last one
    expect(t.hashed).toEqual([a, b, a]);
    // The last header's token expires: it is refused, though its hash was not worked out again.
    const expiring = t.key('KE', new Date(NOW + 1_000));
    expect(keyIdOf((await t.run(expiring)).outcome)).toBe('KE');
    t.clock.now += 2_000;
    expect(refusal((await t.run(expiring)).outcome)).toMatchObject({ kind: 'unauthenticated', reason: 'expired' });
    expect(t.hashed).toEqual([a, b, a, expiring]);
  });

  it('a database outage is unavailable, any other failure is failed with an error id: never a rejection', async () => {
    const t = setup();
    t.failWith(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(refusal((await t.run(generateToken())).outcome)).toMatchObject({ kind: 'unavailable' });
    t.failWith(new Error('a bug'));
    const failed = refusal((await t.run(generateToken())).outcome);
    expect(failed).toMatchObject({ kind: 'failed', errorId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it('a failure of the synchronous cache check is an outcome too, not an exception', async () => {
    let reads = 0;
    const domain = { catalogue, now: () => new Date(NOW) } as unknown as Domain;
    const apiKeys = new TokenVerifier(
      domain,
      { find: async () => null },
      {
        externalChanges: () => {
          if (reads++ > 0) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
          return 0;
        },
      },
    );
    const outcome = new Authenticator({ apiKeys }).authenticate(`Bearer ${generateToken()}`, ADDRESS, addressOf);
    expect(outcome).toMatchObject({ kind: 'unavailable' });
  });

  it('without API keys (POST /v1/verify), an API key token is refused without a lookup', async () => {
    const looked: string[] = [];
    const db = {
      verifier: {
        async findUnique({ where }: { where: { hash: string } }) {
          looked.push(where.hash);
          return null;
        },
      },
    } as unknown as Db;
    const verifiersOnly = new Authenticator({ verifierTokens: new VerifierTokens(db) });
    const outcome = verifiersOnly.authenticate(`Bearer ${generateToken()}`, ADDRESS, addressOf);
    expect(outcome).toMatchObject({ kind: 'unauthenticated', reason: 'malformed' });
    expect(looked).toEqual([]);
  });
});

describe('the authentication pipeline with rate limits', () => {
  it('the failed-authentication limit: a slot per failure, then rate-limited without a lookup', async () => {
    const t = setup({ perKeyPerMinute: 0, failedAuthPerMinute: 2 });
    const unknown = generateToken();
    expect(refusal((await t.run(unknown)).outcome)).toMatchObject({ kind: 'unauthenticated', reason: 'unknown' });
    // Known unknown now: refused without a lookup, but counted, and so with a promise.
    const counted = await t.run(unknown);
    expect(counted.synchronous).toBe(false);
    expect(refusal(counted.outcome)).toMatchObject({ kind: 'unauthenticated' });
    const third = generateToken();
    const limited = refusal((await t.run(third)).outcome);
    expect(limited).toMatchObject({ kind: 'rate-limited', retryAfterSeconds: 60 });
    expect(t.looked).toEqual([hashToken(unknown)]);
    // Another address is not affected.
    expect(refusal((await t.run(null, '198.51.100.1')).outcome)).toMatchObject({ reason: 'missing' });
  });

  it('a valid token under the failed-authentication limit is hashed once across slot, lookup and known-good', async () => {
    const t = setup({ perKeyPerMinute: 0, failedAuthPerMinute: 5 });
    const token = t.key('K1');
    expect(keyIdOf((await t.run(token)).outcome)).toBe('K1');
    expect(t.hashed).toEqual([token]);
    expect(t.looked).toEqual([hashToken(token)]);
    // Cached and no key counted: settled without a promise, limits on or not.
    const again = await t.run(token);
    expect(again.synchronous).toBe(true);
    expect(keyIdOf(again.outcome)).toBe('K1');
  });

  it('the per-key limit: a cached key is counted (a promise) and refused past its limit', async () => {
    const t = setup({ perKeyPerMinute: 2, failedAuthPerMinute: 0 });
    const token = t.key('K1');
    expect(keyIdOf((await t.run(token)).outcome)).toBe('K1');
    const second = await t.run(token);
    expect(second.synchronous).toBe(false);
    expect(keyIdOf(second.outcome)).toBe('K1');
    const limited = refusal((await t.run(token)).outcome);
    expect(limited).toMatchObject({ kind: 'rate-limited', message: expect.stringMatching(/2 requests per minute/) });
    // The next minute, it is admitted again.
    t.clock.now += 60_000;
    expect(keyIdOf((await t.run(token)).outcome)).toBe('K1');
    expect(t.hashed).toHaveLength(1);
  });

  it('a cached verifier token is settled without a promise even with both limits on (no per-key limit)', async () => {
    const t = setup({ perKeyPerMinute: 1, failedAuthPerMinute: 1 });
    const token = t.verifier('V1');
    await t.run(token);
    for (let i = 0; i < 3; i++) {
      const { outcome, synchronous } = await t.run(token);
      expect(synchronous).toBe(true);
      expect(outcome).toMatchObject({ kind: 'verifier' });
    }
  });
});

describe.each(providers)('a refusal on the node:http path on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let server: Listening;
  let lookups = 0;

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    const raw = createTokenLookup(t.db.database.raw);
    const verifier = new TokenVerifier(t.domain, {
      find: (hash) => {
        lookups++;
        return raw.find(hash);
      },
    });
    server = await startHttpServer(t, { rateLimits: RateLimits.off(), verifier });
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  const post = (token: string | null) =>
    fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ query: '{ currentApiKey { id } }' }),
    });

  it('missing, malformed and known-unknown tokens are 401 without a lookup; a valid one is looked up once', async () => {
    const unknown = generateToken();
    expect((await post(unknown)).status).toBe(401); // the one lookup that makes it known unknown
    const before = lookups;
    const { token } = await org.key({ roles: ['viewer'] });
    const malformed = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [null, malformed, 'keygate_nope', unknown, unknown]) {
      const answer = await post(bad);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(((await answer.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(
        'UNAUTHENTICATED',
      );
    }
    expect(lookups).toBe(before);
    for (let i = 0; i < 3; i++) expect((await post(token)).status).toBe(200);
    expect(lookups).toBe(before + 1);
  });
});
