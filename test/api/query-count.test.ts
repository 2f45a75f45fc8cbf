// A page of keys costs the same number of SQL statements whatever its size: grants come with the page,
// roles from the in-memory catalogue, teams and creator users through per-request dataloaders.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_FIELDS, createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

describe.each(providers)('query economy on %s', (provider) => {
  let t: TestApp;
  let statements: string[] = [];
  let token: string;

  beforeAll(async () => {
    t = await createTestApp(provider, { onQuery: (sql) => statements.push(sql) });
    const org = await t.org();
    const teams = [await org.team(), await org.team(), await org.team()];
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

  /** Prisma statements plus raw token lookups one request costs. */
  async function countStatements(query: string): Promise<number> {
    statements = [];
    const lookupsBefore = t.lookups.count;
    const response = await t.gql(token, query);
    expect(response.errors).toBeUndefined();
    return statements.length + (t.lookups.count - lookupsBefore);
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
    const all = await countStatements(page(250));
    expect(fifty).toBe(two);
    expect(all).toBe(two);
    expect(await countStatements(page(1))).toBeLessThanOrEqual(two);
    // warm token cache: the page (keys), grants with team names, creator users
    expect(all).toBeLessThanOrEqual(4);
  });
});
