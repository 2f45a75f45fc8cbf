// The visibility rule is written more than once, in src/domain/access.ts: `canSee` judges one key's
// grants, and its SQL forms beside it pick the keys of a page (visibleKeysSql, read by
// src/domain/key-list.ts) and the audit events a caller may read (visibleEventsSql, read by
// src/domain/audit.ts). On generated organizations (random keys in random teams, some updated, some
// deleted) and random callers (account and team grants, managers or not), the SQL answers exactly what
// filtering everything with `canSee` answers, on both databases (docs/rules.md, Visibility).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Access, type Grants } from '../../src/domain/access.ts';
import { deleteApiKey, updateApiKey } from '../../src/domain/api-keys.ts';
import { listAuditEvents, listOrganizationAuditEvents } from '../../src/domain/audit.ts';
import { listApiKeys } from '../../src/domain/key-list.ts';
import { MANAGER_ROLE } from '../../src/domain/roles.ts';
import type { Caller } from '../../src/domain/types.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

/** Every page is read whole: an organization here holds fewer keys and events than this. */
const PAGE = 250;
const TEAMS = 4;

/** A subset of `from`, as indexes drawn by fast-check. */
const subsetArb = (size: number) => fc.uniqueArray(fc.nat({ max: size - 1 }), { maxLength: size });

interface GrantsDraw {
  roles: readonly number[];
  teams: readonly number[];
  teamRoles: readonly number[];
}

const grantsArb = (accountRoles: number, teamRoles: number): fc.Arbitrary<GrantsDraw> =>
  fc.record({
    // Most keys have no account role, so that team managers have keys to see.
    roles: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: subsetArb(accountRoles) }),
    teams: subsetArb(TEAMS),
    teamRoles: fc.uniqueArray(fc.nat({ max: teamRoles - 1 }), { minLength: 1, maxLength: 3 }),
  });

describe.each(providers)('the SQL form of visibility equals canSee on %s', (provider) => {
  let t: TestApp;
  let accountRoles: string[];
  let teamRoles: string[];

  beforeAll(async () => {
    t = await createTestApp(provider);
    const roles = t.domain.catalogue.roles;
    accountRoles = roles.filter((role) => role.accountLevel && role.name !== MANAGER_ROLE).map((role) => role.name);
    teamRoles = roles.filter((role) => role.teamLevel && role.name !== MANAGER_ROLE).map((role) => role.name);
  });
  afterAll(() => t.close());

  /** Grants of a key from a draw; a key with no team has no team role (docs/rules.md, Input rules). */
  const grantsOf = (draw: GrantsDraw, teamIds: string[]): Grants => {
    const teams = draw.teams.map((i) => teamIds[i] as string);
    return {
      roleNames: draw.roles.map((i) => accountRoles[i] as string),
      teamIds: teams,
      teamRoleNames: teams.length === 0 ? [] : draw.teamRoles.map((i) => teamRoles[i] as string),
    };
  };

  /** A caller with the given grants in the organization (only its grants matter to visibility). */
  const callerWith = (organizationId: string, grants: Grants): Caller =>
    ({
      key: { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV', organizationId, expiresAt: null, grants },
      access: new Access(t.domain.catalogue, grants),
    }) as unknown as Caller;

  const callerArb = fc.record({
    accountManager: fc.boolean(),
    teamManager: fc.boolean(),
    roles: subsetArb(4),
    teams: subsetArb(TEAMS + 1),
  });

  const worldArb = fc.record({
    keys: fc.array(
      fc.record({ grants: grantsArb(6, 3), updateTo: fc.option(grantsArb(6, 3)), deleted: fc.boolean() }),
      {
        minLength: 1,
        maxLength: 25,
      },
    ),
    callers: fc.array(callerArb, { minLength: 1, maxLength: 12 }),
  });

  it('on generated organizations and callers, apiKeys and auditEvents return exactly what canSee admits', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb, async (world) => {
        const org = await t.org();
        const teamIds: string[] = [];
        for (let i = 0; i < TEAMS; i++) teamIds.push(await org.team());
        // Another organization's team: a grant of it admits nothing in this one.
        const foreignTeam = await (await t.org()).team();

        // Changes through the API need a caller that covers every grant: every account role does.
        const updater = await org.key({ roles: [MANAGER_ROLE, ...accountRoles] });
        const asUpdater = (await t.verifier.resolve(updater.token, t.domain.now().getTime()))?.caller;
        if (!asUpdater) throw new Error('the updater key is missing');
        const updaterRecord = asUpdater.key;
        const operator = { kind: 'user' as const, organizationId: org.id, userId: org.userId };

        const live = new Map<string, Grants>([[updater.id, updaterRecord.grants]]);
        for (const [i, drawn] of world.keys.entries()) {
          let grants = grantsOf(drawn.grants, teamIds);
          const { id } = await org.key({
            roles: [...grants.roleNames],
            teams: [...grants.teamIds],
            teamRoles: [...grants.teamRoleNames],
          });
          if (drawn.updateTo) {
            grants = grantsOf(drawn.updateTo, teamIds);
            await updateApiKey(t.domain, asUpdater, { id, name: `updated ${i}`, ...grants });
          }
          if (drawn.deleted) await deleteApiKey(t.domain, operator, id);
          else live.set(id, grants);
        }
        const allEvents = (await listOrganizationAuditEvents(t.domain, org.id, { first: PAGE })).events;
        expect(allEvents.length).toBeLessThan(PAGE);

        for (const drawn of world.callers) {
          const grants: Grants = {
            roleNames: [
              ...(drawn.accountManager ? [MANAGER_ROLE] : []),
              ...drawn.roles.map((i) => accountRoles[i] as string),
            ],
            teamIds: drawn.teams.map((i) => teamIds[i] ?? foreignTeam),
            teamRoleNames:
              drawn.teams.length === 0 ? [] : [...(drawn.teamManager ? [MANAGER_ROLE] : []), 'schedules_reader'],
          };
          const caller = callerWith(org.id, grants);
          const label = JSON.stringify(grants);
          if (!caller.access.isManager) {
            // No key is visible to a caller that is not a manager, and the lists refuse it.
            expect(
              [...live.values()].some((keyGrants) => caller.access.canSee(keyGrants)),
              label,
            ).toBe(false);
            await expect(listApiKeys(t.domain, caller, { first: PAGE })).rejects.toMatchObject({ code: 'FORBIDDEN' });
            await expect(listAuditEvents(t.domain, caller, { first: PAGE })).rejects.toMatchObject({
              code: 'FORBIDDEN',
            });
            continue;
          }

          const page = await listApiKeys(t.domain, caller, { first: PAGE });
          expect(page.hasNextPage).toBe(false);
          const expectedKeys = [...live].filter(([, keyGrants]) => caller.access.canSee(keyGrants)).map(([id]) => id);
          expect(page.keys.map((key) => key.id).sort(), label).toEqual(expectedKeys.sort());

          const events = await listAuditEvents(t.domain, caller, { first: PAGE });
          // An event is read as its target was after the change (before it, for a deletion).
          const expectedEvents = allEvents
            .filter((event) => caller.access.canSee((event.grantsAfter ?? event.grantsBefore) as Grants))
            .map((event) => event.id);
          expect(
            events.events.map((event) => event.id),
            label,
          ).toEqual(expectedEvents);
        }
      }),
      { numRuns: 6 },
    );
  }, 180_000);
});
