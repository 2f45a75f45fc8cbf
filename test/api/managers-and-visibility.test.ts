// docs/rules.md "Managers" and "Visibility", through GraphQL over app.fetch: who is a manager, which keys a
// manager can see at all, and what everyone else may still read.
import { ulid } from 'ulidx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type GraphQLResponse, type Org, type TestApp } from '../helpers/app.ts';
import { CATALOGUE_SCOPES, MANAGER_ROLE_NAME, TEAM_ASSIGNABLE_ROLES } from '../helpers/catalogue.ts';
import { providers } from '../helpers/databases.ts';
import { CREATE_ID, CURRENT_KEY, DELETE_BY_ID, SHOW_KEY, UPDATE_NAME } from '../helpers/documents.ts';

const LIST = `query($first: Int, $after: String) {
  apiKeys(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
}`;
const ROTATE = 'mutation($id: ID!) { rotateApiKey(input: { id: $id, gracePeriodMinutes: 0 }) { token } }';

const notFoundMessage = (id: string) => `API key "${id}" was not found.`;

const DEFAULT_CATALOGUE = CATALOGUE_SCOPES;
const ACCOUNT_ROLES_BUT_MANAGE = Object.keys(DEFAULT_CATALOGUE).filter((name) => name !== MANAGER_ROLE_NAME);
const TEAM_ROLES_BUT_MANAGE = TEAM_ASSIGNABLE_ROLES.filter((name) => name !== MANAGER_ROLE_NAME);

const sorted = (values: Iterable<string>) => [...values].sort();

