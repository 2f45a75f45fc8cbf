// docs/rules.md "Role catalogue": the expected table is the hand-written one of test/helpers/catalogue.ts,
// so any drift between the seeded defaults and the rules fails this file.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLES, MANAGER_ROLE, RoleCatalogue } from '../../src/domain/roles.ts';
import { CATALOGUE_SCOPES, TEAM_ASSIGNABLE_ROLES } from '../helpers/catalogue.ts';

const EXPECTED_SCOPES = CATALOGUE_SCOPES;
const EXPECTED_TEAM_ROLES = TEAM_ASSIGNABLE_ROLES;

const EXPECTED_NAMES = Object.keys(EXPECTED_SCOPES);
const byName = new Map(DEFAULT_ROLES.map((role) => [role.name, role]));

describe('Role catalogue (default): names and scopes', () => {
  it('has exactly the roles of docs/rules.md, each once', () => {
    const names = DEFAULT_ROLES.map((role) => role.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...EXPECTED_NAMES].sort());
  });

  it.each(EXPECTED_NAMES)('%s has exactly the scopes of docs/rules.md', (name) => {
    const role = byName.get(name);
    expect(role, `role ${name} is missing`).toBeDefined();
    expect(new Set(role?.scopes).size).toBe(role?.scopes.length);
    expect([...(role?.scopes ?? [])].sort()).toEqual([...(EXPECTED_SCOPES[name] ?? [])].sort());
  });

  it.each(EXPECTED_NAMES)('%s has a human description', (name) => {
    expect(byName.get(name)?.description.trim()).not.toBe('');
  });
});

describe('Role catalogue (default): levels at which roles may be granted', () => {
  it.each(EXPECTED_NAMES)('%s is assignable at account level', (name) => {
    expect(byName.get(name)?.accountLevel).toBe(true);
  });

  it.each(EXPECTED_NAMES.map((name) => ({ name, teamLevel: EXPECTED_TEAM_ROLES.includes(name) })))(
    '$name is team-assignable: $teamLevel',
    ({ name, teamLevel }) => {
      expect(byName.get(name)?.teamLevel).toBe(teamLevel);
    },
  );
});

describe('Role catalogue (default): api_keys_manage is never assignable through the API', () => {
  it('api_keys_manage is the manager role', () => {
    expect(MANAGER_ROLE).toBe('api_keys_manage');
  });

  it.each(EXPECTED_NAMES.map((name) => ({ name, grantableViaApi: name !== 'api_keys_manage' })))(
    '$name grantable via the API: $grantableViaApi',
    ({ name, grantableViaApi }) => {
      expect(byName.get(name)?.grantableViaApi).toBe(grantableViaApi);
    },
  );
});

describe('Role catalogue is data: lookups and scope unions', () => {
  const catalogue = new RoleCatalogue(DEFAULT_ROLES);

  it('finds roles by name and answers undefined for unknown names', () => {
    expect(catalogue.get('viewer')?.scopes).toEqual(expect.arrayContaining([...(EXPECTED_SCOPES.viewer ?? [])]));
    expect(catalogue.get('no_such_role')).toBeUndefined();
    expect(catalogue.get('Viewer')).toBeUndefined();
  });

  it.each([
    { roles: [], scopes: [] },
    { roles: ['viewer'], scopes: ['incidents.view', 'organisation_settings.view'] },
    {
      roles: ['viewer', 'incident_creator'],
      scopes: ['incidents.view', 'organisation_settings.view', 'incidents.create'],
    },
    { roles: ['catalog_viewer', 'catalog_editor'], scopes: ['catalog.view', 'catalog.edit'] },
    { roles: ['schedules_reader', 'no_such_role'], scopes: ['schedules.view'] },
  ])('scopes of $roles are the union of their scopes', ({ roles, scopes }) => {
    expect([...catalogue.scopesOf(roles)].sort()).toEqual([...scopes].sort());
  });

  it('a role added as data is usable without code changes', () => {
    const extended = new RoleCatalogue([
      ...DEFAULT_ROLES,
      {
        name: 'runbook_editor',
        description: 'Edit runbooks.',
        scopes: ['runbooks.view', 'runbooks.edit'],
        accountLevel: true,
        teamLevel: true,
        grantableViaApi: true,
      },
    ]);
    expect(extended.get('runbook_editor')?.teamLevel).toBe(true);
    expect([...extended.scopesOf(['runbook_editor', 'viewer'])].sort()).toEqual(
      ['incidents.view', 'organisation_settings.view', 'runbooks.edit', 'runbooks.view'].sort(),
    );
  });
});
