// docs/rules.md "The operations" (update): visible target, not the caller itself, visible result, covered
// resulting grants, no new api_keys_manage; PUT semantics; the token never changes; check order and
// input rules. Through GraphQL over app.fetch.
import { ulid } from 'ulidx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type KeyGrants, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import {
  API_KEY_FIELDS,
  type ApiKeyView,
  CURRENT_KEY,
  expectedGrants,
  SHOW_KEY,
  shownGrants,
} from '../helpers/documents.ts';

const UPDATE = `mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { ${API_KEY_FIELDS} } } }`;

interface UpdateInput {
  id: string;
  name: string;
  roleNames: string[];
  teamIds: string[];
  teamRoleNames: string[];
}
type Key = { id: string; token: string };

/** An update input for `id` with the given name and grants (all fields present, as PUT requires). */
const put = (id: string, name: string, g: KeyGrants = {}): UpdateInput => ({
  id,
  name,
  roleNames: g.roles ?? [],
  teamIds: g.teams ?? [],
  teamRoleNames: g.teamRoles ?? [],
});

describe.each(providers)('update on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  const update = (token: string, input: Partial<UpdateInput>) =>
    t.gql<{ updateApiKey: { apiKey: ApiKeyView } }>(token, UPDATE, { input });

  async function show(adminToken: string, id: string): Promise<ApiKeyView | undefined> {
    const response = await t.gql<{ apiKey: ApiKeyView }>(adminToken, SHOW_KEY, { id });
    expect(response.errors).toBeUndefined();
    return response.data?.apiKey;
  }

  async function expectUpdated(token: string, input: UpdateInput): Promise<ApiKeyView> {
    const response = await update(token, input);
    expect(response.errors, JSON.stringify(input)).toBeUndefined();
    const apiKey = response.data?.updateApiKey.apiKey;
    if (!apiKey) throw new Error('no apiKey');
    expect(apiKey.name).toBe(input.name.trim());
    expect(shownGrants(apiKey)).toEqual(expectedGrants(input.roleNames, input.teamIds, input.teamRoleNames));
    return apiKey;
  }

  /** Asserts the update failed with `code` and that the target, as `adminToken` sees it, did not change. */
  async function expectRefused(
    adminToken: string,
    token: string,
    input: Partial<UpdateInput> & { id: string },
    code: string,
  ): Promise<string> {
    const before = await show(adminToken, input.id);
    const response = await update(token, input);
    expect(response.code, JSON.stringify(input)).toBe(code);
    expect(response.data).toBeNull();
    expect(await show(adminToken, input.id)).toEqual(before);
    return response.errors?.[0]?.message ?? '';
  }

  /** An organization with teams A, B, C and an account manager holding every role at account level. */
  async function setup() {
    const org = await t.org();
    const [a, b, c] = [await org.team('A'), await org.team('B'), await org.team('C')];
    const admin = await org.key({
      roles: ['api_keys_manage', 'viewer', 'incident_editor', 'schedules_editor', 'on_call_editor'],
    });
    return { org, a, b, c, admin };
  }

  describe('update: PUT semantics, name and every grant are replaced', () => {
    it('replaces name, account roles, teams and team roles with exactly the given ones', async () => {
      const { org, a, b, admin } = await setup();
      const target = await org.key({
        roles: ['viewer', 'incident_editor'],
        teams: [a],
        teamRoles: ['schedules_editor'],
      });
      const input = put(target.id, 'renamed', { roles: ['viewer'], teams: [b], teamRoles: ['on_call_editor'] });
      const updated = await expectUpdated(admin.token, input);
      expect(updated.teams).toEqual([{ id: b, name: 'B' }]);
      expect(shownGrants(await show(admin.token, target.id))).toEqual(
        expectedGrants(['viewer'], [b], ['on_call_editor']),
      );
    });

    it('grants left out of the input are removed', async () => {
      const { org, a, admin } = await setup();
      const target = await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_editor'] });
      await expectUpdated(admin.token, put(target.id, 'bare'));
      expect(await show(admin.token, target.id)).toMatchObject({
        name: 'bare',
        roles: [],
        teamIds: [],
        teams: [],
        teamRoles: [],
      });
      const other = await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_editor'] });
      await expectUpdated(admin.token, put(other.id, 'teams only', { teams: [a], teamRoles: ['schedules_editor'] }));
    });

    it('every field of the input is required: leaving one out is BAD_USER_INPUT and changes nothing', async () => {
      const { org, a, admin } = await setup();
      const target = await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_editor'] });
      const full = put(target.id, 'renamed', { roles: ['viewer'] });
      for (const field of ['name', 'roleNames', 'teamIds', 'teamRoleNames'] as const) {
        const { [field]: _left, ...partial } = full;
        await expectRefused(admin.token, admin.token, partial, 'BAD_USER_INPUT');
      }
    });

    it('leaves createdAt, creator and tokenLastIssuedAt as they were', async () => {
      const { org, admin } = await setup();
      const target = await org.key({ roles: ['viewer'] });
      const before = await show(admin.token, target.id);
      t.clock.advance(3_600_000);
      const updated = await expectUpdated(admin.token, put(target.id, 'later', { roles: ['incident_editor'] }));
      expect(updated.createdAt).toBe(before?.createdAt);
      expect(updated.tokenLastIssuedAt).toBe(before?.tokenLastIssuedAt);
      expect(updated.creator).toEqual(before?.creator);
    });
  });

  describe('update: editing grants never changes the token', () => {
    it('the old token still authenticates and currentApiKey shows the new name and grants', async () => {
      const { org, a, b, admin } = await setup();
      const target = await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_editor'] }, 'before');
      // Authenticate once first, so that any cache of the caller's grants is warm.
      expect((await t.gql(target.token, CURRENT_KEY)).errors).toBeUndefined();
      await expectUpdated(
        admin.token,
        put(target.id, 'after', { roles: ['incident_editor'], teams: [b], teamRoles: ['on_call_editor'] }),
      );
      const current = await t.gql<{ currentApiKey: ApiKeyView }>(target.token, CURRENT_KEY);
      expect(current.errors).toBeUndefined();
      expect(current.data?.currentApiKey.id).toBe(target.id);
      expect(current.data?.currentApiKey.name).toBe('after');
      expect(shownGrants(current.data?.currentApiKey)).toEqual(
        expectedGrants(['incident_editor'], [b], ['on_call_editor']),
      );
    });

    it('a manager whose grants were edited acts with its new grants at once', async () => {
      const { org, a, b, admin } = await setup();
      const teamManager = await org.key({ teams: [a, b], teamRoles: ['api_keys_manage'] });
      const inB = await org.key({ teams: [b], teamRoles: ['schedules_reader'] });
      expect((await t.gql(teamManager.token, SHOW_KEY, { id: inB.id })).errors).toBeUndefined();
      // Keeping api_keys_manage where it already was (team A) and dropping team B.
      await expectUpdated(admin.token, put(teamManager.id, 'A only', { teams: [a], teamRoles: ['api_keys_manage'] }));
      expect((await t.gql(teamManager.token, SHOW_KEY, { id: inB.id })).code).toBe('NOT_FOUND');
    });
  });

  describe('update: the target must be visible (NOT_FOUND), and not the caller itself (FORBIDDEN)', () => {
    it('NOT_FOUND for a missing key and another organization’s key, with the same message shape', async () => {
      const { admin } = await setup();
      const other = await setup();
      const foreign = await other.org.key({ roles: ['viewer'] });
      for (const id of [ulid(), foreign.id]) {
        const response = await update(admin.token, put(id, 'x', { roles: ['viewer'] }));
        expect(response.code).toBe('NOT_FOUND');
        expect(response.errors?.[0]?.message).toBe(`API key "${id}" was not found.`);
      }
      expect((await show(other.admin.token, foreign.id))?.name).not.toBe('x');
    });

    it('NOT_FOUND for a key outside a team manager’s teams, whatever the input', async () => {
      const { org, a, b, c, admin } = await setup();
      const manager = await org.key({ teams: [a, b], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      const invisible = [
        await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_reader'] }),
        await org.key({ teams: [a, c], teamRoles: ['schedules_reader'] }),
        await org.key({}),
      ];
      for (const target of invisible) {
        const message = await expectRefused(
          admin.token,
          manager.token,
          put(target.id, 'x', { teams: [a], teamRoles: ['schedules_reader'] }),
          'NOT_FOUND',
        );
        expect(message).toBe(`API key "${target.id}" was not found.`);
      }
    });

    it('a key may not update itself, even to the very same grants', async () => {
      const { org, a } = await setup();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'self');
      const other = await org.key({ roles: ['api_keys_manage'] });
      const same = await expectRefused(
        other.token,
        admin.token,
        put(admin.id, 'self', { roles: ['api_keys_manage', 'viewer'] }),
        'FORBIDDEN',
      );
      expect(same).toMatch(/itself/);
      await expectRefused(other.token, admin.token, put(admin.id, 'renamed', { roles: ['viewer'] }), 'FORBIDDEN');
      const teamManager = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      await expectRefused(
        other.token,
        teamManager.token,
        put(teamManager.id, 'renamed', { teams: [a], teamRoles: ['api_keys_manage'] }),
        'FORBIDDEN',
      );
    });
  });

  describe('update: the result must be visible to the caller', () => {
    let org: Org;
    let a: string;
    let b: string;
    let c: string;
    let admin: Key;
    let manager: Key;

    beforeAll(async () => {
      ({ org, a, b, c, admin } = await setup());
      manager = await org.key({ roles: ['viewer'], teams: [a, b], teamRoles: ['api_keys_manage', 'schedules_editor'] });
    });

    it('a team manager may move a key between its teams, or spread it over all of them', async () => {
      const target = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      await expectUpdated(manager.token, put(target.id, 'to B', { teams: [b], teamRoles: ['schedules_editor'] }));
      await expectUpdated(manager.token, put(target.id, 'A and B', { teams: [a, b], teamRoles: ['schedules_reader'] }));
    });

    it('FORBIDDEN: adding an account-level role, even one the caller holds', async () => {
      const target = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      const message = await expectRefused(
        admin.token,
        manager.token,
        put(target.id, 'x', { roles: ['viewer'], teams: [a], teamRoles: ['schedules_reader'] }),
        'FORBIDDEN',
      );
      expect(message).toMatch(/visible/);
    });

    it('FORBIDDEN: moving the key into a team the caller does not manage', async () => {
      const target = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      for (const teams of [[c], [a, c]]) {
        await expectRefused(
          admin.token,
          manager.token,
          put(target.id, 'x', { teams, teamRoles: ['schedules_reader'] }),
          'FORBIDDEN',
        );
      }
    });

    it('FORBIDDEN: removing every team (the key would belong to no team)', async () => {
      const target = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      await expectRefused(admin.token, manager.token, put(target.id, 'x'), 'FORBIDDEN');
    });
  });

  describe('update: the caller must cover the resulting grants', () => {
    it('FORBIDDEN to give roles with scopes the caller lacks; allowed once the result is covered', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'incident_editor'] });
      const caller = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] });
      const target = await org.key({ roles: ['viewer'] });
      const message = await expectRefused(
        admin.token,
        caller.token,
        put(target.id, 'x', { roles: ['incident_editor'] }),
        'FORBIDDEN',
      );
      expect(message).toContain('incident_editor');
      await expectUpdated(caller.token, put(target.id, 'covered', { roles: ['viewer', 'incident_creator'] }));
    });

    it('grants the target already had count too: the caller must cover the whole result, not only the change', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'incident_editor', 'viewer'] });
      const caller = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const target = await org.key({ roles: ['incident_editor'] }, 'editor');
      // A rename that keeps incident_editor hands out incident_editor again: not covered.
      await expectRefused(
        admin.token,
        caller.token,
        put(target.id, 'renamed', { roles: ['incident_editor'] }),
        'FORBIDDEN',
      );
      // Replacing it with what the caller covers is allowed (it removes power).
      await expectUpdated(caller.token, put(target.id, 'reduced', { roles: ['viewer'] }));
    });

    it('schedules_editor held only for Team A covers it for Team A, not for Team B nor at account level', async () => {
      const org = await t.org();
      const [a, b] = [await org.team(), await org.team()];
      const admin = await org.key({ roles: ['api_keys_manage', 'schedules_editor'] });
      const caller = await org.key({ roles: ['api_keys_manage'], teams: [a], teamRoles: ['schedules_editor'] });
      const target = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      await expectUpdated(caller.token, put(target.id, 'A', { teams: [a], teamRoles: ['schedules_editor'] }));
      await expectRefused(
        admin.token,
        caller.token,
        put(target.id, 'AB', { teams: [a, b], teamRoles: ['schedules_editor'] }),
        'FORBIDDEN',
      );
      await expectRefused(
        admin.token,
        caller.token,
        put(target.id, 'acct', { roles: ['schedules_editor'] }),
        'FORBIDDEN',
      );
    });

    it('a team manager must hold the team roles it gives', async () => {
      const org = await t.org();
      const a = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage', 'on_call_editor'] });
      const manager = await org.key({ teams: [a], teamRoles: ['api_keys_manage', 'schedules_reader'] });
      const target = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      const message = await expectRefused(
        admin.token,
        manager.token,
        put(target.id, 'x', { teams: [a], teamRoles: ['on_call_editor'] }),
        'FORBIDDEN',
      );
      expect(message).toContain('on_call_editor');
    });
  });

  describe('update: api_keys_manage may be kept where the target had it, never added anywhere new', () => {
    it('an account manager may rename a key that holds api_keys_manage at account level, keeping it', async () => {
      const { org, admin } = await setup();
      const target = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      await expectUpdated(admin.token, put(target.id, 'still a manager', { roles: ['api_keys_manage', 'viewer'] }));
      await expectUpdated(admin.token, put(target.id, 'fewer roles', { roles: ['api_keys_manage'] }));
    });

    it('FORBIDDEN to add api_keys_manage at account level, naming the administration CLI', async () => {
      const { org, a, admin } = await setup();
      for (const target of [
        await org.key({ roles: ['viewer'] }),
        await org.key({ teams: [a], teamRoles: ['api_keys_manage'] }),
      ]) {
        const message = await expectRefused(
          admin.token,
          admin.token,
          put(target.id, 'x', { roles: ['api_keys_manage', 'viewer'] }),
          'FORBIDDEN',
        );
        expect(message).toContain('api_keys_manage');
        expect(message).toMatch(/administration CLI/);
      }
    });

    it('removing api_keys_manage is allowed; giving it back afterwards is not', async () => {
      const { org, admin } = await setup();
      const target = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      await expectUpdated(admin.token, put(target.id, 'demoted', { roles: ['viewer'] }));
      await expectRefused(
        admin.token,
        admin.token,
        put(target.id, 'x', { roles: ['api_keys_manage', 'viewer'] }),
        'FORBIDDEN',
      );
    });

    it('a team manager may keep a team api_keys_manage the target had in the same team', async () => {
      const { org, a, b } = await setup();
      const manager = await org.key({ teams: [a, b], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      const target = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      await expectUpdated(
        manager.token,
        put(target.id, 'renamed', { teams: [a], teamRoles: ['api_keys_manage', 'schedules_reader'] }),
      );
    });

    it('FORBIDDEN to extend a team api_keys_manage to a new team, even for a caller that manages both', async () => {
      const { org, a, b, admin } = await setup();
      const teamManager = await org.key({ teams: [a, b], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      const target = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      for (const caller of [teamManager, admin]) {
        const message = await expectRefused(
          admin.token,
          caller.token,
          put(target.id, 'x', { teams: [a, b], teamRoles: ['api_keys_manage'] }),
          'FORBIDDEN',
        );
        expect(message).toContain('api_keys_manage');
        expect(message).toContain(b);
        expect(message).toMatch(/administration CLI/);
      }
      // Moving it to another team is adding it there too.
      await expectRefused(
        admin.token,
        teamManager.token,
        put(target.id, 'x', { teams: [b], teamRoles: ['api_keys_manage'] }),
        'FORBIDDEN',
      );
    });

    it('FORBIDDEN to add a team api_keys_manage to a key that did not have it, or to move it to account level', async () => {
      const { org, a, admin } = await setup();
      const plain = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      await expectRefused(
        admin.token,
        admin.token,
        put(plain.id, 'x', { teams: [a], teamRoles: ['schedules_reader', 'api_keys_manage'] }),
        'FORBIDDEN',
      );
      const teamLevel = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      await expectRefused(
        admin.token,
        admin.token,
        put(teamLevel.id, 'x', { roles: ['api_keys_manage'] }),
        'FORBIDDEN',
      );
    });
  });

  describe('update: checks run in order: input, manager, visibility (NOT_FOUND), permission (FORBIDDEN)', () => {
    let org: Org;
    let a: string;
    let c: string;
    let admin: Key;
    let manager: Key;
    let invisible: Key;

    beforeAll(async () => {
      ({ org, a, c, admin } = await setup());
      manager = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      invisible = await org.key({ teams: [c], teamRoles: ['schedules_reader'] });
    });

    it('an invisible or missing target is NOT_FOUND even when the update would also be forbidden', async () => {
      for (const id of [invisible.id, ulid()]) {
        const forbiddenTwice = put(id, 'x', { roles: ['incident_editor', 'api_keys_manage'] });
        const response = await update(manager.token, forbiddenTwice);
        expect(response.code).toBe('NOT_FOUND');
      }
      const missing = await update(admin.token, put(ulid(), 'x', { roles: ['api_keys_manage'] }));
      expect(missing.code).toBe('NOT_FOUND');
    });

    it('invalid input is BAD_USER_INPUT even for an invisible target or a non-manager', async () => {
      const plain = await org.key({ roles: ['viewer'] });
      for (const token of [manager.token, plain.token]) {
        await expectRefused(
          admin.token,
          token,
          put(invisible.id, '  ', { teams: [c], teamRoles: ['schedules_reader'] }),
          'BAD_USER_INPUT',
        );
      }
      const notAnId = await update(manager.token, put('not-an-id', 'x'));
      expect(notAnId.code).toBe('BAD_USER_INPUT');
      expect(notAnId.errors?.[0]?.message).toContain('not-an-id');
    });

    it('a non-manager gets FORBIDDEN for a key that does not exist', async () => {
      const plain = await org.key({ roles: ['viewer'] });
      expect((await update(plain.token, put(ulid(), 'x'))).code).toBe('FORBIDDEN');
    });
  });

  describe('update: input rules (BAD_USER_INPUT naming the value, nothing written)', () => {
    let org: Org;
    let a: string;
    let admin: Key;
    let foreignTeam: string;

    beforeAll(async () => {
      ({ org, a, admin } = await setup());
      foreignTeam = await (await t.org()).team();
    });

    const cases: Array<[string, (ids: { target: string; a: string; foreignTeam: string }) => UpdateInput, string]> = [
      ['an empty name', ({ target }) => put(target, '', { roles: ['viewer'] }), 'name'],
      ['a blank name', ({ target }) => put(target, ' \t ', { roles: ['viewer'] }), 'name'],
      ['a name of 201 characters', ({ target }) => put(target, 'n'.repeat(201), { roles: ['viewer'] }), '200'],
      ['an unknown account role', ({ target }) => put(target, 'x', { roles: ['viewer', 'root'] }), 'root'],
      ['an unknown team role', ({ target, a }) => put(target, 'x', { teams: [a], teamRoles: ['wizard'] }), 'wizard'],
      [
        'a role not assignable as a team role',
        ({ target, a }) => put(target, 'x', { teams: [a], teamRoles: ['incident_editor'] }),
        'incident_editor',
      ],
      ['teamIds without teamRoleNames', ({ target, a }) => put(target, 'x', { teams: [a] }), 'teamRoleNames'],
      [
        'teamRoleNames without teamIds',
        ({ target }) => put(target, 'x', { teamRoles: ['schedules_reader'] }),
        'teamIds',
      ],
      [
        "another organization's team",
        ({ target, foreignTeam }) => put(target, 'x', { teams: [foreignTeam], teamRoles: ['schedules_reader'] }),
        'FOREIGN',
      ],
      [
        'a team id that does not exist',
        ({ target, a }) =>
          put(target, 'x', { teams: [a, '01ARZ3NDEKTSV4RRFFQ69G5FAV'], teamRoles: ['schedules_reader'] }),
        '01ARZ3NDEKTSV4RRFFQ69G5FAV',
      ],
      [
        'a malformed team id',
        ({ target }) => put(target, 'x', { teams: ['team-a'], teamRoles: ['schedules_reader'] }),
        'team-a',
      ],
    ];

    // Each case has a target of its own: a wrong acceptance in one case cannot change another's target.
    it.each(cases)('%s', async (_label, makeInput, named) => {
      const target = await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_reader'] }, 'target');
      const input = makeInput({ target: target.id, a, foreignTeam });
      const message = await expectRefused(admin.token, admin.token, input, 'BAD_USER_INPUT');
      expect(message).toContain(named === 'FOREIGN' ? foreignTeam : named);
      // The target's token still authenticates with the unchanged grants.
      const current = await t.gql<{ currentApiKey: ApiKeyView }>(target.token, CURRENT_KEY);
      expect(current.data?.currentApiKey.name).toBe('target');
      expect(shownGrants(current.data?.currentApiKey)).toEqual(expectedGrants(['viewer'], [a], ['schedules_reader']));
    });

    it('trims the name and ignores duplicate grants', async () => {
      const other = await org.key({ roles: ['viewer'] });
      const updated = await expectUpdated(admin.token, {
        id: other.id,
        name: '  trimmed  ',
        roleNames: ['viewer', 'viewer', 'incident_editor'],
        teamIds: [a, a],
        teamRoleNames: ['schedules_editor', 'schedules_editor'],
      });
      expect(updated.name).toBe('trimmed');
      expect(updated.roles.map((role) => role.name).sort()).toEqual(['incident_editor', 'viewer']);
      expect(updated.teamIds).toEqual([a]);
      expect(updated.teamRoles.map((role) => role.name)).toEqual(['schedules_editor']);
    });
  });
});
