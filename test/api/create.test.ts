// docs/rules.md "The operations" (create), "Covering", "Input rules" and "Tokens" as far as create hands one
// out, through GraphQL over app.fetch.
import { ulid } from 'ulidx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type GraphQLResponse, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import {
  API_KEY_FIELDS,
  type ApiKeyView,
  CREATE_KEY,
  CURRENT_KEY,
  DELETE_BY_ID,
  expectedGrants,
  SHOW_KEY,
  shownGrants,
} from '../helpers/documents.ts';

const LIST = `{ apiKeys(first: 250) { edges { cursor node { ${API_KEY_FIELDS} } } } }`;

interface Created {
  createApiKey: { token: string; apiKey: ApiKeyView };
}
interface Input {
  name: string;
  roleNames?: string[];
  teamIds?: string[];
  teamRoleNames?: string[];
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe.each(providers)('create on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  const create = (token: string, input: Input) => t.gql<Created>(token, CREATE_KEY, { input });
  const keyCount = (org: Org) => t.domain.db.apiKey.count({ where: { organizationId: org.id } });

  async function expectCreated(token: string, input: Input): Promise<Created['createApiKey']> {
    const response = await create(token, input);
    expect(response.errors, JSON.stringify(input)).toBeUndefined();
    if (!response.data) throw new Error('no data');
    const { apiKey } = response.data.createApiKey;
    expect(shownGrants(apiKey)).toEqual(expectedGrants(input.roleNames, input.teamIds, input.teamRoleNames));
    return response.data.createApiKey;
  }

  /** Asserts the request failed with `code` and that no key was written in the organization. */
  async function expectRefused(org: Org, token: string, input: Input, code: string): Promise<string> {
    const before = await keyCount(org);
    const response = await create(token, input);
    expect(response.code, JSON.stringify(input)).toBe(code);
    expect(response.data).toBeNull();
    expect(await keyCount(org)).toBe(before);
    return response.errors?.[0]?.message ?? '';
  }

  describe('create: an account manager creates keys whose grants it covers', () => {
    it('returns the key with the grants given, and a token that authenticates as that key', async () => {
      const org = await t.org();
      const [a, b] = [await org.team('Alpha'), await org.team('Beta')];
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer', 'schedules_editor'] }, 'creator');
      const input = { name: 'bot', roleNames: ['viewer'], teamIds: [a, b], teamRoleNames: ['schedules_reader'] };
      const { apiKey, token } = await expectCreated(manager.token, input);
      expect(apiKey.name).toBe('bot');
      expect(sorted(apiKey.teams.map((team) => team.name))).toEqual(['Alpha', 'Beta']);

      const current = await t.gql<{ currentApiKey: ApiKeyView }>(token, CURRENT_KEY);
      expect(current.errors).toBeUndefined();
      expect(current.data?.currentApiKey.id).toBe(apiKey.id);
      expect(shownGrants(current.data?.currentApiKey)).toEqual(
        expectedGrants(input.roleNames, input.teamIds, input.teamRoleNames),
      );
    });

    it('a key with no grants at all may be created by an account manager', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      await expectCreated(manager.token, { name: 'bare' });
      await expectCreated(manager.token, { name: 'bare too', roleNames: [], teamIds: [], teamRoleNames: [] });
    });

    it('creator.apiKey is the calling key (id and name), creator.user is null, and it outlives the caller', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'the creator');
      const { apiKey } = await expectCreated(manager.token, { name: 'child', roleNames: ['viewer'] });
      expect(apiKey.creator).toEqual({ apiKey: { id: manager.id, name: 'the creator' }, user: null });
      expect((await t.gql(admin.token, DELETE_BY_ID, { id: manager.id })).errors).toBeUndefined();
      const shown = await t.gql<{ apiKey: ApiKeyView }>(admin.token, SHOW_KEY, { id: apiKey.id });
      expect(shown.data?.apiKey.creator).toEqual({ apiKey: { id: manager.id, name: 'the creator' }, user: null });
    });

