// docs/rules.md "Managers", "Visibility" and "Covering", plus the places where grants hand out roles only
// the administration CLI may grant. Pure functions of grants: no database.
import { describe, expect, it } from 'vitest';
import { Access, adminOnlyPlaces, type Grants } from '../../src/domain/access.ts';
import { DEFAULT_ROLES, RoleCatalogue, type RoleDefinition } from '../../src/domain/roles.ts';
import { grants, TEAM_A, TEAM_B, TEAM_C } from './support.ts';

const catalogue = new RoleCatalogue(DEFAULT_ROLES);
const access = (g: Partial<Grants>) => new Access(catalogue, grants(g));

const ACCOUNT_MANAGER = grants({ roleNames: ['api_keys_manage'] });
const TEAM_MANAGER_AB = grants({ teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['api_keys_manage'] });

describe('Managers: account manager, team manager, or neither', () => {
  it.each([
    {
      name: 'api_keys_manage at account level is an account manager',
      caller: { roleNames: ['api_keys_manage'] },
      account: true,
      team: false,
      managed: [],
    },
    {
      name: 'api_keys_manage at account level beside other roles is an account manager',
      caller: { roleNames: ['viewer', 'api_keys_manage', 'schedules_editor'] },
      account: true,
      team: false,
      managed: [],
    },
    {
      name: 'api_keys_manage at both levels is an account manager, not a team manager',
      caller: { roleNames: ['api_keys_manage'], teamIds: [TEAM_A], teamRoleNames: ['api_keys_manage'] },
      account: true,
      team: false,
      managed: [],
    },
    {
      name: 'api_keys_manage as a team role is a team manager of its teams',
      caller: { teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['api_keys_manage'] },
      account: false,
      team: true,
      managed: [TEAM_A, TEAM_B],
    },
    {
      name: 'a team manager may also hold other account roles and team roles',
      caller: { roleNames: ['viewer'], teamIds: [TEAM_C], teamRoleNames: ['schedules_editor', 'api_keys_manage'] },
      account: false,
      team: true,
      managed: [TEAM_C],
    },
    {
      name: 'other account roles make no manager',
      caller: { roleNames: DEFAULT_ROLES.map((r) => r.name).filter((n) => n !== 'api_keys_manage') },
      account: false,
      team: false,
      managed: [],
    },
    {
      name: 'other team roles make no manager',
      caller: { teamIds: [TEAM_A], teamRoleNames: ['schedules_editor', 'on_call_editor'] },
      account: false,
      team: false,
      managed: [],
    },
    { name: 'a key with no grants is no manager', caller: {}, account: false, team: false, managed: [] },
    {
      // A team role applies only in the key's teams (docs/rules.md "Words"); with no teams it applies nowhere.
      // Unreachable through input validation (teams and team roles come together); the stricter reading.
      name: 'api_keys_manage as a team role with no teams manages nothing',
      caller: { teamRoleNames: ['api_keys_manage'] },
      account: false,
      team: false,
      managed: [],
    },
  ])('$name', ({ caller, account, team, managed }) => {
    const a = access(caller);
    expect(a.isAccountManager).toBe(account);
    expect(a.isTeamManager).toBe(team);
    expect(a.isManager).toBe(account || team);
    expect([...a.managedTeamIds].sort()).toEqual([...managed].sort());
  });
});

describe('Visibility: an account manager sees every key of its organization', () => {
  it.each([
    { name: 'a key with no grants', target: {} },
    { name: 'a key with account roles', target: { roleNames: ['viewer', 'global_access'] } },
    { name: 'another account manager', target: { roleNames: ['api_keys_manage'] } },
    { name: 'a key of any teams', target: { teamIds: [TEAM_C], teamRoleNames: ['schedules_reader'] } },
    { name: 'itself', target: ACCOUNT_MANAGER },
  ])('sees $name', ({ target }) => {
    expect(new Access(catalogue, ACCOUNT_MANAGER).canSee(grants(target))).toBe(true);
  });
});

