// apiKey and apiKeys serve what they read again while the database is unchanged (src/domain/read-cache.ts),
// and only then: whatever commits a change, this app, another connection or another process, the very
// next read shows it. Visibility and page arguments keep cached pages apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { createDataStamp } from '../../src/db/data-stamp.ts';
import { createApiKey } from '../../src/domain/api-keys.ts';
import { loadRoleCatalogue } from '../../src/domain/role-seed.ts';
import { createDomain } from '../../src/runtime.ts';
import { createTestApp, isStamp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { API_KEY_FIELDS, SHOW_KEY } from '../helpers/documents.ts';

const LIST = `query($first: Int, $after: String) {
  apiKeys(first: $first, after: $after) { edges { cursor node { ${API_KEY_FIELDS} } } pageInfo { hasNextPage endCursor } }
}`;

interface Listed {
  id: string;
  name: string;
  teams: Array<{ id: string; name: string }>;
  creator: { user: { name: string } | null };
  lastUsedAt: string | null;
}

describe.each(providers)('fresh reads of apiKey and apiKeys on %s', (provider) => {
  let t: TestApp;
  let statements: string[] = [];
  /** Another connection to the same database, as another Keygate process or the CLI would have. */
  let elsewhere: Database;
  let org: Org;
  let manager: { id: string; token: string };

  beforeAll(async () => {
    // The app gets a connection of its own (onQuery), apart from t.db.database.
    t = await createTestApp(provider, { onQuery: (sql) => statements.push(sql) });
    elsewhere = await openDatabase(t.db.config);
    org = await t.org();
    manager = await org.key({ roles: ['api_keys_manage', 'viewer'] });
  });
  afterAll(async () => {
    await elsewhere.close();
    await t.close();
  });

  async function list(token = manager.token, variables: Record<string, unknown> = { first: 50 }): Promise<Listed[]> {
    const response = await t.gql<{ apiKeys: { edges: Array<{ node: Listed }> } }>(token, LIST, variables);
    expect(response.errors).toBeUndefined();
    return response.data?.apiKeys.edges.map((edge) => edge.node) ?? [];
  }

  async function show(id: string, token = manager.token) {
    return t.gql<{ apiKey: Listed }>(token, SHOW_KEY, { id });
  }

  it('a page and a key read again after their second read, with nothing changed in between, cost no statement', async () => {
    const target = await org.key({ roles: ['viewer'] });
    // On PostgreSQL any commit in the cluster (other test files run in parallel) changes the stamp and
    // makes the next read go to the database: count only the rounds that nothing committed around.
    const stamp = createDataStamp(elsewhere.raw);
    let clean = 0;
    for (let round = 0; round < 50 && clean < 3; round++) {
      const before = await stamp();
      // Kept from their second read under one stamp (src/domain/read-cache.ts).
      for (let read = 0; read < 2; read++) {
        await list();
        await show(target.id);
      }
      statements = [];
      const again = await list();
      const shownAgain = await show(target.id);
      const counted = statements.filter((sql) => !isStamp(sql)).length;
      if ((await stamp()) !== before) continue;
      clean++;
      expect(counted).toBe(0);
      expect(again.map((key) => key.id)).toContain(target.id);
      expect(shownAgain.data?.apiKey.id).toBe(target.id);
    }
    expect(clean).toBe(3);
  });

  it('a key created by another process is in the next page at once', async () => {
    await list();
    const domain = createDomain(elsewhere, await loadRoleCatalogue(elsewhere.prisma));
    const { apiKey } = await createApiKey(
      domain,
      { kind: 'user', organizationId: org.id, userId: org.userId },
      { name: 'made elsewhere', roleNames: ['viewer'], teamIds: [], teamRoleNames: [] },
    );
    const page = await list();
    expect(page[0]?.id).toBe(apiKey.id);
    expect(page[0]?.name).toBe('made elsewhere');
  });

  it('a rename, a team rename, a user rename and a deletion by another connection show in the next reads at once', async () => {
    const team = await org.team('Before');
    const target = await org.key({ teams: [team], teamRoles: ['schedules_reader'] }, 'old name');
    const doomed = await org.key({ roles: ['viewer'] });
    const find = (page: Listed[]) => page.find((key) => key.id === target.id);
    expect(find(await list())).toMatchObject({ name: 'old name', teams: [{ id: team, name: 'Before' }] });
    expect((await show(target.id)).data?.apiKey.name).toBe('old name');

    await elsewhere.prisma.apiKey.update({ where: { id: target.id }, data: { name: 'new name' } });
    expect(find(await list())?.name).toBe('new name');
    expect((await show(target.id)).data?.apiKey.name).toBe('new name');

    await elsewhere.prisma.team.update({ where: { id: team }, data: { name: 'After' } });
    expect(find(await list())?.teams).toEqual([{ id: team, name: 'After' }]);
    expect((await show(target.id)).data?.apiKey.teams).toEqual([{ id: team, name: 'After' }]);

    await elsewhere.prisma.user.update({ where: { id: org.userId }, data: { name: 'Renamed admin' } });
    expect(find(await list())?.creator.user?.name).toBe('Renamed admin');
    expect((await show(target.id)).data?.apiKey.creator.user?.name).toBe('Renamed admin');

    expect((await show(doomed.id)).errors).toBeUndefined();
    await elsewhere.prisma.apiKeyToken.deleteMany({ where: { apiKeyId: doomed.id } });
    await elsewhere.prisma.apiKey.delete({ where: { id: doomed.id } });
    expect((await list()).map((key) => key.id)).not.toContain(doomed.id);
    expect((await show(doomed.id)).code).toBe('NOT_FOUND');
  });

  it('changes made through this app show in the next reads at once', async () => {
    const target = await org.key({ roles: ['viewer'] }, 'before update');
    await list();
    await show(target.id);
    const updated = await t.gql(
      manager.token,
      'mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id } } }',
      { input: { id: target.id, name: 'after update', roleNames: [], teamIds: [], teamRoleNames: [] } },
    );
    expect(updated.errors).toBeUndefined();
    expect((await list()).find((key) => key.id === target.id)?.name).toBe('after update');
    expect((await show(target.id)).data?.apiKey.name).toBe('after update');
  });

  it('a lastUsedAt flushed by another process shows in the next reads at once', async () => {
    const target = await org.key({ roles: ['viewer'] });
    expect((await list()).find((key) => key.id === target.id)?.lastUsedAt).toBeNull();
    const at = new Date('2031-02-03T04:05:06.789Z');
    await elsewhere.prisma.apiKey.update({ where: { id: target.id }, data: { lastUsedAt: at } });
    expect((await list()).find((key) => key.id === target.id)?.lastUsedAt).toBe(at.toISOString());
    expect((await show(target.id)).data?.apiKey.lastUsedAt).toBe(at.toISOString());
  });

  it('a team manager never gets the page of an account manager, nor the other way round', async () => {
    const own = await org.team();
    const other = await org.team();
    const teamManager = await org.key({ teams: [own], teamRoles: ['api_keys_manage', 'schedules_reader'] });
    const inOwnTeam = await org.key({ teams: [own], teamRoles: ['schedules_reader'] });
    const inOtherTeam = await org.key({ teams: [other], teamRoles: ['schedules_reader'] });
    const all = (await list()).map((key) => key.id);
    expect(all).toEqual(expect.arrayContaining([inOwnTeam.id, inOtherTeam.id]));
    const teams = (await list(teamManager.token)).map((key) => key.id);
    expect(teams).toContain(inOwnTeam.id);
    expect(teams).not.toContain(inOtherTeam.id);
    expect((await list()).map((key) => key.id)).toEqual(all);
    expect((await show(inOtherTeam.id, teamManager.token)).code).toBe('NOT_FOUND');
    expect((await show(inOtherTeam.id)).errors).toBeUndefined();
    expect((await show(inOtherTeam.id, teamManager.token)).code).toBe('NOT_FOUND');
  });

  it('pages of other sizes and cursors are not served for one another', async () => {
    const keys = [await org.key({}, 'p1'), await org.key({}, 'p2'), await org.key({}, 'p3')];
    const [newest, middle] = [keys[2]?.id, keys[1]?.id];
    expect((await list(manager.token, { first: 1 })).map((key) => key.id)).toEqual([newest]);
    expect((await list(manager.token, { first: 2 })).map((key) => key.id)).toEqual([newest, middle]);
    const first = await t.gql<{ apiKeys: { pageInfo: { endCursor: string } } }>(manager.token, LIST, { first: 1 });
    const after = first.data?.apiKeys.pageInfo.endCursor;
    expect((await list(manager.token, { first: 1, after })).map((key) => key.id)).toEqual([middle]);
    expect((await list(manager.token, { first: 1 })).map((key) => key.id)).toEqual([newest]);
  });

  it('another organization does not get the page of this one', async () => {
    const otherOrg = await t.org();
    const otherManager = await otherOrg.key({ roles: ['api_keys_manage'] });
    const mine = (await list()).map((key) => key.id);
    const theirs = (await list(otherManager.token)).map((key) => key.id);
    expect(theirs).toEqual([otherManager.id]);
    expect(mine).not.toContain(otherManager.id);
  });
});