interface Connection {
  edges: Array<{ node: { id: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string };
}

describe.each(providers)('Managers and visibility on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  /** Every key id the caller lists, walking all pages. */
  async function listAll(token: string): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: GraphQLResponse<{ apiKeys: Connection }> = await t.gql(token, LIST, { first: 250, after });
      expect(page.errors).toBeUndefined();
      const connection: Connection | undefined = page.data?.apiKeys;
      if (!connection) throw new Error('no apiKeys in the response');
      ids.push(...connection.edges.map((edge) => edge.node.id));
      if (!connection.pageInfo.hasNextPage) return ids;
      after = connection.pageInfo.endCursor;
    }
  }

  async function currentId(token: string): Promise<string | undefined> {
    const response = await t.gql<{ currentApiKey: { id: string } }>(token, '{ currentApiKey { id } }');
    return response.data?.currentApiKey.id;
  }

  async function nameOf(id: string, adminToken: string): Promise<string | undefined> {
    const response = await t.gql<{ apiKey: { name: string } }>(adminToken, SHOW_KEY, { id });
    return response.data?.apiKey.name;
  }

  /**
   * Asserts that show, update, rotate and delete of `target` answer NOT_FOUND for `caller` exactly as for
   * an id that does not exist, and that the target is unchanged afterwards.
   */
  async function expectBehavesAsNonexistent(
    callerToken: string,
    target: { id: string; token: string },
    update: { teamIds: string[]; teamRoleNames: string[]; roleNames: string[] },
  ) {
    const missing = ulid();
    const attempts = (id: string) => [
      () => t.gql(callerToken, SHOW_KEY, { id }),
      () => t.gql(callerToken, UPDATE_NAME, { input: { id, name: 'hijacked', ...update } }),
      () => t.gql(callerToken, ROTATE, { id }),
      () => t.gql(callerToken, DELETE_BY_ID, { id }),
    ];
    for (const id of [target.id, missing]) {
      for (const attempt of attempts(id)) {
        const response = await attempt();
        expect(response.code).toBe('NOT_FOUND');
        expect(response.data).toBeNull();
        expect(response.errors?.map((error) => error.message)).toEqual([notFoundMessage(id)]);
      }
    }
    // Nothing happened to the target: its token still works, it was not renamed.
    expect(await currentId(target.token)).toBe(target.id);
  }

  describe('Managers: api_keys_manage at account level makes an account manager', () => {
    it('an account manager may list and show keys of its organization', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      const other = await org.key({ roles: ['viewer'] });
      expect(sorted(await listAll(manager.token))).toEqual(sorted([manager.id, other.id]));
      const shown = await t.gql(manager.token, SHOW_KEY, { id: other.id });
      expect(shown.errors).toBeUndefined();
    });

    it('a key with api_keys_manage both at account level and as a team role is an account manager', async () => {
      const org = await t.org();
      const team = await org.team();
      const manager = await org.key({ roles: ['api_keys_manage'], teams: [team], teamRoles: ['api_keys_manage'] });
      const accountOnly = await org.key({ roles: ['viewer'] });
      const noGrants = await org.key({});
      expect(sorted(await listAll(manager.token))).toEqual(sorted([manager.id, accountOnly.id, noGrants.id]));
    });
  });

  describe('Managers: api_keys_manage as a team role makes a team manager of its teams', () => {
    it('a team manager may list and show keys of its teams', async () => {
      const org = await t.org();
      const team = await org.team();
      const manager = await org.key({ teams: [team], teamRoles: ['api_keys_manage'] });
      const member = await org.key({ teams: [team], teamRoles: ['schedules_reader'] });
      expect(sorted(await listAll(manager.token))).toEqual(sorted([manager.id, member.id]));
      const shown = await t.gql(manager.token, SHOW_KEY, { id: member.id });
      expect(shown.errors).toBeUndefined();
    });

    it('a team manager that also holds account-level roles is still only a team manager', async () => {
      const org = await t.org();
      const [a, b] = [await org.team(), await org.team()];
      const manager = await org.key({
        roles: ['viewer', 'incident_editor'],
        teams: [a],
        teamRoles: ['api_keys_manage'],
      });
      const inA = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      const inB = await org.key({ teams: [b], teamRoles: ['schedules_reader'] });
      const accountOnly = await org.key({ roles: ['viewer'] });
      // Not itself either: it has account-level roles, so it does not belong to its teams.
      expect(await listAll(manager.token)).toEqual([inA.id]);
      for (const id of [inB.id, accountOnly.id, manager.id]) {
        expect((await t.gql(manager.token, SHOW_KEY, { id })).code).toBe('NOT_FOUND');
      }
    });
  });

  describe('Managers: a key that is neither gets FORBIDDEN for apiKey, apiKeys and every mutation', () => {
    let org: Org;
    let team: string;
    let nonManagers: Array<{ label: string; id: string; token: string }>;
    let target: { id: string; token: string };
    let adminToken: string;

    beforeAll(async () => {
      org = await t.org();
      team = await org.team();
      adminToken = (await org.key({ roles: ['api_keys_manage'] })).token;
      target = await org.key({ roles: ['viewer'] }, 'target');
      nonManagers = [
        { label: 'a key with no grants', ...(await org.key({})) },
        { label: 'a key with account roles', ...(await org.key({ roles: ['viewer', 'incident_editor'] })) },
        {
          label: 'a key with every other role at both levels',
          ...(await org.key({ roles: ACCOUNT_ROLES_BUT_MANAGE, teams: [team], teamRoles: TEAM_ROLES_BUT_MANAGE })),
        },
      ];
    });

    it('apiKey(id) is FORBIDDEN for another key, for the caller itself and for a key that does not exist', async () => {
      for (const caller of nonManagers) {
        for (const id of [target.id, caller.id, ulid()]) {
          const response = await t.gql(caller.token, SHOW_KEY, { id });
          expect(response.code, `${caller.label} showing ${id}`).toBe('FORBIDDEN');
          expect(response.data).toBeNull();
          expect(response.errors?.[0]?.message).toMatch(/api_keys_manage/);
        }
      }
    });

    it('apiKeys is FORBIDDEN', async () => {
      for (const caller of nonManagers) {
        for (const variables of [{}, { first: 1 }]) {
          const response = await t.gql(caller.token, LIST, variables);
          expect(response.code, caller.label).toBe('FORBIDDEN');
          expect(response.data).toBeNull();
          expect(response.errors?.[0]?.message).toMatch(/api_keys_manage/);
        }
      }
    });

    it('createApiKey is FORBIDDEN, even for grants the caller holds, and creates nothing', async () => {
      const before = await t.domain.db.apiKey.count({ where: { organizationId: org.id } });
      for (const caller of nonManagers) {
        for (const input of [
          { name: 'empty' },
          { name: 'reader', teamIds: [team], teamRoleNames: ['schedules_reader'] },
        ]) {
          const response = await t.gql(caller.token, CREATE_ID, { input });
          expect(response.code, caller.label).toBe('FORBIDDEN');
          expect(response.data).toBeNull();
        }
      }
      expect(await t.domain.db.apiKey.count({ where: { organizationId: org.id } })).toBe(before);
    });

    it('updateApiKey is FORBIDDEN for another key, the caller itself and a missing key, and changes nothing', async () => {
      for (const caller of nonManagers) {
        for (const id of [target.id, caller.id, ulid()]) {
          const input = { id, name: 'renamed', roleNames: [], teamIds: [], teamRoleNames: [] };
          const response = await t.gql(caller.token, UPDATE_NAME, { input });
          expect(response.code, `${caller.label} updating ${id}`).toBe('FORBIDDEN');
        }
        expect(await nameOf(caller.id, adminToken)).not.toBe('renamed');
      }
      expect(await nameOf(target.id, adminToken)).toBe('target');
    });

    it('rotateApiKey and deleteApiKey are FORBIDDEN, even on the caller itself, and change nothing', async () => {
      for (const caller of nonManagers) {
        for (const id of [target.id, caller.id, ulid()]) {
          expect((await t.gql(caller.token, ROTATE, { id })).code, `${caller.label} rotating ${id}`).toBe('FORBIDDEN');
          expect((await t.gql(caller.token, DELETE_BY_ID, { id })).code, `${caller.label} deleting ${id}`).toBe(
            'FORBIDDEN',
          );
        }
        expect(await currentId(caller.token)).toBe(caller.id);
      }
      expect(await currentId(target.token)).toBe(target.id);
    });

    it('invalid input from a non-manager is BAD_USER_INPUT (input is checked first)', async () => {
      const [caller] = nonManagers;
      if (!caller) throw new Error('no caller');
      expect((await t.gql(caller.token, SHOW_KEY, { id: 'not-an-id' })).code).toBe('BAD_USER_INPUT');
      expect((await t.gql(caller.token, LIST, { first: 0 })).code).toBe('BAD_USER_INPUT');
      expect((await t.gql(caller.token, LIST, { after: 'garbage' })).code).toBe('BAD_USER_INPUT');
      expect((await t.gql(caller.token, CREATE_ID, { input: { name: '  ' } })).code).toBe('BAD_USER_INPUT');
      expect((await t.gql(caller.token, ROTATE, { id: 'nope' })).code).toBe('BAD_USER_INPUT');
      expect((await t.gql(caller.token, DELETE_BY_ID, { id: 'nope' })).code).toBe('BAD_USER_INPUT');
      // An unknown team is input too, though the database tells: the gate reads the teams of a
      // non-manager's input before refusing it (a manager's are read once, inside the transaction).
      const unknownTeam = { teamIds: [ulid()], teamRoleNames: ['schedules_reader'] };
      expect((await t.gql(caller.token, CREATE_ID, { input: { name: 'x', ...unknownTeam } })).code).toBe(
        'BAD_USER_INPUT',
      );
      const update = UPDATE_NAME;
      const id = ulid();
      expect(
        (await t.gql(caller.token, update, { input: { id, name: 'x', roleNames: [], ...unknownTeam } })).code,
      ).toBe('BAD_USER_INPUT');
      // Good input: then the refusal.
      expect((await t.gql(caller.token, CREATE_ID, { input: { name: 'x' } })).code).toBe('FORBIDDEN');
      expect(
        (await t.gql(caller.token, update, { input: { id, name: 'x', roleNames: [], teamIds: [], teamRoleNames: [] } }))
          .code,
      ).toBe('FORBIDDEN');
    });
  });

  describe('Managers: any valid key may read currentApiKey, roles and teams', () => {
    it('currentApiKey answers with the calling key for managers and non-managers alike', async () => {
      const org = await t.org();
      const team = await org.team();
      const keys = [
        await org.key({}, 'no grants'),
        await org.key({ roles: ['viewer'], teams: [team], teamRoles: ['schedules_reader'] }, 'reader'),
        await org.key({ teams: [team], teamRoles: ['api_keys_manage'] }, 'team manager'),
        await org.key({ roles: ['api_keys_manage'] }, 'account manager'),
      ];
      for (const key of keys) {
        const response = await t.gql<{ currentApiKey: { id: string; name: string } }>(key.token, CURRENT_KEY);
        expect(response.errors).toBeUndefined();
        expect(response.data?.currentApiKey.id).toBe(key.id);
      }
      const reader = await t.gql<{
        currentApiKey: {
          name: string;
          roles: Array<{ name: string }>;
          teamIds: string[];
          teamRoles: Array<{ name: string }>;
        };
      }>(keys[1]?.token ?? '', CURRENT_KEY);
      expect(reader.data?.currentApiKey).toMatchObject({
        name: 'reader',
        roles: [{ name: 'viewer' }],
        teamIds: [team],
        teamRoles: [{ name: 'schedules_reader' }],
      });
    });

    it('roles returns the role catalogue to a key with no grants', async () => {
      const org = await t.org();
      const key = await org.key({});
      const response = await t.gql<{ roles: Array<{ name: string; description: string; scopes: string[] }> }>(
        key.token,
        '{ roles { name description scopes } }',
      );
      expect(response.errors).toBeUndefined();
      const roles = response.data?.roles ?? [];
      expect(sorted(roles.map((role) => role.name))).toEqual(sorted(Object.keys(DEFAULT_CATALOGUE)));
      for (const role of roles) {
        expect(sorted(role.scopes), role.name).toEqual(sorted(DEFAULT_CATALOGUE[role.name] ?? []));
        expect(role.description.trim(), role.name).not.toBe('');
      }
    });

    it("teams lists exactly the caller's organization's teams, to managers and non-managers", async () => {
      const org = await t.org();
      const other = await t.org();
      const platform = await org.team('Platform');
      const payments = await org.team('Payments');
      await other.team('Platform');
      await other.team('Elsewhere');
      for (const key of [await org.key({}), await org.key({ roles: ['api_keys_manage'] })]) {
        const response = await t.gql<{ teams: Array<{ id: string; name: string }> }>(
          key.token,
          '{ teams { id name } }',
        );
        expect(response.errors).toBeUndefined();
        const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
        expect([...(response.data?.teams ?? [])].sort(byId)).toEqual(
          [
            { id: platform, name: 'Platform' },
            { id: payments, name: 'Payments' },
          ].sort(byId),
        );
      }
      const empty = await t.org();
      const lonely = await t.gql<{ teams: unknown[] }>((await empty.key({})).token, '{ teams { id name } }');
      expect(lonely.data?.teams).toEqual([]);
    });
  });

  describe('Visibility: an account manager sees every key of its organization', () => {
    it('lists and shows keys of every shape, including other managers and itself', async () => {
      const org = await t.org();
      const [a, b] = [await org.team(), await org.team()];
      const manager = await org.key({ roles: ['api_keys_manage'] });
      const keys = [
        manager,
        await org.key({}),
        await org.key({ roles: ['viewer'] }),
        await org.key({ teams: [a], teamRoles: ['schedules_reader'] }),
        await org.key({ roles: ['incident_editor'], teams: [a, b], teamRoles: ['schedules_editor'] }),
        await org.key({ teams: [b], teamRoles: ['api_keys_manage'] }),
        await org.key({ roles: ['api_keys_manage', 'viewer'] }),
      ];
      expect(sorted(await listAll(manager.token))).toEqual(sorted(keys.map((key) => key.id)));
      for (const key of keys) {
        const response = await t.gql<{ apiKey: { id: string } }>(manager.token, SHOW_KEY, { id: key.id });
        expect(response.errors).toBeUndefined();
        expect(response.data?.apiKey.id).toBe(key.id);
      }
    });
  });

  describe('Visibility: a team manager sees exactly the keys that belong to its teams', () => {
    let org: Org;
    let a: string;
    let b: string;
    let c: string;
    let manager: { id: string; token: string };
    let visible: Array<{ id: string; token: string }>;

    beforeAll(async () => {
      org = await t.org();
      [a, b, c] = [await org.team(), await org.team(), await org.team()];
      manager = await org.key({ teams: [a, b], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      visible = [
        manager,
        await org.key({ teams: [a], teamRoles: ['schedules_reader'] }),
        await org.key({ teams: [b], teamRoles: ['schedules_editor', 'on_call_editor'] }),
        await org.key({ teams: [a, b], teamRoles: ['schedules_editor'] }),
        await org.key({ teams: [b], teamRoles: ['api_keys_manage'] }),
      ];
    });

    it('keys with no account roles whose teams are all managed teams (a subset or all of them) are listed and shown', async () => {
      // Invisible keys around them must not show up in the list.
      await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_reader'] });
      await org.key({ teams: [a, c], teamRoles: ['schedules_reader'] });
      await org.key({});
      expect(sorted(await listAll(manager.token))).toEqual(sorted(visible.map((key) => key.id)));
      for (const key of visible) {
        const response = await t.gql<{ apiKey: { id: string } }>(manager.token, SHOW_KEY, { id: key.id });
        expect(response.errors).toBeUndefined();
        expect(response.data?.apiKey.id).toBe(key.id);
      }
    });

    it('a key with any account-level role is invisible, even when all its teams are managed', async () => {
      const target = await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_reader'] });
      const accountManager = await org.key({ roles: ['api_keys_manage'] });
      expect(await listAll(manager.token)).not.toContain(target.id);
      expect(await listAll(manager.token)).not.toContain(accountManager.id);
      await expectBehavesAsNonexistent(manager.token, target, {
        roleNames: [],
        teamIds: [a],
        teamRoleNames: ['schedules_reader'],
      });
      await expectBehavesAsNonexistent(manager.token, accountManager, {
        roleNames: [],
        teamIds: [a],
        teamRoleNames: ['schedules_reader'],
      });
    });

    it('a key with no teams (and no roles) is invisible', async () => {
      const target = await org.key({});
      expect(await listAll(manager.token)).not.toContain(target.id);
      await expectBehavesAsNonexistent(manager.token, target, {
        roleNames: [],
        teamIds: [a],
        teamRoleNames: ['schedules_reader'],
      });
    });

    it('a key with a team the caller does not manage is invisible, even if its other teams are managed', async () => {
      const partly = await org.key({ teams: [a, c], teamRoles: ['schedules_reader'] });
      const elsewhere = await org.key({ teams: [c], teamRoles: ['schedules_reader'] });
      const list = await listAll(manager.token);
      expect(list).not.toContain(partly.id);
      expect(list).not.toContain(elsewhere.id);
      for (const target of [partly, elsewhere]) {
        await expectBehavesAsNonexistent(manager.token, target, {
          roleNames: [],
          teamIds: [a],
          teamRoleNames: ['schedules_reader'],
        });
      }
    });
  });

  describe("Visibility: another organization's keys behave as if they did not exist", () => {
    it('NOT_FOUND for show, update, rotate and delete, with the message of a missing key, and never listed', async () => {
      const mine = await t.org();
      const theirs = await t.org();
      const manager = await mine.key({ roles: ['api_keys_manage', 'viewer'] });
      const foreign = await theirs.key({ roles: ['viewer'] }, 'foreign');
      const foreignAdmin = await theirs.key({ roles: ['api_keys_manage'] });
      expect(await listAll(manager.token)).toEqual([manager.id]);
      await expectBehavesAsNonexistent(manager.token, foreign, {
        roleNames: ['viewer'],
        teamIds: [],
        teamRoleNames: [],
      });
      expect(await nameOf(foreign.id, foreignAdmin.token)).toBe('foreign');
    });

    it("another organization's team is an unknown team, exactly like a team id that does not exist", async () => {
      const mine = await t.org();
      const theirs = await t.org();
      const foreignTeam = await theirs.team();
      const manager = await mine.key({ roles: ['api_keys_manage', 'schedules_editor'] });
      const messages: string[] = [];
      for (const teamId of [foreignTeam, ulid()]) {
        const response = await t.gql(manager.token, CREATE_ID, {
          input: { name: 'k', teamIds: [teamId], teamRoleNames: ['schedules_reader'] },
        });
        expect(response.code).toBe('BAD_USER_INPUT');
        const message = response.errors?.[0]?.message ?? '';
        expect(message).toContain(teamId);
        messages.push(message.replace(teamId, '<team>'));
      }
      expect(messages[0]).toBe(messages[1]);
      expect(await listAll(manager.token)).toEqual([manager.id]);
    });
  });
});
