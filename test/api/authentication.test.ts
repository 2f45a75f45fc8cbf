// Authentication (docs/rules.md "Tokens", docs/api.md "GraphQL" and "HTTP"): every failure is the same 401
// UNAUTHENTICATED with no hint of which check failed; GET serves queries only; GraphiQL and the probes
// need no token; lastUsedAt records the last successful authentication and only moves forward.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LastUsedRecorder } from '../../src/auth/last-used.ts';
import { generateToken } from '../../src/domain/tokens.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { CREATE_ID, DELETE, ROTATE_TOKEN, WHOAMI } from '../helpers/documents.ts';

const MINUTE = 60_000;
const LAST_USED = 'query($id: ID!) { apiKey(id: $id) { lastUsedAt } }';

/** The same token with one character of its random part changed: its checksum no longer matches. */
function corrupt(token: string): string {
  const at = 'keygate_'.length + 5;
  const replacement = token[at] === 'A' ? 'B' : 'A';
  return `${token.slice(0, at)}${replacement}${token.slice(at + 1)}`;
}

interface RawResponse {
  status: number;
  body: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

describe.each(providers)('authentication on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  /** POST /graphql with exactly the given Authorization header (or none). */
  async function post(authorization: string | null, query: string, variables?: object): Promise<RawResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization !== null) headers.authorization = authorization;
    const response = await t.app.fetch('http://keygate.test/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: (await response.json()) as RawResponse['body'] };
  }

  async function get(authorization: string | null, query: string, accept = 'application/json') {
    const headers: Record<string, string> = { accept };
    if (authorization !== null) headers.authorization = authorization;
    return t.app.fetch(`http://keygate.test/graphql?query=${encodeURIComponent(query)}`, { headers });
  }

  async function lastUsedAt(adminToken: string, id: string): Promise<string | null> {
    const response = await t.gql<{ apiKey: { lastUsedAt: string | null } }>(adminToken, LAST_USED, { id });
    expect(response.errors).toBeUndefined();
    return (response.data as { apiKey: { lastUsedAt: string | null } }).apiKey.lastUsedAt;
  }

  /**
   * One organization with an admin, and one Authorization header for every kind of failure: missing,
   * wrong scheme, malformed, well-formed but unknown, expired after a grace period, deleted.
   */
  async function failures() {
    const org = await t.org();
    const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const expired = await org.key({ roles: ['viewer'] });
    const deleted = await org.key({ roles: ['viewer'] });
    // Both are verified once while still valid, so a cache of verified tokens would know them.
    for (const key of [expired, deleted]) expect((await post(`Bearer ${key.token}`, WHOAMI)).status).toBe(200);
    const rotated = await t.gql(admin.token, ROTATE_TOKEN, { input: { id: expired.id, gracePeriodMinutes: 1 } });
    expect(rotated.errors).toBeUndefined();
    t.clock.advance(MINUTE + 1_000);
    const removed = await t.gql(admin.token, DELETE, { input: { id: deleted.id } });
    expect(removed.errors).toBeUndefined();
    const cases: Array<[string, string | null]> = [
      ['no Authorization header', null],
      ['an empty Authorization header', ''],
      ['"Bearer" with no token', 'Bearer '],
      ['the Basic scheme', `Basic ${Buffer.from(`x:${admin.token}`).toString('base64')}`],
      ['the token without a scheme', admin.token],
      ['the Token scheme', `Token ${admin.token}`],
      ['a token with a bad checksum', `Bearer ${corrupt(admin.token)}`],
      ['a token with another prefix', `Bearer ${admin.token.replace('keygate_', 'keyfate_')}`],
      ['a truncated token', `Bearer ${admin.token.slice(0, -1)}`],
      ['a well-formed token that was never issued', `Bearer ${generateToken()}`],
      ['a token whose grace period has ended', `Bearer ${expired.token}`],
      ['a token of a deleted key', `Bearer ${deleted.token}`],
    ];
    return { org, admin, cases };
  }

