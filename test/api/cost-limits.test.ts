// Cost (issue 12, finding 7): the cost limit applies with the request's variables (graphql-armor's
// estimate saw `first: $n` as one item); each key has a budget of cost per minute, not only of
// requests; an organization holds at most KEYGATE_MAX_KEYS_PER_ORG keys, checked inside the creating
// transaction so that concurrent creations cannot overshoot it.
import { randomUUID } from 'node:crypto';
import { getIntrospectionQuery } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createApiKey } from '../../src/domain/api-keys.ts';
import { INTROSPECTION_COST } from '../../src/limits/operation-cost.ts';
import { RateLimits } from '../../src/limits/rate-limit.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { API_KEY_FIELDS } from '../helpers/documents.ts';
import { verifierToken } from '../helpers/verify-server.ts';

const MINUTE = 60_000;
const REDIS_URL = process.env.KEYGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const FULL = `edges { node { ${API_KEY_FIELDS} } }`;
const IDS = 'edges { node { id } }';

/** `count` aliased `apiKeys(first: <first>)`, each selecting `selection`. */
const aliased = (count: number, first: string, selection: string) =>
  Array.from({ length: count }, (_, i) => `p${i}: apiKeys(first: ${first}) { ${selection} }`).join('\n');

/** The attack of the issue: 15 aliased pages of 250 ids, estimated at 15 × 250 × 12.875. */
const ATTACK = `{ ${aliased(15, '250', IDS)} }`;
const ATTACK_COST = Math.ceil(15 * 250 * 12.875);

interface Sent {
  status: number;
  retryAfter: string | null;
  body: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string; retryAfter?: number } }> };
}

async function send(app: TestApp['app'], token: string, query: string, variables?: object): Promise<Sent> {
  const response = await app.fetch('http://keygate.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Sent['body'],
  };
}

const estimateIn = (sent: Sent) => /estimated at (\d+)/.exec(sent.body.errors?.[0]?.message ?? '')?.[1];

function expectServed(sent: Sent) {
  expect(sent.body.errors).toBeUndefined();
  expect(sent.status).toBe(200);
}

function expectCostRefused(sent: Sent) {
  expect(sent.body.data ?? null).toBeNull();
  expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  expect(sent.body.errors?.[0]?.message).toMatch(/Cost limit of \d+ exceeded/);
}

describe.each(providers)('the cost limit with variables, on %s', (provider) => {
  let t: TestApp;
  let admin: { id: string; token: string };

  beforeAll(async () => {
    t = await createTestApp(provider, { limits: { maxCost: 40_000 } });
    admin = await (await t.org()).key({ roles: ['api_keys_manage', 'viewer'] });
  });
  afterAll(() => t.close());

  it('counts `first: $n` as the literal: 15 aliased apiKeys(first: $n) with n = 250 are refused like the literal, at the same estimate', async () => {
    const literal = await send(t.app, admin.token, ATTACK);
    expectCostRefused(literal);
    expect(estimateIn(literal)).toBe(String(ATTACK_COST));
    const withVariable = await send(t.app, admin.token, `query($n: Int) { ${aliased(15, '$n', IDS)} }`, { n: 250 });
    expectCostRefused(withVariable);
    expect(estimateIn(withVariable)).toBe(String(ATTACK_COST));
    // A small n is a small request.
    expectServed(await send(t.app, admin.token, `query($n: Int) { ${aliased(15, '$n', IDS)} }`, { n: 5 }));
  });

  it("counts a variable's default, and variables inside fragments", async () => {
    expectCostRefused(await send(t.app, admin.token, `query($n: Int = 250) { ${aliased(15, '$n', IDS)} }`));
    expectCostRefused(
      await send(
        t.app,
        admin.token,
        `query($n: Int) { ...Pages } fragment Pages on Query { ${aliased(15, '$n', IDS)} }`,
        { n: 250 },
      ),
    );
  });

  it("counts `first: $n` with $n absent or null as the field's default (25), like `first` left out", async () => {
    const query = (first: string) => `query($n: Int) { ${aliased(15, first, FULL)} }`;
    const literal = await send(t.app, admin.token, `{ ${aliased(15, '25', FULL)} }`);
    const leftOut = await send(t.app, admin.token, `{ ${aliased(15, '25', FULL).replaceAll('(first: 25)', '')} }`);
    const absent = await send(t.app, admin.token, query('$n'));
    const nullValue = await send(t.app, admin.token, query('$n'), { n: null });
    for (const sent of [literal, leftOut, absent, nullValue]) {
      expectCostRefused(sent);
      expect(estimateIn(sent)).toBe(estimateIn(literal));
    }
  });

  it('counts a page of every field with first: $n like the literal one', async () => {
    const literal = await send(t.app, admin.token, `{ apiKeys(first: 250) { ${FULL} } }`);
    const variable = await send(t.app, admin.token, `query($n: Int) { apiKeys(first: $n) { ${FULL} } }`, { n: 250 });
    expectCostRefused(literal);
    expectCostRefused(variable);
    expect(estimateIn(variable)).toBe(estimateIn(literal));
  });
});

