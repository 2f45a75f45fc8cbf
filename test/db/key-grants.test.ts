// The "grants" column of ApiKey is the copy of the key's grant tables (ApiKeyRole, ApiKeyTeam with the
// team's name, ApiKeyTeamRole) that the reads of keys take instead of the tables (docs/database.md).
// The database's triggers keep it, whoever writes the grants: on both databases, after the API's
// creations, updates and deletions, and after grant rows written, changed and deleted in SQL and a team
// renamed in SQL, every key's copy is its grant tables.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

const UPDATE = `mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id } } }`;
const DELETE = `mutation($input: DeleteApiKeyInput!) { deleteApiKey(input: $input) { deletedApiKeyId } }`;

type Copy = [string[], Array<[string, string]>, string[]];

describe.each(providers)('the copy of the grants on each key, on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let admin: { id: string; token: string };
  let platform: string;
  let payments: string;

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    platform = await org.team('Platform');
    payments = await org.team('Payments');
    admin = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_editor', 'schedules_editor'] });
  });
  afterAll(() => t.close());

  const sorted = <T>(items: T[]) => [...items].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

  /** Each key's copy, and its grants as the tables hold them, both in one order. */
  async function copiesAndTables(): Promise<Array<{ id: string; copy: Copy; tables: Copy }>> {
    const keys = await t.db.database.prisma.apiKey.findMany({
      select: {
        id: true,
        grants: true,
        roles: { select: { roleName: true } },
        teams: { select: { teamId: true, team: { select: { name: true } } } },
        teamRoles: { select: { roleName: true } },
      },
    });
    return keys.map((key) => {
      const [roles, teams, teamRoles] = JSON.parse(key.grants) as Copy;
      return {
        id: key.id,
        copy: [sorted(roles), sorted(teams), sorted(teamRoles)],
        tables: [
          sorted(key.roles.map((r) => r.roleName)),
          sorted(key.teams.map((team): [string, string] => [team.teamId, team.team.name])),
          sorted(key.teamRoles.map((r) => r.roleName)),
        ],
      };
    });
  }

  async function expectEveryCopyRight(): Promise<void> {
    for (const { id, copy, tables } of await copiesAndTables()) expect(copy, id).toEqual(tables);
  }

  async function copyOf(id: string): Promise<Copy> {
    const key = await t.db.database.prisma.apiKey.findUniqueOrThrow({ where: { id }, select: { grants: true } });
    const [roles, teams, teamRoles] = JSON.parse(key.grants) as Copy;
    return [sorted(roles), sorted(teams), sorted(teamRoles)];
  }

  it('a created key has its grants copied, and an update and a deletion through the API keep every copy', async () => {
    const key = await org.key({ roles: ['viewer'], teams: [platform], teamRoles: ['schedules_editor'] });
    expect(await copyOf(key.id)).toEqual([['viewer'], [[platform, 'Platform']], ['schedules_editor']]);

    const updated = await t.gql(admin.token, UPDATE, {
      input: {
        id: key.id,
        name: 'moved',
        roleNames: ['incident_editor', 'viewer'],
        teamIds: [payments],
        teamRoleNames: ['schedules_editor'],
      },
    });
    expect(updated.errors, JSON.stringify(updated.errors)).toBeUndefined();
    expect(await copyOf(key.id)).toEqual([
      ['incident_editor', 'viewer'],
      [[payments, 'Payments']],
      ['schedules_editor'],
    ]);

    const other = await org.key({ roles: ['viewer'], teams: [platform, payments], teamRoles: ['schedules_editor'] });
    const deleted = await t.gql(admin.token, DELETE, { input: { id: other.id } });
    expect(deleted.errors, JSON.stringify(deleted.errors)).toBeUndefined();
    await expectEveryCopyRight();
  });

  it('each grant row written, changed or deleted in SQL, and a team renamed, makes the copy again', async () => {
    const key = await org.key({ roles: ['viewer'] });
    const second = await org.key({ roles: ['viewer'] });
    const { prisma } = t.db.database;
    const steps: Array<[string, () => Promise<unknown>, Copy]> = [
      [
        'account role added',
        () => prisma.apiKeyRole.create({ data: { apiKeyId: key.id, roleName: 'incident_editor' } }),
        [['incident_editor', 'viewer'], [], []],
      ],
      [
        'team added',
        () => prisma.apiKeyTeam.create({ data: { apiKeyId: key.id, teamId: payments } }),
        [['incident_editor', 'viewer'], [[payments, 'Payments']], []],
      ],
      [
        'team role added',
        () => prisma.apiKeyTeamRole.create({ data: { apiKeyId: key.id, roleName: 'schedules_editor' } }),
        [['incident_editor', 'viewer'], [[payments, 'Payments']], ['schedules_editor']],
      ],
      [
        'account role changed',
        () =>
          prisma.apiKeyRole.updateMany({
            where: { apiKeyId: key.id, roleName: 'viewer' },
            data: { roleName: 'on_call_editor' },
          }),
        [['incident_editor', 'on_call_editor'], [[payments, 'Payments']], ['schedules_editor']],
      ],
      [
        'team changed',
        () => prisma.apiKeyTeam.updateMany({ where: { apiKeyId: key.id }, data: { teamId: platform } }),
        [['incident_editor', 'on_call_editor'], [[platform, 'Platform']], ['schedules_editor']],
      ],
      [
        'team role changed',
        () => prisma.apiKeyTeamRole.updateMany({ where: { apiKeyId: key.id }, data: { roleName: 'viewer' } }),
        [['incident_editor', 'on_call_editor'], [[platform, 'Platform']], ['viewer']],
      ],
      [
        'team renamed',
        () => prisma.team.update({ where: { id: platform }, data: { name: 'Platform team' } }),
        [['incident_editor', 'on_call_editor'], [[platform, 'Platform team']], ['viewer']],
      ],
      [
        'team role deleted',
        () => prisma.apiKeyTeamRole.deleteMany({ where: { apiKeyId: key.id } }),
        [['incident_editor', 'on_call_editor'], [[platform, 'Platform team']], []],
      ],
      [
        'team deleted',
        () => prisma.apiKeyTeam.deleteMany({ where: { apiKeyId: key.id } }),
        [['incident_editor', 'on_call_editor'], [], []],
      ],
      [
        'account role deleted',
        () => prisma.apiKeyRole.deleteMany({ where: { apiKeyId: key.id, roleName: 'on_call_editor' } }),
        [['incident_editor'], [], []],
      ],
    ];
    for (const [step, write, copy] of steps) {
      await write();
      expect(await copyOf(key.id), step).toEqual(copy);
    }
    // A grant moved to another key: the copies of both made again.
    await prisma.apiKeyRole.updateMany({ where: { apiKeyId: key.id }, data: { apiKeyId: second.id } });
    expect(await copyOf(key.id)).toEqual([[], [], []]);
    expect(await copyOf(second.id)).toEqual([['incident_editor', 'viewer'], [], []]);
    await expectEveryCopyRight();
  });
});