describe('Visibility: a team manager sees only keys that belong to its teams', () => {
  const manager = new Access(catalogue, TEAM_MANAGER_AB);

  it.each([
    {
      name: 'no account roles, teams ⊆ managed teams (one of them)',
      target: { teamIds: [TEAM_A], teamRoleNames: ['schedules_reader'] },
      visible: true,
    },
    {
      name: 'no account roles, teams = all managed teams',
      target: { teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['schedules_editor', 'on_call_editor'] },
      visible: true,
    },
    {
      name: 'another team manager of its teams',
      target: { teamIds: [TEAM_B], teamRoleNames: ['api_keys_manage'] },
      visible: true,
    },
    { name: 'itself', target: TEAM_MANAGER_AB, visible: true },
    { name: 'empty teamIds and no roles at all', target: {}, visible: false },
    {
      name: 'empty teamIds with account roles',
      target: { roleNames: ['viewer'] },
      visible: false,
    },
    {
      name: 'account roles present, teams ⊆ managed teams',
      target: { roleNames: ['viewer'], teamIds: [TEAM_A], teamRoleNames: ['schedules_reader'] },
      visible: false,
    },
    {
      name: 'account-level schedules_reader (a team-assignable role) present',
      target: { roleNames: ['schedules_reader'], teamIds: [TEAM_A], teamRoleNames: ['schedules_reader'] },
      visible: false,
    },
    {
      name: 'an account manager',
      target: { roleNames: ['api_keys_manage'], teamIds: [TEAM_A], teamRoleNames: ['api_keys_manage'] },
      visible: false,
    },
    {
      name: 'teamIds not a subset (one managed, one not)',
      target: { teamIds: [TEAM_A, TEAM_C], teamRoleNames: ['schedules_reader'] },
      visible: false,
    },
    {
      name: 'teamIds not a subset (none managed)',
      target: { teamIds: [TEAM_C], teamRoleNames: ['schedules_reader'] },
      visible: false,
    },
  ])('$name → visible: $visible', ({ target, visible }) => {
    expect(manager.canSee(grants(target))).toBe(visible);
  });

  it('its own account roles do not widen what it sees', () => {
    const withRoles = access({ ...TEAM_MANAGER_AB, roleNames: ['viewer', 'global_access'] });
    expect(withRoles.isTeamManager).toBe(true);
    expect(withRoles.canSee(grants({ roleNames: ['viewer'] }))).toBe(false);
    expect(withRoles.canSee(grants({ teamIds: [TEAM_C], teamRoleNames: ['schedules_reader'] }))).toBe(false);
    expect(withRoles.canSee(grants({ teamIds: [TEAM_A], teamRoleNames: ['schedules_reader'] }))).toBe(true);
  });
});

describe('Visibility: a caller that is no manager sees no key', () => {
  it.each([
    { name: 'a key with no grants', caller: {} },
    { name: 'a viewer', caller: { roleNames: ['viewer'] } },
    { name: 'a team schedules_editor of Team A', caller: { teamIds: [TEAM_A], teamRoleNames: ['schedules_editor'] } },
  ])('$name sees nothing, not even keys of its own teams or itself', ({ caller }) => {
    const a = access(caller);
    expect(a.canSee(grants(caller))).toBe(false);
    expect(a.canSee(grants({}))).toBe(false);
    expect(a.canSee(grants({ teamIds: [TEAM_A], teamRoleNames: ['schedules_reader'] }))).toBe(false);
    expect(a.canSee(grants({ roleNames: ['viewer'] }))).toBe(false);
  });
});

type CoverCase = {
  name: string;
  caller: Partial<Grants>;
  given: Partial<Grants>;
  uncovered: { roleName: string; teamId?: string } | null;
};

const coverTable = (cases: CoverCase[]) =>
  it.each(cases)('$name', ({ caller, given, uncovered }) => {
    const a = access(caller);
    expect(a.firstUncovered(grants(given))).toEqual(uncovered);
    expect(a.covers(grants(given))).toBe(uncovered === null);
  });