/** `aliases` aliased `__schema` selections, each selecting `selection`. */
const schemaQuery = (aliases: number, selection = 'queryType { name }') =>
  `{ ${Array.from({ length: aliases }, (_, i) => `s${i}: __schema { ${selection} }`).join(' ')} }`;

describe.each(providers)('the per-key cost budget, in memory, on %s', (provider) => {
  let t: TestApp;
  let org: Org;

  beforeAll(async () => {
    // The default budget; the request limit is off, to show that the budget alone stops the attack.
    t = await createTestApp(provider, {
      rateLimits: { perKeyPerMinute: 0, failedAuthPerMinute: 0, costBudgetPerKeyPerMinute: 3_000_000 },
    });
    t.clock.freeze();
    org = await t.org();
  });
  afterAll(() => t.close());

  it('stops 15 aliased apiKeys(first: 250) a request with 429, RATE_LIMITED and Retry-After once the minute has cost 3,000,000', async () => {
    t.clock.advance(MINUTE);
    const attacker = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const bystander = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const allowed = Math.floor(3_000_000 / ATTACK_COST);
    expect(allowed).toBe(62);
    for (let i = 0; i < allowed; i++) expectServed(await send(t.app, attacker.token, ATTACK));
    const over = await send(t.app, attacker.token, ATTACK);
    const secondsLeft = Math.ceil((MINUTE - (t.clock.now().getTime() % MINUTE)) / 1000);
    expect(over.status).toBe(429);
    expect(over.retryAfter).toBe(String(secondsLeft));
    expect(over.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(over.body.errors?.[0]?.extensions?.retryAfter).toBe(secondsLeft);
    expect(over.body.errors?.[0]?.message).toMatch(/3000000 of estimated query cost per minute/);
    // Cheap requests are not charged: the attacker's own key still answers currentApiKey.
    expectServed(await send(t.app, attacker.token, '{ currentApiKey { id } }'));
    // Another key has a budget of its own.
    expectServed(await send(t.app, bystander.token, ATTACK));
    t.clock.advance(MINUTE);
    expectServed(await send(t.app, attacker.token, ATTACK));
  });

  // Introspection is priced (INTROSPECTION_COST a `__schema`): graphql-armor leaves it out.
  it("GraphiQL's full introspection passes; three `__schema` or `__type` in one request are refused at their estimate", async () => {
    // Any key, a viewer that manages nothing included.
    const viewer = await org.key({ roles: ['viewer'] });
    const full = await send(t.app, viewer.token, getIntrospectionQuery());
    expectServed(full);
    expect((full.body.data as { __schema: { types: unknown[] } }).__schema.types.length).toBeGreaterThan(10);
    expectServed(await send(t.app, viewer.token, schemaQuery(2)));
    const three = await send(t.app, viewer.token, schemaQuery(3, 'types { name fields { name } }'));
    expectCostRefused(three);
    expect(estimateIn(three)).toBe(String(3 * INTROSPECTION_COST));
    // `__type` alike, also through a fragment.
    const typeOf = (alias: string) =>
      `${alias}: __type(name: "ApiKey") { name fields { name type { name ofType { name } } } }`;
    expectServed(await send(t.app, viewer.token, `{ ${typeOf('a')} }`));
    const types = await send(
      t.app,
      viewer.token,
      `{ ...T } fragment T on Query { ${['a', 'b', 'c'].map(typeOf).join(' ')} }`,
    );
    expectCostRefused(types);
  });

  it("is charged to the key's budget: 150 a minute, then 429 RATE_LIMITED; another key has its own", async () => {
    t.clock.advance(MINUTE);
    const viewer = await org.key({ roles: ['viewer'] });
    const allowed = 3_000_000 / INTROSPECTION_COST;
    for (let i = 0; i < allowed; i++) expectServed(await send(t.app, viewer.token, schemaQuery(1)));
    const over = await send(t.app, viewer.token, schemaQuery(1));
    expect(over.status).toBe(429);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expectServed(await send(t.app, (await org.key({ roles: ['viewer'] })).token, schemaQuery(1)));
    t.clock.advance(MINUTE);
    expectServed(await send(t.app, viewer.token, schemaQuery(1)));
  });

  it('charges a verifier token to a budget of its own: what costs is refused FORBIDDEN (never 500), introspection until 429', async () => {
    t.clock.advance(MINUTE);
    const verifier = await verifierToken(t);
    const viewer = await org.key({ roles: ['viewer'] });
    // Fields of keys, at any estimate above the charged minimum: refused by what a verifier may call.
    for (const query of [
      ATTACK,
      `{ apiKeys(first: 100) { ${FULL} } }`,
      '{ auditEvents(first: 250) { edges { node { id } } } }',
    ]) {
      const refused = await send(t.app, verifier, query);
      expect({ query, status: refused.status }).toEqual({ query, status: 200 });
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(refused.body.errors?.[0]?.message).toMatch(/verifier token can only call verifyApiKey/);
    }
    // Introspection is served, and charged with the refused requests above to the verifier's budget:
    // fewer than 150 (3,000,000 ÷ INTROSPECTION_COST) are served this minute, then 429.
    let served = 0;
    let over = await send(t.app, verifier, schemaQuery(1));
    while (over.status === 200 && served <= 150) {
      expectServed(over);
      served++;
      over = await send(t.app, verifier, schemaQuery(1));
    }
    expect(served).toBeGreaterThan(130);
    expect(served).toBeLessThan(150);
    expect(over.status).toBe(429);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // A key's budget is its own: the viewer is served.
    expectServed(await send(t.app, viewer.token, schemaQuery(1)));
  });

  it('leaves normal use alone: paging through 10,000 keys with every field, and a dashboard polling a page of 50 every 2 s', async () => {
    t.clock.advance(MINUTE);
    const script = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    for (let page = 0; page < 40; page++) {
      expectServed(await send(t.app, script.token, `{ apiKeys(first: 250) { ${FULL} } }`));
    }
    for (let poll = 0; poll < 30; poll++) {
      expectServed(await send(t.app, script.token, `{ apiKeys(first: 50) { ${FULL} } }`));
    }
  });
});

describe.each(providers)('the per-key cost budget shared through Redis, on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let redis: Redis;
  const prefix = `keygate-test:${randomUUID()}:`;
  const limits: RateLimits[] = [];

  /** A Keygate "process" of its own on the same database and Redis. */
  async function instance() {
    const rateLimits = new RateLimits({
      perKeyPerMinute: 0,
      failedAuthPerMinute: 0,
      costBudgetPerKeyPerMinute: 100_000,
      redisUrl: REDIS_URL,
      prefix,
      now: t.clock.now,
    });
    expect(await rateLimits.ready()).toBe(true);
    limits.push(rateLimits);
    return createApp({
      domain: t.domain,
      database: t.db.database,
      config: { corsOrigins: [], production: false },
      logger: createLogger('silent'),
      rateLimits,
    });
  }

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    t = await createTestApp(provider);
    t.clock.freeze();
    org = await t.org();
  });
  afterAll(async () => {
    for (const rateLimits of limits) await rateLimits.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await t?.close();
  });

  it('counts the cost a key spends on every process', async () => {
    const [a, b] = [await instance(), await instance()];
    const key = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const page = `{ apiKeys(first: 250) { ${FULL} } }`;
    expectServed(await send(a, key.token, page));
    expectServed(await send(b, key.token, page));
    const over = await send(a, key.token, page);
    expect(over.status).toBe(429);
    expect(over.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect((await send(b, key.token, page)).status).toBe(429);
    expect(await redis.keys(`${prefix}cost*`)).not.toHaveLength(0);
  });
});