  describe('every authentication failure is HTTP 401 UNAUTHENTICATED with one message and no hint', () => {
    it('answers a query identically for every kind of failure', async () => {
      const { admin, cases } = await failures();
      const bodies = new Set<string>();
      for (const [label, authorization] of cases) {
        const response = await post(authorization, WHOAMI);
        expect(response.status, label).toBe(401);
        expect(response.body.data ?? null, label).toBeNull();
        expect(response.body.errors, label).toHaveLength(1);
        expect(response.body.errors?.[0]?.extensions?.code, label).toBe('UNAUTHENTICATED');
        bodies.add(JSON.stringify(response.body));
      }
      expect(bodies.size).toBe(1);
      const [body] = [...bodies];
      expect(body).not.toMatch(/expired|deleted|revoked|checksum|malformed|unknown|not found|scheme|missing|grace/i);
      expect(body).not.toContain(admin.token.slice('keygate_'.length, 20));
      const accepted = await post(`Bearer ${admin.token}`, WHOAMI);
      expect(accepted.status).toBe(200);
    });

    it('answers a mutation identically for every kind of failure, and runs nothing', async () => {
      const { admin, cases } = await failures();
      const keysBefore = await t.domain.db.apiKey.count();
      const bodies = new Set<string>();
      for (const [label, authorization] of cases) {
        const response = await post(authorization, CREATE_ID, { input: { name: 'intruder', roleNames: ['viewer'] } });
        expect(response.status, label).toBe(401);
        expect(response.body.errors?.[0]?.extensions?.code, label).toBe('UNAUTHENTICATED');
        bodies.add(JSON.stringify(response.body));
        const deletion = await post(authorization, DELETE, { input: { id: admin.id } });
        expect(deletion.status, label).toBe(401);
        bodies.add(JSON.stringify(deletion.body));
      }
      expect(bodies.size).toBe(1);
      expect(await t.domain.db.apiKey.count()).toBe(keysBefore);
      expect(await t.domain.db.apiKey.count({ where: { name: 'intruder' } })).toBe(0);
      expect((await post(`Bearer ${admin.token}`, WHOAMI)).status).toBe(200);
    });

    it('answers the same for a token sent over GET', async () => {
      const { cases } = await failures();
      const [, authorization] = cases[cases.length - 1] as [string, string];
      const response = await get(authorization, WHOAMI);
      expect(response.status).toBe(401);
      const body = (await response.json()) as RawResponse['body'];
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(body)).toBe(JSON.stringify((await post(null, WHOAMI)).body));
    });
  });

  describe('a valid token authenticates queries and mutations', () => {
    it('accepts the token in a POST query and mutation', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const query = await post(`Bearer ${admin.token}`, WHOAMI);
      expect(query.status).toBe(200);
      expect(query.body.data).toEqual({ currentApiKey: { id: admin.id } });
      const mutation = await post(`Bearer ${admin.token}`, CREATE_ID, {
        input: { name: 'made', roleNames: ['viewer'] },
      });
      expect(mutation.status).toBe(200);
      expect(mutation.body.errors).toBeUndefined();
    });

    it('serves a query over GET with the token', async () => {
      const org = await t.org();
      const key = await org.key({ roles: ['viewer'] });
      const response = await get(`Bearer ${key.token}`, WHOAMI);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { currentApiKey: { id: key.id } } });
    });

    it('refuses a mutation over GET and runs nothing', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const response = await get(
        `Bearer ${admin.token}`,
        `mutation { deleteApiKey(input: { id: "${target.id}" }) { deletedApiKeyId } }`,
      );
      expect([400, 405]).toContain(response.status);
      const body = (await response.json()) as RawResponse['body'];
      expect(body.data ?? null).toBeNull();
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toMatch(/POST/);
      expect(await t.domain.db.apiKey.count({ where: { id: target.id } })).toBe(1);
      expect((await post(`Bearer ${target.token}`, WHOAMI)).status).toBe(200);
    });
  });

  describe('what needs no token: GraphiQL and the probes', () => {
    it('serves the GraphiQL page without a token, with an Authorization: Bearer header ready to fill', async () => {
      const response = await t.app.fetch('http://keygate.test/graphql', { headers: { accept: 'text/html' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      const html = await response.text();
      expect(html).toMatch(/graphiql/i);
      // The headers editor content is embedded as a JSON string: {"Authorization": "Bearer "}.
      expect(html).toContain('\\"Authorization\\": \\"Bearer \\"');
    });

    it('answers /healthz with 200 without a token', async () => {
      const response = await t.app.fetch('http://keygate.test/healthz');
      expect(response.status).toBe(200);
    });

    it('answers /readyz with 200 without a token while the database answers', async () => {
      const response = await t.app.fetch('http://keygate.test/readyz');
      expect(response.status).toBe(200);
    });
  });

  describe('lastUsedAt records the last successful authentication', () => {
    it('is null until the key is first used, then the time of use once flushed', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const key = await org.key({ roles: ['viewer'] });
      await t.lastUsed.flush();
      expect(await lastUsedAt(admin.token, key.id)).toBeNull();
      const before = t.clock.now().getTime();
      expect((await post(`Bearer ${key.token}`, WHOAMI)).status).toBe(200);
      const after = t.clock.now().getTime();
      await t.lastUsed.flush();
      const used = Date.parse((await lastUsedAt(admin.token, key.id)) as string);
      expect(used).toBeGreaterThanOrEqual(before);
      expect(used).toBeLessThanOrEqual(after);
    });

    it('records a use by a mutation and by a GET query', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const user = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      await t.lastUsed.flush();
      const beforeMutation = t.clock.now().getTime();
      const created = await post(`Bearer ${user.token}`, CREATE_ID, { input: { name: 'x', roleNames: ['viewer'] } });
      expect(created.status).toBe(200);
      await t.lastUsed.flush();
      expect(Date.parse((await lastUsedAt(admin.token, user.id)) as string)).toBeGreaterThanOrEqual(beforeMutation);
      t.clock.advance(10 * MINUTE);
      const beforeGet = t.clock.now().getTime();
      expect((await get(`Bearer ${user.token}`, WHOAMI)).status).toBe(200);
      await t.lastUsed.flush();
      expect(Date.parse((await lastUsedAt(admin.token, user.id)) as string)).toBeGreaterThanOrEqual(beforeGet);
    });

    it('writes only the latest of several uses between two flushes', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const key = await org.key({ roles: ['viewer'] });
      await t.lastUsed.flush();
      await post(`Bearer ${key.token}`, WHOAMI);
      t.clock.advance(3 * MINUTE);
      const before = t.clock.now().getTime();
      await post(`Bearer ${key.token}`, WHOAMI);
      const after = t.clock.now().getTime();
      await t.lastUsed.flush();
      const used = Date.parse((await lastUsedAt(admin.token, key.id)) as string);
      expect(used).toBeGreaterThanOrEqual(before);
      expect(used).toBeLessThanOrEqual(after);
    });

    it('is not set by failed authentications (expired or malformed tokens)', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const key = await org.key({ roles: ['viewer'] });
      const rotated = await t.gql(admin.token, ROTATE_TOKEN, { input: { id: key.id, gracePeriodMinutes: 0 } });
      expect(rotated.errors).toBeUndefined();
      expect((await post(`Bearer ${key.token}`, WHOAMI)).status).toBe(401);
      expect((await post(`Bearer ${corrupt(key.token)}`, WHOAMI)).status).toBe(401);
      await t.lastUsed.flush();
      expect(await lastUsedAt(admin.token, key.id)).toBeNull();
    });

    it('moves forward with later uses', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const key = await org.key({ roles: ['viewer'] });
      await post(`Bearer ${key.token}`, WHOAMI);
      await t.lastUsed.flush();
      const first = Date.parse((await lastUsedAt(admin.token, key.id)) as string);
      t.clock.advance(5 * MINUTE);
      await post(`Bearer ${key.token}`, WHOAMI);
      await t.lastUsed.flush();
      const second = Date.parse((await lastUsedAt(admin.token, key.id)) as string);
      expect(second - first).toBeGreaterThanOrEqual(5 * MINUTE);
    });

    it('never moves back when an older time is recorded later', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const key = await org.key({ roles: ['viewer'] });
      await post(`Bearer ${key.token}`, WHOAMI);
      await t.lastUsed.flush();
      const latest = await lastUsedAt(admin.token, key.id);
      expect(latest).not.toBeNull();
      t.lastUsed.record(key.id, new Date(Date.parse(latest as string) - 60 * MINUTE));
      await t.lastUsed.flush();
      expect(await lastUsedAt(admin.token, key.id)).toBe(latest);
    });

    it('keeps the latest time when an older one is recorded before the flush', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const key = await org.key({ roles: ['viewer'] });
      await t.lastUsed.flush();
      const before = t.clock.now().getTime();
      await post(`Bearer ${key.token}`, WHOAMI);
      t.lastUsed.record(key.id, new Date(before - 60 * MINUTE));
      await t.lastUsed.flush();
      expect(Date.parse((await lastUsedAt(admin.token, key.id)) as string)).toBeGreaterThanOrEqual(before);
    });

    it('converges on the latest use when another process flushes an older time afterwards', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const key = await org.key({ roles: ['viewer'] });
      const otherProcess = new LastUsedRecorder(t.domain.db, provider);
      const older = t.clock.now();
      t.clock.advance(MINUTE);
      await post(`Bearer ${key.token}`, WHOAMI);
      await t.lastUsed.flush();
      const latest = await lastUsedAt(admin.token, key.id);
      otherProcess.record(key.id, older);
      await otherProcess.close();
      expect(await lastUsedAt(admin.token, key.id)).toBe(latest);
      expect(Date.parse(latest as string)).toBeGreaterThan(older.getTime());
    });

    it('writes a flush of many keys in one statement per 1,000, each key only forward', async () => {
      const statements: string[] = [];
      const counted = await createTestApp(provider, { onQuery: (sql) => statements.push(sql) });
      try {
        const org = await counted.org();
        const admin = await org.key({ roles: ['api_keys_manage'] });
        const keys = [await org.key({ roles: ['viewer'] }), await org.key({ roles: ['viewer'] })];
        const usedAt = async (id: string) => {
          const response = await counted.gql<{ apiKey: { lastUsedAt: string | null } }>(admin.token, LAST_USED, { id });
          return response.data?.apiKey.lastUsedAt;
        };
        const recorder = new LastUsedRecorder(counted.domain.db, provider);
        const now = new Date(Date.now() - 60_000);
        const newer = new Date(now.getTime() + 30_000);
        const older = new Date(now.getTime() - 60 * MINUTE);
        // Move the second key ahead first: the older time recorded below must not take it back.
        recorder.record(keys[1]?.id as string, newer);
        await recorder.flush();
        // 2,500 uses: the two keys and 2,498 ids of no key (nothing to write for them).
        for (let i = 0; i < 2_498; i++) recorder.record(`01HV${String(i).padStart(22, '0')}`, now);
        recorder.record(keys[0]?.id as string, now);
        recorder.record(keys[1]?.id as string, older);
        statements.length = 0;
        await recorder.close();
        expect(statements.filter((sql) => /UPDATE "ApiKey"/.test(sql))).toHaveLength(3);
        expect(await usedAt(keys[0]?.id as string)).toBe(now.toISOString());
        expect(await usedAt(keys[1]?.id as string)).toBe(newer.toISOString());
      } finally {
        await counted.close();
      }
    });

    it('writes pending uses when the recorder is closed (graceful shutdown)', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const key = await org.key({ roles: ['viewer'] });
      const recorder = new LastUsedRecorder(t.domain.db, provider);
      const at = t.clock.now();
      recorder.record(key.id, at);
      expect(await lastUsedAt(admin.token, key.id)).toBeNull();
      await recorder.close();
      expect(await lastUsedAt(admin.token, key.id)).toBe(at.toISOString());
    });
  });
});
