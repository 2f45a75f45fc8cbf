// The audit log (issue 4, item 5): every create, update, rotate and delete, through the API or the
// administration CLI, writes exactly one event in the transaction of the change; failed operations
// write none; auditEvents shows account managers their organization's events and team managers the
// events of keys of their teams; events never hold a token or a token hash.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/domain/api-keys.ts';
import { hashToken } from '../../src/domain/tokens.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { DELETE_BY_ID, UPDATE_NAME, WHOAMI } from '../helpers/documents.ts';
import { KEYGATE_BIN } from '../helpers/server-process.ts';

const execFileAsync = promisify(execFile);
const MINUTE = 60_000;
const MISSING_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

const EVENT_FIELDS = `
  id action createdAt
  actor { apiKey { id name } user { id email name } }
  target { id name }
  grantsBefore { roleNames teamIds teamRoleNames }
  grantsAfter { roleNames teamIds teamRoleNames }
  details { previousName gracePeriodMinutes previousTokenExpiresAt }
`;
const AUDIT = `query($first: Int, $after: String) {
  auditEvents(first: $first, after: $after) {
    edges { cursor node { ${EVENT_FIELDS} } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const CREATE = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { token apiKey { id name createdAt } }
}`;
const ROTATE = `mutation($input: RotateApiKeyInput!) {
  rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { id tokenLastIssuedAt } }
}`;
const SHOW =
  'query($id: ID!) { apiKey(id: $id) { id name roles { name } teamIds teamRoles { name } tokenLastIssuedAt } }';

interface Grants {
  roleNames: string[];
  teamIds: string[];
  teamRoleNames: string[];
}
interface AuditEventView {
  id: string;
  action: string;
  createdAt: string;
  actor: { apiKey: { id: string; name: string } | null; user: { id: string; email: string; name: string } | null };
  target: { id: string; name: string };
  grantsBefore: Grants | null;
  grantsAfter: Grants | null;
  details: {
    previousName: string | null;
    gracePeriodMinutes: number | null;
    previousTokenExpiresAt: string | null;
  } | null;
}
interface AuditPage {
  auditEvents: {
    edges: Array<{ cursor: string; node: AuditEventView }>;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
}
type Key = { id: string; token: string };

/** Expected grants; compared order-independently (see `normalized`). */
const grants = (roleNames: string[] = [], teamIds: string[] = [], teamRoleNames: string[] = []): Grants => ({
  roleNames: [...roleNames].sort(),
  teamIds: [...teamIds].sort(),
  teamRoleNames: [...teamRoleNames].sort(),
});
const normalized = (g: Grants | null) => g && grants(g.roleNames, g.teamIds, g.teamRoleNames);
const normalize = (event: AuditEventView) => ({
  ...event,
  grantsBefore: normalized(event.grantsBefore),
  grantsAfter: normalized(event.grantsAfter),
});
const byKey = (key: { id: string }, name: string) => ({ apiKey: { id: key.id, name }, user: null });
const ADMIN_ROLES = ['api_keys_manage', 'viewer', 'incident_editor', 'schedules_editor'];

describe.each(providers)('audit log on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  async function ok<T>(token: string, query: string, variables?: Record<string, unknown>): Promise<T> {
    const response = await t.gql<T>(token, query, variables);
    expect(response.errors, query).toBeUndefined();
    return response.data as T;
  }

  const page = (token: string, variables: { first?: number; after?: string } = {}) =>
    ok<AuditPage>(token, AUDIT, variables).then((data) => data.auditEvents);

  /** Every event the caller may read, newest first, through as many pages as it takes. */
  async function allEvents(token: string): Promise<AuditEventView[]> {
    const events: AuditEventView[] = [];
    let after: string | undefined;
    for (;;) {
      const { edges, pageInfo } = await page(token, { first: 250, ...(after ? { after } : {}) });
      events.push(...edges.map((edge) => edge.node));
      if (!pageInfo.hasNextPage) return events;
      after = pageInfo.endCursor ?? undefined;
    }
  }

  /** Events stored for an organization, whatever any caller may read. */
  const storedCount = (organizationId: string) => t.domain.db.auditEvent.count({ where: { organizationId } });

  /** Runs `change` and returns the events it added (newest first), as the account manager reads them. */
  async function eventsOf(adminToken: string, change: () => Promise<unknown>): Promise<AuditEventView[]> {
    const before = new Set((await allEvents(adminToken)).map((event) => event.id));
    await change();
    return (await allEvents(adminToken)).filter((event) => !before.has(event.id)).map(normalize);
  }

  async function userOf(org: Org) {
    return t.domain.db.user.findUniqueOrThrow({
      where: { id: org.userId },
      select: { id: true, email: true, name: true },
    });
  }