describe.each(providers)('the number of keys of an organization, on %s', (provider) => {
  let t: TestApp;

  const CREATE = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }';
  const create = (token: string, name: string) =>
    send(t.app, token, CREATE, { input: { name, roleNames: ['viewer'] } });
  const keysOf = (organizationId: string) => t.domain.db.apiKey.count({ where: { organizationId } });

  beforeAll(async () => {
    t = await createTestApp(provider, { maxKeysPerOrganization: 5 });
  });
  afterAll(() => t.close());

  it('refuses a creation past the limit with FORBIDDEN naming it, writes nothing, and allows it again once a key is gone', async () => {
    const org = await t.org();
    const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const made: string[] = [];
    for (let i = 0; i < 4; i++) {
      const sent = await create(admin.token, `key ${i}`);
      expectServed(sent);
      made.push((sent.body.data as { createApiKey: { apiKey: { id: string } } }).createApiKey.apiKey.id);
    }
    const events = await t.domain.db.auditEvent.count({ where: { organizationId: org.id } });
    const refused = await create(admin.token, 'one too many');
    expect(refused.body.data ?? null).toBeNull();
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.body.errors?.[0]?.message).toMatch(/limit of 5 API keys \(KEYGATE_MAX_KEYS_PER_ORG\)/);
    expect(await keysOf(org.id)).toBe(5);
    expect(await t.domain.db.auditEvent.count({ where: { organizationId: org.id } })).toBe(events);
    // The administration path (the CLI) is held to the same limit.
    await expect(org.key({ roles: ['viewer'] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Another organization is counted on its own.
    const other = await t.org();
    await other.key({ roles: ['viewer'] });
    expect(await keysOf(other.id)).toBe(1);
    // Room again after a deletion.
    const deleted = await send(
      t.app,
      admin.token,
      'mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }',
      {
        id: made[0],
      },
    );
    expectServed(deleted);
    expectServed(await create(admin.token, 'in the freed place'));
    expect(await keysOf(org.id)).toBe(5);
  });

  it('lets exactly the free places be taken by concurrent creations', async () => {
    for (let round = 0; round < 3; round++) {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      await org.key({ roles: ['viewer'] });
      await org.key({ roles: ['viewer'] });
      const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => create(admin.token, `racing ${i}`)));
      const codes = answers.map((sent) => sent.body.errors?.[0]?.extensions?.code ?? 'ok');
      expect(codes.filter((code) => code === 'ok')).toHaveLength(2);
      expect(codes.filter((code) => code === 'FORBIDDEN')).toHaveLength(10);
      expect(await keysOf(org.id)).toBe(5);
    }
  });

  it('across the point where PostgreSQL creations stop sharing the lock (limit 110, 100 connections): exactly the limit', async () => {
    // Up to max_connections below the limit, creations share the organization's lock; above, they take
    // it one at a time (src/domain/store.ts, lockAndCountKeys). 130 concurrent creations cross that point.
    const big = await createTestApp(provider, { maxKeysPerOrganization: 110 });
    try {
      const org = await big.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const answers = await Promise.all(
        Array.from({ length: 130 }, (_, i) =>
          send(big.app, admin.token, CREATE, { input: { name: `crossing ${i}`, roleNames: ['viewer'] } }),
        ),
      );
      const codes = answers.map((sent) => sent.body.errors?.[0]?.extensions?.code ?? 'ok');
      expect(codes.filter((code) => code === 'ok')).toHaveLength(109);
      expect(codes.filter((code) => code === 'FORBIDDEN')).toHaveLength(21);
      expect(await big.domain.db.apiKey.count({ where: { organizationId: org.id } })).toBe(110);
    } finally {
      await big.close();
    }
  });

  it('the user path counts the same way (createApiKey for a user)', async () => {
    const org = await t.org();
    for (let i = 0; i < 5; i++) await org.key({ roles: ['viewer'] });
    await expect(
      createApiKey(
        t.domain,
        { kind: 'user', organizationId: org.id, userId: org.userId },
        { name: 'sixth', roleNames: [], teamIds: [], teamRoleNames: [] },
      ),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