    it('createdAt and tokenLastIssuedAt are the time of creation; lastUsedAt is null', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      t.clock.advance(3_600_000);
      const before = t.clock.now().getTime();
      const { apiKey } = await expectCreated(manager.token, { name: 'timed' });
      expect(Date.parse(apiKey.createdAt)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(apiKey.createdAt)).toBeLessThanOrEqual(t.clock.now().getTime());
      expect(apiKey.tokenLastIssuedAt).toBe(apiKey.createdAt);
      expect(apiKey.lastUsedAt).toBeNull();
    });
  });

  describe('create: the token is shown exactly once', () => {
    it('appears in the create payload only: not in show, list or currentApiKey, and is not stored', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      const { apiKey, token } = await expectCreated(manager.token, { name: 'secret holder' });
      expect(token.length).toBeGreaterThan(20);
      const responses = await Promise.all([
        t.gql(manager.token, SHOW_KEY, { id: apiKey.id }),
        t.gql(manager.token, LIST),
        t.gql(token, CURRENT_KEY),
      ]);
      for (const response of responses) {
        expect(response.errors).toBeUndefined();
        expect(JSON.stringify(response.data)).not.toContain(token);
      }
      const rows = await t.domain.db.apiKeyToken.findMany({ where: { apiKeyId: apiKey.id } });
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(token);
      const keyRow = await t.domain.db.apiKey.findUnique({ where: { id: apiKey.id } });
      expect(JSON.stringify(keyRow)).not.toContain(token);
    });

    it('asking for a token field on ApiKey is a GraphQL validation error (BAD_USER_INPUT)', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      const response = await t.gql(manager.token, `{ apiKey(id: "${manager.id}") { id token } }`);
      expect(response.code).toBe('BAD_USER_INPUT');
    });

    it('each create hands out a different token', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      const one = await expectCreated(manager.token, { name: 'one' });
      const two = await expectCreated(manager.token, { name: 'two' });
      expect(one.token).not.toBe(two.token);
      expect((await t.gql<{ currentApiKey: { id: string } }>(two.token, CURRENT_KEY)).data?.currentApiKey.id).toBe(
        two.apiKey.id,
      );
    });
  });

  describe('create: the caller must cover the grants (docs/rules.md "Covering")', () => {
    it('viewer + incident_creator may give viewer and incident_creator but not incident_editor', async () => {
      const org = await t.org();
      const caller = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] });
      await expectCreated(caller.token, { name: 'v', roleNames: ['viewer'] });
      await expectCreated(caller.token, { name: 'c', roleNames: ['incident_creator'] });
      await expectCreated(caller.token, { name: 'vc', roleNames: ['viewer', 'incident_creator'] });
      const message = await expectRefused(
        org,
        caller.token,
        { name: 'e', roleNames: ['viewer', 'incident_editor'] },
        'FORBIDDEN',
      );
      expect(message).toContain('incident_editor');
    });

    it('covering compares scopes, not role names', async () => {
      const org = await t.org();
      // catalog_editor holds catalog.view, so it covers catalog_viewer.
      const catalog = await org.key({ roles: ['api_keys_manage', 'catalog_editor'] });
      await expectCreated(catalog.token, { name: 'catalog reader', roleNames: ['catalog_viewer'] });
      // manage_settings lacks incidents.view, so it does not cover viewer.
      const settings = await org.key({ roles: ['api_keys_manage', 'manage_settings'] });
      expect(await expectRefused(org, settings.token, { name: 'v', roleNames: ['viewer'] }, 'FORBIDDEN')).toContain(
        'viewer',
      );
      // viewer + catalog_viewer together still lack catalog.edit.
      const union = await org.key({ roles: ['api_keys_manage', 'viewer', 'catalog_viewer'] });
      await expectRefused(org, union.token, { name: 'c', roleNames: ['catalog_editor'] }, 'FORBIDDEN');
      // api_keys_manage itself lends no other scopes.
      const bare = await org.key({ roles: ['api_keys_manage'] });
      await expectRefused(org, bare.token, { name: 'r', roleNames: ['schedules_reader'] }, 'FORBIDDEN');
    });

    it('an account-level schedules_editor may give schedules_editor at account level and for any team', async () => {
      const org = await t.org();
      const [a, b] = [await org.team(), await org.team()];
      const caller = await org.key({ roles: ['api_keys_manage', 'schedules_editor'] });
      await expectCreated(caller.token, { name: 'acct', roleNames: ['schedules_editor'] });
      await expectCreated(caller.token, { name: 'A', teamIds: [a], teamRoleNames: ['schedules_editor'] });
      await expectCreated(caller.token, { name: 'B', teamIds: [b], teamRoleNames: ['schedules_editor'] });
      await expectCreated(caller.token, {
        name: 'AB',
        teamIds: [a, b],
        teamRoleNames: ['schedules_editor', 'schedules_reader'],
      });
      const message = await expectRefused(
        org,
        caller.token,
        { name: 'oncall', teamIds: [a], teamRoleNames: ['on_call_editor'] },
        'FORBIDDEN',
      );
      expect(message).toContain('on_call_editor');
    });

    it('schedules_editor held only for Team A may be given for Team A, not at account level nor for Team B', async () => {
      const org = await t.org();
      const [a, b] = [await org.team(), await org.team()];
      const caller = await org.key({ roles: ['api_keys_manage'], teams: [a], teamRoles: ['schedules_editor'] });
      await expectCreated(caller.token, { name: 'A', teamIds: [a], teamRoleNames: ['schedules_editor'] });
      await expectCreated(caller.token, { name: 'A reader', teamIds: [a], teamRoleNames: ['schedules_reader'] });
      const account = await expectRefused(
        org,
        caller.token,
        { name: 'acct', roleNames: ['schedules_editor'] },
        'FORBIDDEN',
      );
      expect(account).toContain('schedules_editor');
      const inB = await expectRefused(
        org,
        caller.token,
        { name: 'B', teamIds: [b], teamRoleNames: ['schedules_editor'] },
        'FORBIDDEN',
      );
      expect(inB).toContain('schedules_editor');
      await expectRefused(
        org,
        caller.token,
        { name: 'AB', teamIds: [a, b], teamRoleNames: ['schedules_reader'] },
        'FORBIDDEN',
      );
      await expectRefused(org, caller.token, { name: 'acct reader', roleNames: ['schedules_reader'] }, 'FORBIDDEN');
    });
  });

  describe('create: a team manager may create only keys that belong to its teams', () => {
    let org: Org;
    let a: string;
    let b: string;
    let c: string;
    let manager: { id: string; token: string };

    beforeAll(async () => {
      org = await t.org();
      [a, b, c] = [await org.team(), await org.team(), await org.team()];
      manager = await org.key({ roles: ['viewer'], teams: [a, b], teamRoles: ['api_keys_manage', 'schedules_editor'] });
    });

    it('creates keys in one or all of its teams with team roles it holds there, and then sees them', async () => {
      const inA = await expectCreated(manager.token, { name: 'A', teamIds: [a], teamRoleNames: ['schedules_editor'] });
      const inAB = await expectCreated(manager.token, {
        name: 'AB',
        teamIds: [a, b],
        teamRoleNames: ['schedules_reader'],
      });
      for (const { apiKey } of [inA, inAB]) {
        const shown = await t.gql<{ apiKey: { id: string } }>(manager.token, SHOW_KEY, { id: apiKey.id });
        expect(shown.data?.apiKey.id).toBe(apiKey.id);
      }
    });

    it('FORBIDDEN: account-level roles (even ones it holds), so the key would not be visible to it', async () => {
      const message = await expectRefused(
        org,
        manager.token,
        { name: 'x', roleNames: ['viewer'], teamIds: [a], teamRoleNames: ['schedules_reader'] },
        'FORBIDDEN',
      );
      expect(message).toMatch(/visible/);
    });

    it('FORBIDDEN: a team it does not manage, alone or with its own teams', async () => {
      await expectRefused(
        org,
        manager.token,
        { name: 'x', teamIds: [c], teamRoleNames: ['schedules_reader'] },
        'FORBIDDEN',
      );
      await expectRefused(
        org,
        manager.token,
        { name: 'x', teamIds: [a, c], teamRoleNames: ['schedules_reader'] },
        'FORBIDDEN',
      );
    });

    it('FORBIDDEN: a key with no teams and no roles', async () => {
      await expectRefused(org, manager.token, { name: 'bare' }, 'FORBIDDEN');
    });

    it('FORBIDDEN: a team role it does not hold in that team', async () => {
      const message = await expectRefused(
        org,
        manager.token,
        { name: 'x', teamIds: [a], teamRoleNames: ['on_call_editor'] },
        'FORBIDDEN',
      );
      expect(message).toContain('on_call_editor');
    });
  });

  describe('create: api_keys_manage is never granted through the API', () => {
    it('FORBIDDEN at account level or as a team role, naming the administration CLI, even for holders', async () => {
      const org = await t.org();
      const [a] = [await org.team()];
      const accountManager = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const teamManager = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      const attempts: Array<[string, Input]> = [
        [accountManager.token, { name: 'x', roleNames: ['api_keys_manage'] }],
        [accountManager.token, { name: 'x', roleNames: ['viewer', 'api_keys_manage'] }],
        [accountManager.token, { name: 'x', teamIds: [a], teamRoleNames: ['api_keys_manage'] }],
        [teamManager.token, { name: 'x', teamIds: [a], teamRoleNames: ['api_keys_manage'] }],
      ];
      for (const [token, input] of attempts) {
        const message = await expectRefused(org, token, input, 'FORBIDDEN');
        expect(message).toContain('api_keys_manage');
        expect(message).toMatch(/administration CLI/);
      }
    });
  });

  describe('create: input rules (BAD_USER_INPUT naming the value, nothing written)', () => {
    let org: Org;
    let a: string;
    let foreignTeam: string;
    let manager: { id: string; token: string };

    beforeAll(async () => {
      org = await t.org();
      a = await org.team();
      foreignTeam = await (await t.org()).team();
      manager = await org.key({ roles: ['api_keys_manage', 'viewer', 'schedules_editor'] });
    });

    it('name: empty or blank', async () => {
      for (const name of ['', '   ', '\t\n']) {
        expect(await expectRefused(org, manager.token, { name }, 'BAD_USER_INPUT')).toMatch(/name/);
      }
    });

    it('name: longer than 200 characters once trimmed', async () => {
      const message = await expectRefused(org, manager.token, { name: 'n'.repeat(201) }, 'BAD_USER_INPUT');
      expect(message).toMatch(/name/);
      expect(message).toContain('200');
    });

    it('name: missing is a GraphQL validation error, also BAD_USER_INPUT', async () => {
      await expectRefused(org, manager.token, { roleNames: ['viewer'] } as Input, 'BAD_USER_INPUT');
    });

    it('unknown role names, at account level and as team roles', async () => {
      for (const input of [
        { name: 'x', roleNames: ['viewer', 'superuser'] },
        { name: 'x', teamIds: [a], teamRoleNames: ['schedules_reader', 'superuser'] },
      ]) {
        expect(await expectRefused(org, manager.token, input, 'BAD_USER_INPUT')).toContain('superuser');
      }
    });

    it('roles not assignable as team roles (e.g. viewer)', async () => {
      for (const role of ['viewer', 'incident_editor', 'catalog_viewer']) {
        const message = await expectRefused(
          org,
          manager.token,
          { name: 'x', teamIds: [a], teamRoleNames: [role] },
          'BAD_USER_INPUT',
        );
        expect(message).toContain(role);
      }
    });

    it('teamIds without teamRoleNames, and teamRoleNames without teamIds', async () => {
      const withoutRoles = await expectRefused(org, manager.token, { name: 'x', teamIds: [a] }, 'BAD_USER_INPUT');
      expect(withoutRoles).toMatch(/teamRoleNames/);
      const withoutTeams = await expectRefused(
        org,
        manager.token,
        { name: 'x', teamRoleNames: ['schedules_reader'] },
        'BAD_USER_INPUT',
      );
      expect(withoutTeams).toMatch(/teamIds/);
    });

    it("unknown team ids: a ULID that is no team, another organization's team, a malformed id", async () => {
      for (const teamId of [ulid(), foreignTeam, 'team-a']) {
        const message = await expectRefused(
          org,
          manager.token,
          { name: 'x', teamIds: [a, teamId], teamRoleNames: ['schedules_reader'] },
          'BAD_USER_INPUT',
        );
        expect(message).toContain(teamId);
      }
    });

    it('input is checked before permission: invalid input with uncovered or admin-only grants is BAD_USER_INPUT', async () => {
      await expectRefused(org, manager.token, { name: '', roleNames: ['incident_editor'] }, 'BAD_USER_INPUT');
      await expectRefused(org, manager.token, { name: 'x', roleNames: ['api_keys_manage', 'nope'] }, 'BAD_USER_INPUT');
      await expectRefused(
        org,
        manager.token,
        { name: 'x', teamIds: [ulid()], teamRoleNames: ['api_keys_manage'] },
        'BAD_USER_INPUT',
      );
    });
  });

  describe('create: names are trimmed and duplicate grants ignored', () => {
    it('trims the name; 200 characters (after trimming) are accepted', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      expect((await expectCreated(manager.token, { name: '  deploy bot \n' })).apiKey.name).toBe('deploy bot');
      const long = 'n'.repeat(200);
      expect((await expectCreated(manager.token, { name: `  ${long}  ` })).apiKey.name).toBe(long);
    });

    it('ignores repeated role names and team ids', async () => {
      const org = await t.org();
      const a = await org.team();
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer', 'schedules_editor'] });
      const response: GraphQLResponse<Created> = await create(manager.token, {
        name: 'dupes',
        roleNames: ['viewer', 'viewer'],
        teamIds: [a, a],
        teamRoleNames: ['schedules_reader', 'schedules_reader'],
      });
      expect(response.errors).toBeUndefined();
      const apiKey = response.data?.createApiKey.apiKey;
      expect(apiKey?.roles.map((role) => role.name)).toEqual(['viewer']);
      expect(apiKey?.teamIds).toEqual([a]);
      expect(apiKey?.teams.map((team) => team.id)).toEqual([a]);
      expect(apiKey?.teamRoles.map((role) => role.name)).toEqual(['schedules_reader']);
      const shown = await t.gql<{ apiKey: ApiKeyView }>(manager.token, SHOW_KEY, { id: apiKey?.id });
      expect(shownGrants(shown.data?.apiKey)).toEqual(expectedGrants(['viewer'], [a], ['schedules_reader']));
    });
  });
});