  describe('every change writes exactly one event, with actor, action, target, grants and time', () => {
    let org: Org;
    let admin: Key;
    let teamA: string;
    beforeAll(async () => {
      org = await t.org();
      admin = await org.key({ roles: ADMIN_ROLES }, 'Admin key');
      teamA = await org.team('Team A');
    });

    it('createApiKey records api_key.created by the calling key, with the new grants and no grants before', async () => {
      let created = { id: '', createdAt: '' };
      const events = await eventsOf(admin.token, async () => {
        const data = await ok<{ createApiKey: { apiKey: typeof created } }>(admin.token, CREATE, {
          input: { name: '  Pager  ', roleNames: ['viewer'], teamIds: [teamA], teamRoleNames: ['schedules_editor'] },
        });
        created = data.createApiKey.apiKey;
      });
      expect(events).toEqual([
        {
          id: expect.any(String),
          action: 'api_key.created',
          createdAt: created.createdAt,
          actor: byKey(admin, 'Admin key'),
          target: { id: created.id, name: 'Pager' },
          grantsBefore: null,
          grantsAfter: grants(['viewer'], [teamA], ['schedules_editor']),
          details: null,
        },
      ]);
    });

    it('updateApiKey records api_key.updated with the grants before and after and the previous name', async () => {
      const target = await org.key({ roles: ['viewer'] }, 'Old name');
      const events = await eventsOf(admin.token, () =>
        ok(admin.token, UPDATE_NAME, {
          input: {
            id: target.id,
            name: 'New name',
            roleNames: ['incident_editor'],
            teamIds: [teamA],
            teamRoleNames: ['schedules_editor'],
          },
        }),
      );
      expect(events).toEqual([
        {
          id: expect.any(String),
          action: 'api_key.updated',
          createdAt: expect.any(String),
          actor: byKey(admin, 'Admin key'),
          target: { id: target.id, name: 'New name' },
          grantsBefore: grants(['viewer']),
          grantsAfter: grants(['incident_editor'], [teamA], ['schedules_editor']),
          details: { previousName: 'Old name', gracePeriodMinutes: null, previousTokenExpiresAt: null },
        },
      ]);
    });

    it('rotateApiKey records api_key.rotated with the grace period and the previous token expiry, at the time of the new token', async () => {
      const target = await org.key({ teams: [teamA], teamRoles: ['schedules_editor'] }, 'Rotated');
      let payload = { previousTokenExpiresAt: '', apiKey: { tokenLastIssuedAt: '' } };
      const events = await eventsOf(admin.token, async () => {
        payload = (
          await ok<{ rotateApiKey: typeof payload }>(admin.token, ROTATE, {
            input: { id: target.id, gracePeriodMinutes: 7 },
          })
        ).rotateApiKey;
      });
      const teamKeyGrants = grants([], [teamA], ['schedules_editor']);
      expect(events).toEqual([
        {
          id: expect.any(String),
          action: 'api_key.rotated',
          createdAt: payload.apiKey.tokenLastIssuedAt,
          actor: byKey(admin, 'Admin key'),
          target: { id: target.id, name: 'Rotated' },
          grantsBefore: teamKeyGrants,
          grantsAfter: teamKeyGrants,
          details: {
            previousName: null,
            gracePeriodMinutes: 7,
            previousTokenExpiresAt: payload.previousTokenExpiresAt,
          },
        },
      ]);
      expect(Date.parse(payload.previousTokenExpiresAt) - Date.parse(payload.apiKey.tokenLastIssuedAt)).toBe(
        7 * MINUTE,
      );
    });

    it('deleteApiKey records api_key.deleted with the grants the key had and none after', async () => {
      const target = await org.key({ roles: ['viewer'], teams: [teamA], teamRoles: ['schedules_editor'] }, 'Doomed');
      const events = await eventsOf(admin.token, () => ok(admin.token, DELETE_BY_ID, { id: target.id }));
      expect(events).toEqual([
        {
          id: expect.any(String),
          action: 'api_key.deleted',
          createdAt: expect.any(String),
          actor: byKey(admin, 'Admin key'),
          target: { id: target.id, name: 'Doomed' },
          grantsBefore: grants(['viewer'], [teamA], ['schedules_editor']),
          grantsAfter: null,
          details: null,
        },
      ]);
    });

    it('a key rotating and then deleting itself is both actor and target, and its events outlive it', async () => {
      const self = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'Self');
      const events = await eventsOf(admin.token, async () => {
        const rotated = await ok<{ rotateApiKey: { token: string } }>(self.token, ROTATE, { input: { id: self.id } });
        await ok(rotated.rotateApiKey.token, DELETE_BY_ID, { id: self.id });
      });
      expect(events.map((event) => [event.action, event.actor, event.target])).toEqual([
        ['api_key.deleted', byKey(self, 'Self'), { id: self.id, name: 'Self' }],
        ['api_key.rotated', byKey(self, 'Self'), { id: self.id, name: 'Self' }],
      ]);
      expect(events[1]?.details?.gracePeriodMinutes).toBe(30);
    });

    it('a key created by the administration CLI path records the user as actor (a snapshot of id, email, name)', async () => {
      const user = await userOf(org);
      let created = { id: '', createdAt: new Date(0) };
      const events = await eventsOf(admin.token, async () => {
        const { apiKey } = await createApiKey(
          t.domain,
          { kind: 'user', organizationId: org.id, userId: user.id },
          { name: 'Dashboard key', roleNames: ['api_keys_manage'] },
        );
        created = apiKey;
      });
      expect(events).toEqual([
        {
          id: expect.any(String),
          action: 'api_key.created',
          createdAt: created.createdAt.toISOString(),
          actor: { apiKey: null, user },
          target: { id: created.id, name: 'Dashboard key' },
          grantsBefore: null,
          grantsAfter: grants(['api_keys_manage']),
          details: null,
        },
      ]);
    });

    it('actor and target are snapshots: renaming or deleting those keys later leaves past events as they were', async () => {
      const actor = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'Actor before rename');
      const events = await eventsOf(admin.token, async () => {
        const made = await ok<{ createApiKey: { apiKey: { id: string } } }>(actor.token, CREATE, {
          input: { name: 'Target before deletion', roleNames: ['viewer'] },
        });
        await ok(admin.token, UPDATE_NAME, {
          input: {
            id: actor.id,
            name: 'Actor renamed',
            roleNames: ['api_keys_manage'],
            teamIds: [],
            teamRoleNames: [],
          },
        });
        await ok(admin.token, DELETE_BY_ID, { id: made.createApiKey.apiKey.id });
        await ok(admin.token, DELETE_BY_ID, { id: actor.id });
      });
      const created = events.find((event) => event.action === 'api_key.created');
      expect(created?.actor).toEqual(byKey(actor, 'Actor before rename'));
      expect(created?.target.name).toBe('Target before deletion');
      expect(events.map((event) => event.action)).toEqual([
        'api_key.deleted',
        'api_key.deleted',
        'api_key.updated',
        'api_key.created',
      ]);
    });

