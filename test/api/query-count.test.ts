// A page of keys costs the same number of SQL statements whatever its size: creating users come with
// the keys, grants and team names in one more statement, roles from the in-memory catalogue. A change
// costs a fixed, small number: nothing it wrote is read back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, isStamp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { API_KEY_FIELDS } from '../helpers/documents.ts';

describe.each(providers)('query economy on %s', (provider) => {
  let t: TestApp;
  let statements: string[] = [];
  let token: string;
  let org: Org;
  let teams: string[];

  beforeAll(async () => {
    t = await createTestApp(provider, { onQuery: (sql) => statements.push(sql) });
    org = await t.org();
    teams = [await org.team(), await org.team(), await org.team()];
    ({ token } = await org.key({ roles: ['api_keys_manage', 'viewer', 'schedules_editor'] }));
    // 250 keys with every kind of grant, created alternately by a user (CLI path) and by a key (API
    // path), so that every page of two or more keys needs every loader.
    for (let i = 0; i < 125; i++) {
      await org.key({ roles: ['viewer'], teams: [teams[i % 3] as string], teamRoles: ['schedules_editor'] });
      const created = await t.gql(
        token,
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }',
        {
          input: {
            name: `api ${i}`,
            roleNames: ['viewer'],
            teamIds: teams.slice(0, 2),
            teamRoleNames: ['schedules_editor'],
          },
        },
      );
      expect(created.errors).toBeUndefined();
    }
  }, 120_000);
  afterAll(() => t.close());

  /**
   * Prisma statements plus raw token lookups one request costs (the read cache's stamps aside). The caller's token is made warm first:
   * a cached token is looked up again once its entry is 5 s old (src/auth/verifier.ts, maxAgeMs), which
   * on a slow machine a series of counted requests outlasts.
   */
  async function countStatements(query: string, variables?: Record<string, unknown>): Promise<number> {
    expect((await t.gql(token, '{ currentApiKey { id } }')).errors).toBeUndefined();
    statements = [];
    const lookupsBefore = t.lookups.count;
    const response = await t.gql(token, query, variables);
    expect(response.errors).toBeUndefined();
    return statements.filter((sql) => !isStamp(sql)).length + (t.lookups.count - lookupsBefore);
  }

  it('currentApiKey with a warm token cache costs no query at all', async () => {
    await countStatements('{ currentApiKey { id } }'); // warms the cache
    expect(await countStatements('{ currentApiKey { id name roles { name } teamIds teams { id name } } }')).toBe(0);
  });

  it('a cold token costs one raw lookup (token with key, then grants) and no Prisma query', async () => {
    t.lookups.count = 0;
    const cold = await t.org().then((org) => org.key({ roles: ['viewer'] }));
    statements = [];
    const response = await t.gql(cold.token, '{ currentApiKey { id } }');
    expect(response.errors).toBeUndefined();
    expect(t.lookups.count).toBe(1);
    expect(statements).toHaveLength(0);
  });

  it('apiKeys(first: N) with every field costs the same number of statements for N = 2, 50 and 250', async () => {
    const page = (n: number) =>
      `{ apiKeys(first: ${n}) { edges { cursor node { ${API_KEY_FIELDS} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const two = await countStatements(page(2));
    const fifty = await countStatements(page(50));
    // The page size is in the SQL text, not a parameter: PostgreSQL's generic plan of a prepared
    // statement with LIMIT $n assumes a tenth of the table (see listApiKeys).
    expect(statements.filter((sql) => /\bLIMIT 51\b/.test(sql))).toHaveLength(1);
    const all = await countStatements(page(250));
    expect(fifty).toBe(two);
    expect(all).toBe(two);
    expect(await countStatements(page(1))).toBeLessThanOrEqual(two);
    // warm token cache: one statement, the page of keys with their grants, team names and creating users
    expect(all).toBe(1);
  });

  it('apiKey(id) with every field is one statement: the key with its grants, team names and creating user', async () => {
    const query = `query($id: ID!) { apiKey(id: $id) { ${API_KEY_FIELDS} } }`;
    const byUser = await org.key({ roles: ['viewer'], teams: [teams[0] as string], teamRoles: ['schedules_editor'] });
    const byKey = await t.gql<{ createApiKey: { apiKey: { id: string } } }>(
      token,
      'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }',
      { input: { name: 'shown', roleNames: ['viewer'], teamIds: [teams[1]], teamRoleNames: ['schedules_editor'] } },
    );
    for (const id of [byUser.id, byKey.data?.createApiKey.apiKey.id as string]) {
      // Never read before: not one of the kept reads.
      expect(await countStatements(query, { id }), id).toBe(1);
    }
    const shown = await t.gql<{ apiKey: { creator: { user: { email: string } | null } } }>(token, query, {
      id: byUser.id,
    });
    expect(shown.data?.apiKey.creator.user?.email).toMatch(/@/);
  });

  it('a filtered page (name, team, expiry, together) is still one statement, whatever its size', async () => {
    const page = (n: number, filter: string) =>
      `{ apiKeys(first: ${n}, filter: ${filter}) { edges { cursor node { ${API_KEY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
    const team = JSON.stringify(teams[0]);
    const expiring = JSON.stringify(new Date(Date.now() + 86_400_000).toISOString());
    for (const filter of [
      '{ nameContains: "API 1" }',
      `{ teamId: ${team} }`,
      `{ nameContains: "api", teamId: ${team} }`,
      `{ expiringBefore: ${expiring} }`,
    ]) {
      // Every page size and filter is a page never read before: none comes from the kept pages.
      for (const n of [2, 50, 250]) expect(await countStatements(page(n, filter)), `${filter}, first: ${n}`).toBe(1);
    }
  });

  // Statements as onQuery reports them: every statement, and COMMIT, but not BEGIN. The caller's token
  // is warm in the cache, so authentication costs nothing.
  describe('a change costs a fixed number of statements', () => {
    const CREATE = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id } } }';
    const UPDATE =
      'mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id name teams { name } } } }';
    /** A read of one key with its grants (src/store/api-keys.ts, readApiKey): the caller's or a target's. */
    const readsKey = (sql: string) => /^WITH p AS \(SELECT k\."id"/.test(sql.trim());
    /** A read of the teams of an input's grants (Prisma's, on either database). */
    const readsTeams = (sql: string) => /FROM ([`"](main|public)[`"]\.)?[`"]Team[`"]/.test(sql);
    const ROTATE = `mutation($input: RotateApiKeyInput!) {
      rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { id name roles { name } teams { id name } tokenLastIssuedAt } }
    }`;

    /** Statements of rotations of one key, with the grace periods given in turn. */
    async function rotations(target: { id: string }, graces: number[]): Promise<number[]> {
      await countStatements('{ currentApiKey { id } }');
      const counts: number[] = [];
      for (const gracePeriodMinutes of graces) {
        counts.push(await countStatements(ROTATE, { input: { id: target.id, gracePeriodMinutes } }));
      }
      return counts;
    }

    // On SQLite every write is a statement; on PostgreSQL a change's writes, with the pg_notify that
    // tells other processes, go as one statement (src/domain/store.ts, WriteAll). Every change first
    // reads the caller's own key again in its transaction, with the token the request was sent with (gone,
    // or in its grace period, since it was authenticated?), in one statement (both rows locked on
    // PostgreSQL: see lockCaller); a
    // creation also counts the organization's keys, on PostgreSQL under a lock of its row (see
    // lockAndCountKeys).
    const onSqlite = provider === 'sqlite';

    it('createApiKey with account roles: the caller, the count of keys, key, grants, token, audit event (one statement on PostgreSQL), COMMIT (was 8)', async () => {
      await countStatements('{ currentApiKey { id } }');
      const input = { name: 'counted', roleNames: ['viewer', 'schedules_editor'] };
      expect(await countStatements(CREATE, { input })).toBe(onSqlite ? 7 : 5);
    });

    it("createApiKey with teams: + the teams, read once, inside the transaction, one INSERT per grant table, the audit event's teams (was 13)", async () => {
      await countStatements('{ currentApiKey { id } }');
      const input = { name: 'counted', roleNames: ['viewer'], teamIds: teams, teamRoleNames: ['schedules_editor'] };
      expect(await countStatements(CREATE, { input })).toBe(onSqlite ? 11 : 6);
      // The rules are judged once: the gate lets a manager through without reading anything.
      expect(statements.filter(readsTeams)).toHaveLength(1);
      expect(statements.filter(readsKey)).toHaveLength(1); // the caller's own key
    });

    // The caller's key with its token; the target's one read, with its lock on PostgreSQL (an embedded
    // transaction holds the write lock from its first statement: see lockApiKey); the teams of the input, read after the lock; the writes: name and expiry with the old grants' DELETEs, then the new grants with the audit
    // event (each batch one statement on PostgreSQL, the second with pg_notify); COMMIT.
    it('updateApiKey: the target read once, after its lock, and the rules judged on it once', async () => {
      const target = await org.key({ roles: ['viewer'] });
      await countStatements('{ currentApiKey { id } }');
      const input = { id: target.id, name: 'counted', roleNames: ['viewer'], teamIds: [], teamRoleNames: [] };
      expect(await countStatements(UPDATE, { input })).toBe(onSqlite ? 9 : 5);
      expect(statements.filter(readsKey)).toHaveLength(2); // the caller's, the target's
      expect(statements.filter(readsTeams)).toHaveLength(0);
    });

    it("updateApiKey with teams: + the teams, read once, an INSERT per grant table, the audit event's teams", async () => {
      const target = await org.key({ roles: ['viewer'] });
      await countStatements('{ currentApiKey { id } }');
      const input = {
        id: target.id,
        name: 'counted',
        roleNames: ['viewer'],
        teamIds: teams,
        teamRoleNames: ['schedules_editor'],
      };
      expect(await countStatements(UPDATE, { input })).toBe(onSqlite ? 13 : 6);
      expect(statements.filter(readsKey)).toHaveLength(2);
      expect(statements.filter(readsTeams)).toHaveLength(1);
    });

    // The caller's key with its token; then the target's one read, with its lock on PostgreSQL (an embedded
    // transaction holds the write lock from its first statement: see lockApiKey); the writes (token changes, the new token, the key's tokenLastIssuedAt,
    // audit event; with pg_notify on PostgreSQL); COMMIT. The token changes: with no grace period the
    // tokens that stopped working go in one DELETE; with one, expired tokens go and the current one gets
    // its expiry.
    it('rotateApiKey with no grace period (was 12, 13 on PostgreSQL)', async () => {
      const target = await org.key({ roles: ['viewer'] });
      for (const count of await rotations(target, [0, 0, 0])) expect(count).toBe(onSqlite ? 7 : 4);
    });

    it('rotateApiKey with a grace period (was 12, 13 on PostgreSQL)', async () => {
      const target = await org.key({ roles: ['viewer'] });
      for (const count of await rotations(target, [30, 5, 60])) expect(count).toBe(onSqlite ? 8 : 4);
    });

    it("rotateApiKey of a key with teams: + the audit event's teams", async () => {
      const target = await org.key({ teams: teams.slice(0, 2), teamRoles: ['schedules_editor'] });
      expect(await rotations(target, [0, 30])).toEqual(onSqlite ? [8, 9] : [4, 4]);
    });
  });
});