describe('Covering: examples of docs/rules.md', () => {
  const viewerCreator = { roleNames: ['viewer', 'incident_creator'] };
  const accountSchedules = { roleNames: ['schedules_editor'] };
  const teamASchedules = { teamIds: [TEAM_A], teamRoleNames: ['schedules_editor'] };

  coverTable([
    {
      name: 'viewer + incident_creator may give viewer',
      caller: viewerCreator,
      given: { roleNames: ['viewer'] },
      uncovered: null,
    },
    {
      name: 'viewer + incident_creator may give incident_creator',
      caller: viewerCreator,
      given: { roleNames: ['incident_creator'] },
      uncovered: null,
    },
    {
      name: 'viewer + incident_creator may give viewer and incident_creator together',
      caller: viewerCreator,
      given: { roleNames: ['viewer', 'incident_creator'] },
      uncovered: null,
    },
    {
      name: 'viewer + incident_creator may not give incident_editor (more scopes)',
      caller: viewerCreator,
      given: { roleNames: ['incident_editor'] },
      uncovered: { roleName: 'incident_editor' },
    },
    {
      name: 'viewer + incident_creator may not give incident_editor beside roles it may give',
      caller: viewerCreator,
      given: { roleNames: ['viewer', 'incident_editor'] },
      uncovered: { roleName: 'incident_editor' },
    },
    {
      name: 'account-level schedules_editor may give schedules_editor for Team A',
      caller: accountSchedules,
      given: { teamIds: [TEAM_A], teamRoleNames: ['schedules_editor'] },
      uncovered: null,
    },
    {
      name: 'account-level schedules_editor may give schedules_editor for Team B',
      caller: accountSchedules,
      given: { teamIds: [TEAM_B], teamRoleNames: ['schedules_editor'] },
      uncovered: null,
    },
    {
      name: 'account-level schedules_editor may give schedules_editor for several teams at once',
      caller: accountSchedules,
      given: { teamIds: [TEAM_A, TEAM_B, TEAM_C], teamRoleNames: ['schedules_editor'] },
      uncovered: null,
    },
    {
      name: 'account-level schedules_editor may give schedules_editor at account level',
      caller: accountSchedules,
      given: { roleNames: ['schedules_editor'] },
      uncovered: null,
    },
    {
      name: 'schedules_editor only for Team A may give it for Team A',
      caller: teamASchedules,
      given: { teamIds: [TEAM_A], teamRoleNames: ['schedules_editor'] },
      uncovered: null,
    },
    {
      name: 'schedules_editor only for Team A may not give it at account level',
      caller: teamASchedules,
      given: { roleNames: ['schedules_editor'] },
      uncovered: { roleName: 'schedules_editor' },
    },
    {
      name: 'schedules_editor only for Team A may not give it for Team B',
      caller: teamASchedules,
      given: { teamIds: [TEAM_B], teamRoleNames: ['schedules_editor'] },
      uncovered: { roleName: 'schedules_editor', teamId: TEAM_B },
    },
    {
      name: 'schedules_editor only for Team A may not give it for Team A and Team B',
      caller: teamASchedules,
      given: { teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['schedules_editor'] },
      uncovered: { roleName: 'schedules_editor', teamId: TEAM_B },
    },
  ]);
});

describe('Covering clause 1: each account-level role needs its scopes among the caller account scopes', () => {
  coverTable([
    { name: 'no grants are always covered, even by a key with none', caller: {}, given: {}, uncovered: null },
    {
      name: 'a key with no grants covers no account role',
      caller: {},
      given: { roleNames: ['catalog_viewer'] },
      uncovered: { roleName: 'catalog_viewer' },
    },
    {
      name: 'a role whose scopes come from several caller roles is covered (union of scopes)',
      caller: { roleNames: ['incident_editor', 'manage_settings'] },
      given: { roleNames: ['viewer'] },
      uncovered: null,
    },
    {
      name: 'a role with fewer scopes is covered',
      caller: { roleNames: ['catalog_editor'] },
      given: { roleNames: ['catalog_viewer'] },
      uncovered: null,
    },
    {
      name: 'a role with one scope too many is not covered',
      caller: { roleNames: ['catalog_viewer'] },
      given: { roleNames: ['catalog_editor'] },
      uncovered: { roleName: 'catalog_editor' },
    },
    {
      name: 'team roles of the caller do not count at account level, even in all given teams',
      caller: { teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['on_call_editor'] },
      given: { roleNames: ['on_call_editor'] },
      uncovered: { roleName: 'on_call_editor' },
    },
    {
      name: 'api_keys_manage is covered by api_keys_manage (covering is about scopes only)',
      caller: { roleNames: ['api_keys_manage'] },
      given: { roleNames: ['api_keys_manage'] },
      uncovered: null,
    },
    {
      name: 'an account manager covers no other role by being a manager',
      caller: { roleNames: ['api_keys_manage'] },
      given: { roleNames: ['viewer'] },
      uncovered: { roleName: 'viewer' },
    },
  ]);
});