    it('concurrent rotations of one key write one event per rotation that succeeded', async () => {
      const target = await org.key({ roles: ['viewer'] }, 'Hot key');
      const before = await storedCount(org.id);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => t.gql(admin.token, ROTATE, { input: { id: target.id } })),
      );
      const succeeded = responses.filter((response) => response.errors === undefined).length;
      expect(succeeded).toBeGreaterThan(0);
      expect(await storedCount(org.id)).toBe(before + succeeded);
      const rotations = (await allEvents(admin.token)).filter(
        (event) => event.target.id === target.id && event.action === 'api_key.rotated',
      );
      expect(rotations).toHaveLength(succeeded);
    });
  });

  describe('a failed operation writes no event', () => {
    let org: Org;
    let admin: Key;
    let viewer: Key;
    let teamManager: Key;
    let plain: Key;
    let strong: Key;
    beforeAll(async () => {
      org = await t.org();
      const team = await org.team();
      admin = await org.key({ roles: ADMIN_ROLES });
      viewer = await org.key({ roles: ['viewer'] });
      teamManager = await org.key({ teams: [team], teamRoles: ['api_keys_manage'] });
      plain = await org.key({ roles: ['viewer'] });
      strong = await org.key({ roles: ['global_access'] });
    });

    const failures: Array<[string, () => [Key, string, Record<string, unknown>], string]> = [
      ['create with an empty name', () => [admin, CREATE, { input: { name: ' ' } }], 'BAD_USER_INPUT'],
      [
        'create granting api_keys_manage',
        () => [admin, CREATE, { input: { name: 'x', roleNames: ['api_keys_manage'] } }],
        'FORBIDDEN',
      ],
      [
        'create of grants the caller does not cover',
        () => [admin, CREATE, { input: { name: 'x', roleNames: ['global_access'] } }],
        'FORBIDDEN',
      ],
      ['create by a non-manager', () => [viewer, CREATE, { input: { name: 'x' } }], 'FORBIDDEN'],
      [
        'update of a missing key',
        () => [
          admin,
          UPDATE_NAME,
          { input: { id: MISSING_ID, name: 'x', roleNames: [], teamIds: [], teamRoleNames: [] } },
        ],
        'NOT_FOUND',
      ],
      [
        'update of the caller itself',
        () => [
          admin,
          UPDATE_NAME,
          { input: { id: admin.id, name: 'x', roleNames: ADMIN_ROLES, teamIds: [], teamRoleNames: [] } },
        ],
        'FORBIDDEN',
      ],
      [
        'update with teams but no team roles',
        () => [
          admin,
          UPDATE_NAME,
          { input: { id: plain.id, name: 'x', roleNames: [], teamIds: [MISSING_ID], teamRoleNames: [] } },
        ],
        'BAD_USER_INPUT',
      ],
      [
        'rotate with a grace period over 60',
        () => [admin, ROTATE, { input: { id: plain.id, gracePeriodMinutes: 61 } }],
        'BAD_USER_INPUT',
      ],
      ['rotate of a key the caller does not cover', () => [admin, ROTATE, { input: { id: strong.id } }], 'FORBIDDEN'],
      [
        'rotate by a team manager of a key it cannot see',
        () => [teamManager, ROTATE, { input: { id: plain.id } }],
        'NOT_FOUND',
      ],
      ['delete by a non-manager', () => [viewer, DELETE_BY_ID, { id: plain.id }], 'FORBIDDEN'],
      ['delete of a missing key', () => [admin, DELETE_BY_ID, { id: MISSING_ID }], 'NOT_FOUND'],
      ['delete with a malformed id', () => [admin, DELETE_BY_ID, { id: 'nope' }], 'BAD_USER_INPUT'],
    ];

    it.each(failures)('%s', async (_name, request, code) => {
      const [caller, query, variables] = request();
      const before = await storedCount(org.id);
      const response = await t.gql(caller.token, query, variables);
      expect(response.code).toBe(code);
      expect(await storedCount(org.id)).toBe(before);
    });

    it('an unauthenticated request writes no event', async () => {
      const before = await storedCount(org.id);
      const response = await t.gql('keygate_not-a-token', DELETE_BY_ID, { id: plain.id });
      expect(response.status).toBe(401);
      expect(await storedCount(org.id)).toBe(before);
    });
  });

  describe('who may read which events', () => {
    let org: Org;
    let admin: Key;
    let teamA: string;
    let teamB: string;
    let managerOfA: Key;
    let managerOfAB: Key;
    let adminEvents: AuditEventView[];
    beforeAll(async () => {
      org = await t.org();
      teamA = await org.team('A');
      teamB = await org.team('B');
      admin = await org.key({ roles: ADMIN_ROLES }, 'admin');
      managerOfA = await org.key({ teams: [teamA], teamRoles: ['api_keys_manage', 'schedules_editor'] }, 'manager A');
      managerOfAB = await org.key({ teams: [teamA, teamB], teamRoles: ['api_keys_manage'] }, 'manager AB');
      const inA = { teamIds: [teamA], teamRoleNames: ['schedules_reader'] };
      const create = async (name: string, input: Record<string, unknown>, token = admin.token) =>
        (await ok<{ createApiKey: { apiKey: { id: string } } }>(token, CREATE, { input: { name, ...input } }))
          .createApiKey.apiKey.id;
      const update = (id: string, name: string, input: Record<string, unknown>) =>
        ok(admin.token, UPDATE_NAME, { input: { id, name, roleNames: [], teamIds: [], teamRoleNames: [], ...input } });

      await create('in A', inA);
      await create('in B', { teamIds: [teamB], teamRoleNames: ['schedules_reader'] });
      await create('in A and B', { teamIds: [teamA, teamB], teamRoleNames: ['schedules_reader'] });
      await create('in A with an account role', { roleNames: ['viewer'], ...inA });
      await create('account only', { roleNames: ['viewer'] });
      const leaving = await create('leaves A', inA);
      await update(leaving, 'left A', { roleNames: ['viewer'] });
      // Its expiry changes with the move too: the one it had outside team A is no more A's than its name.
      const joining = await create('joins A', { roleNames: ['viewer'], expiresAt: '2031-01-01T00:00:00.000Z' });
      await update(joining, 'joined A', { ...inA, expiresAt: '2030-01-01T00:00:00.000Z' });
      const deleted = await create('deleted from A', inA);
      await ok(admin.token, DELETE_BY_ID, { id: deleted });
      const rotated = await create('rotated by manager A', inA, managerOfA.token);
      await ok(managerOfA.token, ROTATE, { input: { id: rotated } });
      adminEvents = await allEvents(admin.token);
    });

    const summary = (events: AuditEventView[]) => events.map((event) => `${event.action} ${event.target.name}`);

    it("an account manager reads every event of its organization, and no other organization's", async () => {
      expect(summary(adminEvents)).toEqual([
        'api_key.rotated rotated by manager A',
        'api_key.created rotated by manager A',
        'api_key.deleted deleted from A',
        'api_key.created deleted from A',
        'api_key.updated joined A',
        'api_key.created joins A',
        'api_key.updated left A',
        'api_key.created leaves A',
        'api_key.created account only',
        'api_key.created in A with an account role',
        'api_key.created in A and B',
        'api_key.created in B',
        'api_key.created in A',
        'api_key.created manager AB',
        'api_key.created manager A',
        'api_key.created admin',
      ]);
      const other = await t.org();
      const otherAdmin = await other.key({ roles: ['api_keys_manage'] }, 'other admin');
      expect(summary(await allEvents(otherAdmin.token))).toEqual(['api_key.created other admin']);
    });

    it('a team manager reads the events whose target, after the change (before a deletion), is a key of its teams', async () => {
      expect(summary(await allEvents(managerOfA.token))).toEqual([
        'api_key.rotated rotated by manager A',
        'api_key.created rotated by manager A',
        'api_key.deleted deleted from A',
        'api_key.created deleted from A',
        'api_key.updated joined A',
        'api_key.created leaves A',
        'api_key.created in A',
        'api_key.created manager A',
      ]);
    });

    it('a team manager sees no state of a key from before the key entered its teams (issue 12, item 9)', async () => {
      // "joins A" had an account role and its own name until the update that moved it into team A: the
      // team manager reads that update (the key is in its teams after it), but not the grants or the
      // name the key had while it was outside them; the account manager reads both.
      const joined = (events: AuditEventView[]) =>
        events.find((event) => event.action === 'api_key.updated' && event.target.name === 'joined A');
      const full = joined(adminEvents);
      expect(full?.grantsBefore).toEqual(grants(['viewer']));
      expect(full?.details?.previousName).toBe('joins A');
      for (const manager of [managerOfA, managerOfAB]) {
        const events = await allEvents(manager.token);
        const seen = joined(events);
        expect(seen?.grantsAfter && normalized(seen.grantsAfter)).toEqual(grants([], [teamA], ['schedules_reader']));
        expect(seen?.grantsBefore).toBeNull();
        expect(seen?.details?.previousName ?? null).toBeNull();
        // Nowhere in what the team manager reads: neither the old name nor the account role of that key.
        const text = JSON.stringify(events.filter((event) => event.target.id === full?.target.id));
        expect(text).not.toContain('joins A');
        expect(text).not.toContain('viewer');
        // Nor the expiry it had before: the update's details give the new one only.
        const { data } = await t.gql(
          manager.token,
          '{ auditEvents(first: 250) { edges { node { action target { id } details { expiresAt previousExpiresAt } } } } }',
        );
        const details = (data as { auditEvents: { edges: Array<{ node: AuditEventView }> } }).auditEvents.edges
          .map((edge) => edge.node)
          .find((event) => event.action === 'api_key.updated' && event.target.id === full?.target.id)?.details;
        expect(details).toEqual({ expiresAt: '2030-01-01T00:00:00.000Z', previousExpiresAt: null });
      }
      const { data } = await t.gql(
        admin.token,
        '{ auditEvents(first: 250) { edges { node { action target { id } details { previousExpiresAt } } } } }',
      );
      const adminSees = (data as { auditEvents: { edges: Array<{ node: AuditEventView }> } }).auditEvents.edges
        .map((edge) => edge.node)
        .find((event) => event.action === 'api_key.updated' && event.target.id === full?.target.id);
      expect(adminSees?.details).toEqual({ previousExpiresAt: '2031-01-01T00:00:00.000Z' });
    });

    it('a state the team manager could see stays whole: updates within its teams keep grants before and the previous name', async () => {
      const own = await t.org();
      const [x, y] = [await own.team('X'), await own.team('Y')];
      const ownAdmin = await own.key({ roles: ADMIN_ROLES }, 'own admin');
      const managerOfXY = await own.key({ teams: [x, y], teamRoles: ['api_keys_manage'] }, 'manager XY');
      const created = await ok<{ createApiKey: { apiKey: { id: string } } }>(ownAdmin.token, CREATE, {
        input: { name: 'in X', teamIds: [x], teamRoleNames: ['schedules_reader'] },
      });
      const id = created.createApiKey.apiKey.id;
      await ok(ownAdmin.token, UPDATE_NAME, {
        input: { id, name: 'in X and Y', roleNames: [], teamIds: [x, y], teamRoleNames: ['schedules_reader'] },
      });
      const seen = (await allEvents(managerOfXY.token)).find(
        (event) => event.action === 'api_key.updated' && event.target.id === id,
      );
      expect(seen && normalized(seen.grantsBefore)).toEqual(grants([], [x], ['schedules_reader']));
      expect(seen?.details?.previousName).toBe('in X');
    });

    it('a team manager of several teams reads the events of keys whose teams are all among its teams', async () => {
      expect(summary(await allEvents(managerOfAB.token))).toEqual([
        'api_key.rotated rotated by manager A',
        'api_key.created rotated by manager A',
        'api_key.deleted deleted from A',
        'api_key.created deleted from A',
        'api_key.updated joined A',
        'api_key.created leaves A',
        'api_key.created in A and B',
        'api_key.created in B',
        'api_key.created in A',
        'api_key.created manager AB',
        'api_key.created manager A',
      ]);
    });

    it('a key that manages no keys gets FORBIDDEN, whatever its other roles', async () => {
      const withTeamRole = await org.key({ teams: [teamA], teamRoles: ['schedules_editor'] });
      const withAccountRoles = await org.key({ roles: ['viewer', 'security_settings_editor'] });
      for (const key of [withTeamRole, withAccountRoles]) {
        const response = await t.gql(key.token, AUDIT);
        expect(response.code).toBe('FORBIDDEN');
        expect(response.errors?.[0]?.message).toContain('api_keys_manage');
        expect(response.data).toBeNull();
      }
    });

    it('input is checked before the caller is: a non-manager with a bad page size gets BAD_USER_INPUT', async () => {
      const viewer = await org.key({ roles: ['viewer'] });
      expect((await t.gql(viewer.token, AUDIT, { first: 0 })).code).toBe('BAD_USER_INPUT');
    });

    it("the README's auditEvents example runs as printed", async () => {
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const section = readme.slice(readme.indexOf('## Audit log'));
      const example = /```graphql\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
      expect(example).toContain('auditEvents');
      const data = await ok<AuditPage>(admin.token, example);
      expect(data.auditEvents.edges).toHaveLength(10);
    });

    it('without a valid token the answer is HTTP 401 UNAUTHENTICATED', async () => {
      const response = await t.gql(null, AUDIT);
      expect(response.status).toBe(401);
      expect(response.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('auditEvents is a Relay connection, newest first', () => {
    let org: Org;
    let admin: Key;
    beforeAll(async () => {
      org = await t.org();
      admin = await org.key({ roles: ['api_keys_manage'] }, 'admin');
      for (let i = 1; i <= 26; i++) {
        t.clock.advance(1000);
        await org.key({ roles: ['viewer'] }, `key ${i}`);
      }
    });

    it('pages of `first` events follow each other through endCursor without gaps or repeats', async () => {
      const all = await allEvents(admin.token);
      expect(all).toHaveLength(27);
      const seen: string[] = [];
      let after: string | undefined;
      const sizes: number[] = [];
      for (;;) {
        const { edges, pageInfo } = await page(admin.token, { first: 10, ...(after ? { after } : {}) });
        sizes.push(edges.length);
        seen.push(...edges.map((edge) => edge.node.id));
        expect(pageInfo.hasPreviousPage).toBe(false);
        expect(pageInfo.startCursor).toBe(edges[0]?.cursor);
        expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor);
        if (!pageInfo.hasNextPage) break;
        after = pageInfo.endCursor ?? undefined;
      }
      expect(sizes).toEqual([10, 10, 7]);
      expect(seen).toEqual(all.map((event) => event.id));
    });

    it('newest first: ids and times descend', async () => {
      const all = await allEvents(admin.token);
      expect(all[0]?.target.name).toBe('key 26');
      expect(all.at(-1)?.target.name).toBe('admin');
      for (let i = 1; i < all.length; i++) {
        expect((all[i - 1]?.id ?? '') > (all[i]?.id ?? '')).toBe(true);
        expect(Date.parse(all[i - 1]?.createdAt ?? '')).toBeGreaterThan(Date.parse(all[i]?.createdAt ?? ''));
      }
    });

    it('first defaults to 25', async () => {
      const { edges, pageInfo } = await page(admin.token);
      expect(edges).toHaveLength(25);
      expect(pageInfo.hasNextPage).toBe(true);
    });

    it('first must be 1 to 250', async () => {
      for (const first of [0, -1, 251]) {
        const response = await t.gql(admin.token, AUDIT, { first });
        expect(response.code, `first: ${first}`).toBe('BAD_USER_INPUT');
      }
      expect((await page(admin.token, { first: 250 })).edges).toHaveLength(27);
      expect((await page(admin.token, { first: 1 })).edges).toHaveLength(1);
    });

    it('a malformed cursor, or a cursor of apiKeys, is BAD_USER_INPUT', async () => {
      const keyCursor = (
        await ok<{ apiKeys: { pageInfo: { endCursor: string } } }>(
          admin.token,
          '{ apiKeys(first: 1) { pageInfo { endCursor } } }',
        )
      ).apiKeys.pageInfo.endCursor;
      for (const after of ['nope', '', '!!!', Buffer.from('audit:not-a-ulid').toString('base64url'), keyCursor]) {
        const response = await t.gql(admin.token, AUDIT, { after });
        expect(response.code, `after: ${after}`).toBe('BAD_USER_INPUT');
        expect(response.errors?.[0]?.message).toContain('cursor');
      }
    });
  });

  describe('events never contain a token or a token hash', () => {
    it('no token issued in this test, nor its SHA-256 in any encoding, appears in events or in the stored rows', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ADMIN_ROLES });
      const issued = [admin.token];
      const made = (await org.key({ teams: [team], teamRoles: ['schedules_editor'] })) as Key;
      issued.push(made.token);
      const created = await ok<{ createApiKey: { token: string; apiKey: { id: string } } }>(admin.token, CREATE, {
        input: { name: 'secret holder', roleNames: ['viewer'] },
      });
      issued.push(created.createApiKey.token);
      for (const id of [created.createApiKey.apiKey.id, made.id, created.createApiKey.apiKey.id]) {
        const rotated = await ok<{ rotateApiKey: { token: string } }>(admin.token, ROTATE, { input: { id } });
        issued.push(rotated.rotateApiKey.token);
      }
      await ok(admin.token, UPDATE_NAME, {
        input: { id: made.id, name: 'renamed', roleNames: ['viewer'], teamIds: [], teamRoleNames: [] },
      });
      await ok(admin.token, DELETE_BY_ID, { id: made.id });

      const events = await allEvents(admin.token);
      expect(events.map((event) => event.action).sort()).toEqual(
        [
          ...Array(3).fill('api_key.created'),
          ...Array(3).fill('api_key.rotated'),
          'api_key.updated',
          'api_key.deleted',
        ].sort(),
      );
      const rows = await t.domain.db.$queryRawUnsafe<unknown[]>(
        `SELECT * FROM "AuditEvent" e LEFT JOIN "AuditEventTeam" t ON t."eventId" = e."id" WHERE e."organizationId" = '${org.id}'`,
      );
      expect(rows.length).toBeGreaterThanOrEqual(events.length);
      const haystack = JSON.stringify([events, rows]).toLowerCase();
      for (const token of issued) {
        const digest = createHash('sha256').update(token).digest();
        const forbiddenStrings = [
          token,
          token.slice('keygate_'.length),
          hashToken(token),
          digest.toString('hex'),
          digest.toString('base64'),
          digest.toString('base64url'),
        ];
        for (const secret of forbiddenStrings) expect(haystack).not.toContain(secret.toLowerCase());
      }
    });
  });

  describe('an event and its change are one transaction', () => {
    // A trigger in the database makes the audit insert fail for one organization only: the change
    // itself runs for real, and must be rolled back with the event.
    async function failAuditInserts(organizationId: string): Promise<void> {
      const name = `audit_fails_${organizationId.toLowerCase()}`;
      if (provider === 'sqlite') {
        await t.domain.db.$executeRawUnsafe(
          `CREATE TRIGGER ${name} BEFORE INSERT ON "AuditEvent" WHEN NEW."organizationId" = '${organizationId}'
           BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END`,
        );
      } else {
        await t.domain.db.$executeRawUnsafe(
          `CREATE OR REPLACE FUNCTION audit_fails() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'injected audit failure'; END $$`,
        );
        await t.domain.db.$executeRawUnsafe(
          `CREATE TRIGGER ${name} BEFORE INSERT ON "AuditEvent" FOR EACH ROW
           WHEN (NEW."organizationId" = '${organizationId}') EXECUTE FUNCTION audit_fails()`,
        );
      }
    }

    let org: Org;
    let admin: Key;
    let target: Key;
    let teamA: string;
    let tokensBefore: unknown;
    let keysBefore: number;
    beforeAll(async () => {
      org = await t.org();
      teamA = await org.team();
      admin = await org.key({ roles: ADMIN_ROLES }, 'admin');
      target = await org.key({ roles: ['viewer'] }, 'target');
      await failAuditInserts(org.id);
      keysBefore = await t.domain.db.apiKey.count({ where: { organizationId: org.id } });
      tokensBefore = await tokenRows();
    });

    const tokenRows = () =>
      t.domain.db.apiKeyToken.findMany({
        where: { apiKey: { organizationId: org.id } },
        orderBy: { id: 'asc' },
        select: { id: true, apiKeyId: true, expiresAt: true },
      });

    async function expectUnchanged(): Promise<void> {
      expect(await storedCount(org.id)).toBe(2);
      expect(await t.domain.db.apiKey.count({ where: { organizationId: org.id } })).toBe(keysBefore);
      expect(await tokenRows()).toEqual(tokensBefore);
      const shown = await ok<{ apiKey: Record<string, unknown> }>(admin.token, SHOW, { id: target.id });
      expect(shown.apiKey).toMatchObject({ name: 'target', roles: [{ name: 'viewer' }], teamIds: [], teamRoles: [] });
      expect((await ok<{ currentApiKey: { id: string } }>(target.token, WHOAMI)).currentApiKey.id).toBe(target.id);
    }

    async function expectMaskedFailure(query: string, variables: Record<string, unknown>): Promise<void> {
      const response = await t.gql(admin.token, query, variables);
      expect(response.code).toBe('INTERNAL_SERVER_ERROR');
      expect(response.data).toBeNull();
      expect(JSON.stringify(response.errors)).not.toContain('injected');
    }

    it('create: when the event cannot be written, no key and no token are', async () => {
      await expectMaskedFailure(CREATE, { input: { name: 'never', roleNames: ['viewer'] } });
      await expect(
        createApiKey(t.domain, { kind: 'user', organizationId: org.id, userId: org.userId }, { name: 'never either' }),
      ).rejects.toThrow();
      await expectUnchanged();
    });

    it('update: when the event cannot be written, name and grants stay as they were', async () => {
      await expectMaskedFailure(UPDATE_NAME, {
        input: { id: target.id, name: 'changed', roleNames: [], teamIds: [teamA], teamRoleNames: ['schedules_editor'] },
      });
      await expectUnchanged();
    });

    it('rotate: when the event cannot be written, the current token stays current and no new token exists', async () => {
      const before = await ok<{ apiKey: { tokenLastIssuedAt: string } }>(admin.token, SHOW, { id: target.id });
      t.clock.advance(MINUTE);
      await expectMaskedFailure(ROTATE, { input: { id: target.id, gracePeriodMinutes: 0 } });
      await expectUnchanged();
      const after = await ok<{ apiKey: { tokenLastIssuedAt: string } }>(admin.token, SHOW, { id: target.id });
      expect(after.apiKey.tokenLastIssuedAt).toBe(before.apiKey.tokenLastIssuedAt);
    });

    it('delete: when the event cannot be written, the key and its token keep working', async () => {
      await expectMaskedFailure(DELETE_BY_ID, { id: target.id });
      await expectUnchanged();
    });
  });

  describe('keygate audit list (the administration CLI)', () => {
    async function cli(args: string[]): Promise<Record<string, unknown>> {
      const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
      delete env.DATABASE_URL;
      delete env.KEYGATE_DATA_DIR;
      const config = t.db.config;
      if (config.provider === 'sqlite') env.KEYGATE_DATA_DIR = config.dataDir;
      else env.DATABASE_URL = config.url;
      const { stdout } = await execFileAsync(process.execPath, [KEYGATE_BIN, ...args], { env, timeout: 60_000 });
      return JSON.parse(stdout) as Record<string, unknown>;
    }

    it('keygate key create records the user as actor; audit list prints the events as GraphQL shows them', async () => {
      const org = await t.org();
      const user = await userOf(org);
      const printed = (await cli([
        'key',
        'create',
        '--org',
        org.id,
        '--as',
        user.email,
        '--name',
        'CLI admin',
        '--roles',
        'api_keys_manage,viewer',
      ])) as { apiKey: { id: string }; token: string };
      const admin = { id: printed.apiKey.id, token: printed.token };
      await ok(admin.token, CREATE, { input: { name: 'from the API', roleNames: ['viewer'] } });

      const graphql = await allEvents(admin.token);
      expect(graphql.map(normalize)).toEqual([
        expect.objectContaining({ action: 'api_key.created', actor: byKey(admin, 'CLI admin') }),
        expect.objectContaining({
          action: 'api_key.created',
          actor: { apiKey: null, user },
          target: { id: admin.id, name: 'CLI admin' },
          grantsAfter: grants(['api_keys_manage', 'viewer']),
        }),
      ]);

      const listed = await cli(['audit', 'list', '--org', org.name]);
      expect(listed.auditEvents).toEqual(graphql);
      // Every event, without pageInfo: pages are for --first.
      expect(Object.keys(listed)).toEqual(['auditEvents']);

      const first = (await cli(['audit', 'list', '--org', org.id, '--first', '1'])) as {
        auditEvents: AuditEventView[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
      expect(first.auditEvents).toEqual(graphql.slice(0, 1));
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = await cli(['audit', 'list', '--org', org.id, '--after', first.pageInfo.endCursor]);
      expect(second.auditEvents).toEqual(graphql.slice(1));

      const output = JSON.stringify([listed, first, second]);
      expect(output).not.toContain(admin.token);
      expect(output).not.toContain(hashToken(admin.token));
    }, 120_000);

    it('audit list rejects a bad page size with a message and a non-zero exit', async () => {
      const org = await t.org();
      const failure = await cli(['audit', 'list', '--org', org.id, '--first', '0']).then(
        () => null,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain('first must be a whole number from 1 to 250');
    }, 60_000);
  });
});