describe('Covering clause 2: each team role in each given team needs its scopes among the caller scopes there', () => {
  coverTable([
    {
      name: 'a caller team role covers a smaller team role in the same team',
      caller: { teamIds: [TEAM_A], teamRoleNames: ['schedules_editor'] },
      given: { teamIds: [TEAM_A], teamRoleNames: ['schedules_reader'] },
      uncovered: null,
    },
    {
      name: 'every team role must be covered in every given team',
      caller: { teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['schedules_editor'] },
      given: { teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['schedules_reader', 'escalation_creator'] },
      uncovered: { roleName: 'escalation_creator', teamId: TEAM_A },
    },
    {
      name: 'account roles and team roles of the caller combine in its teams',
      caller: { roleNames: ['escalation_creator'], teamIds: [TEAM_A], teamRoleNames: ['on_call_editor'] },
      given: { teamIds: [TEAM_A], teamRoleNames: ['on_call_editor', 'escalation_creator'] },
      uncovered: null,
    },
    {
      name: 'outside its teams only the caller account scopes count',
      caller: { roleNames: ['escalation_creator'], teamIds: [TEAM_A], teamRoleNames: ['on_call_editor'] },
      given: { teamIds: [TEAM_C], teamRoleNames: ['escalation_creator', 'on_call_editor'] },
      uncovered: { roleName: 'on_call_editor', teamId: TEAM_C },
    },
    {
      name: 'a team manager covers api_keys_manage in its teams by scopes',
      caller: TEAM_MANAGER_AB,
      given: { teamIds: [TEAM_B], teamRoleNames: ['api_keys_manage'] },
      uncovered: null,
    },
    {
      name: 'a team manager does not cover roles it lacks in its teams',
      caller: TEAM_MANAGER_AB,
      given: { teamIds: [TEAM_A], teamRoleNames: ['schedules_reader'] },
      uncovered: { roleName: 'schedules_reader', teamId: TEAM_A },
    },
  ]);

  it('scopes from an account role and a team role combine for one role of a custom catalogue', () => {
    const role = (name: string, scopes: string[]): RoleDefinition => ({
      name,
      description: name,
      scopes,
      accountLevel: true,
      teamLevel: true,
      grantableViaApi: true,
    });
    const custom = new RoleCatalogue([role('x', ['s.x']), role('y', ['s.y']), role('xy', ['s.x', 's.y'])]);
    const caller = new Access(custom, grants({ roleNames: ['x'], teamIds: [TEAM_A], teamRoleNames: ['y'] }));
    expect(caller.covers(grants({ teamIds: [TEAM_A], teamRoleNames: ['xy'] }))).toBe(true);
    expect(caller.firstUncovered(grants({ teamIds: [TEAM_B], teamRoleNames: ['xy'] }))).toEqual({
      roleName: 'xy',
      teamId: TEAM_B,
    });
    expect(caller.firstUncovered(grants({ roleNames: ['xy'] }))).toEqual({ roleName: 'xy' });
    expect(caller.scopesInTeam(TEAM_A)).toEqual(new Set(['s.x', 's.y']));
    expect(caller.scopesInTeam(TEAM_B)).toEqual(new Set(['s.x']));
  });
});

describe('api_keys_manage (grantableViaApi = false) is only granted from the administration CLI: where grants hand it out', () => {
  it.each([
    { name: 'no grants', given: {}, places: [] },
    {
      name: 'roles the API may grant',
      given: { roleNames: ['viewer', 'schedules_editor'], teamIds: [TEAM_A], teamRoleNames: ['on_call_editor'] },
      places: [],
    },
    { name: 'api_keys_manage at account level', given: { roleNames: ['api_keys_manage'] }, places: ['account'] },
    {
      name: 'api_keys_manage as a team role, once per team',
      given: { teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['schedules_reader', 'api_keys_manage'] },
      places: [`team:${TEAM_A}`, `team:${TEAM_B}`],
    },
    {
      name: 'api_keys_manage at both levels',
      given: { roleNames: ['api_keys_manage', 'viewer'], teamIds: [TEAM_C], teamRoleNames: ['api_keys_manage'] },
      places: ['account', `team:${TEAM_C}`],
    },
  ])('$name', ({ given, places }) => {
    expect([...adminOnlyPlaces(catalogue, grants(given))].sort()).toEqual(
      places.map((place) => `api_keys_manage@${place}`).sort(),
    );
  });

  it('follows the catalogue data, not the role name', () => {
    const custom = new RoleCatalogue([
      ...DEFAULT_ROLES,
      {
        name: 'billing_admin',
        description: 'Billing.',
        scopes: ['billing.edit'],
        accountLevel: true,
        teamLevel: true,
        grantableViaApi: false,
      },
    ]);
    const given = grants({ roleNames: ['billing_admin'], teamIds: [TEAM_A], teamRoleNames: ['billing_admin'] });
    expect([...adminOnlyPlaces(custom, given)].sort()).toEqual(
      ['billing_admin@account', `billing_admin@team:${TEAM_A}`].sort(),
    );
    expect(adminOnlyPlaces(catalogue, given).size).toBe(0);
  });
});
