// The rules of docs/rules.md about managers, visibility, covering and lifetime, as pure functions of
// grants; visibility also in its SQL forms, beside canSee, for the reads of many rows: visibleKeysSql for
// a page of keys, visibleEventsSql for a page of the audit log.
import { empty, join, type Sql, sql } from '../db/sql.ts';
import { MANAGER_ROLE, type RoleCatalogue } from './roles.ts';

/** The grants of a key: account roles, teams, and roles that apply in every one of those teams. */
export interface Grants {
  roleNames: readonly string[];
  teamIds: readonly string[];
  teamRoleNames: readonly string[];
}

export const NO_GRANTS: Grants = { roleNames: [], teamIds: [], teamRoleNames: [] };

const isSubset = (small: Iterable<string>, big: ReadonlySet<string>) => {
  for (const item of small) if (!big.has(item)) return false;
  return true;
};

/** What a caller (an authenticated key) may do, derived once per request from its grants. */
export class Access {
  readonly grants: Grants;
  readonly accountScopes: ReadonlySet<string>;
  readonly #teamIds: ReadonlySet<string>;
  readonly #teamScopes: ReadonlySet<string>;
  readonly #catalogue: RoleCatalogue;

  constructor(catalogue: RoleCatalogue, grants: Grants) {
    this.#catalogue = catalogue;
    this.grants = grants;
    this.accountScopes = catalogue.scopesOf(grants.roleNames);
    this.#teamIds = new Set(grants.teamIds);
    // Account scopes apply in every team; team-role scopes only in the key's own teams.
    this.#teamScopes = new Set([...this.accountScopes, ...catalogue.scopesOf(grants.teamRoleNames)]);
  }

  /** Holds api_keys_manage as an account-level role. */
  get isAccountManager(): boolean {
    return this.grants.roleNames.includes(MANAGER_ROLE);
  }

  /** Holds api_keys_manage as a team role and is not an account manager. */
  get isTeamManager(): boolean {
    return !this.isAccountManager && this.grants.teamRoleNames.includes(MANAGER_ROLE) && this.#teamIds.size > 0;
  }

  get isManager(): boolean {
    return this.isAccountManager || this.isTeamManager;
  }

  /** The teams a team manager manages (its teamIds); empty for anyone else. */
  get managedTeamIds(): readonly string[] {
    return this.isTeamManager ? [...this.#teamIds] : [];
  }

  scopesInTeam(teamId: string): ReadonlySet<string> {
    return this.#teamIds.has(teamId) ? this.#teamScopes : this.accountScopes;
  }

  /**
   * Whether a key with these grants (in the caller's organization) is visible to the caller:
   * account managers see every key; team managers see keys with no account roles and a non-empty
   * set of teams, all of them managed by the caller.
   */
  canSee(target: Grants): boolean {
    if (this.isAccountManager) return true;
    if (!this.isTeamManager) return false;
    return target.roleNames.length === 0 && target.teamIds.length > 0 && isSubset(target.teamIds, this.#teamIds);
  }

  /** The first grant the caller does not cover, or null when it covers them all. */
  firstUncovered(grants: Grants): { roleName: string; teamId?: string } | null {
    for (const roleName of grants.roleNames) {
      if (!isSubset(this.#catalogue.scopesOf([roleName]), this.accountScopes)) return { roleName };
    }
    for (const teamId of grants.teamIds) {
      const inTeam = this.scopesInTeam(teamId);
      for (const roleName of grants.teamRoleNames) {
        if (!isSubset(this.#catalogue.scopesOf([roleName]), inTeam)) return { roleName, teamId };
      }
    }
    return null;
  }

  covers(grants: Grants): boolean {
    return this.firstUncovered(grants) === null;
  }
}

/**
 * canSee as a condition on `k`, a row of "ApiKey" of the caller's organization, `AND …`: every key for
 * an account manager; for a team manager, a key with no account role, at least one team, and no team
 * outside the caller's; none for anyone else. test/db/visibility-twins.test.ts holds the two equal on
 * generated data.
 */
export function visibleKeysSql(access: Pick<Access, 'isAccountManager' | 'managedTeamIds'>): Sql {
  if (access.isAccountManager) return empty;
  const managed = access.managedTeamIds;
  if (managed.length === 0) return sql`AND 1 = 0`;
  const teams = join(managed);
  // The keys of the caller's teams first (the index on the team of "ApiKeyTeam"): a team manager's page
  // reads the keys of its teams, not every key of the organization (at 1M keys, none of them in its
  // teams: 1.1 s a page on SQLite when the organization's keys were walked newest first).
  return sql`
    AND k."id" IN (SELECT vt."apiKeyId" FROM "ApiKeyTeam" vt WHERE vt."teamId" IN (${teams}))
    AND NOT EXISTS (SELECT 1 FROM "ApiKeyRole" r WHERE r."apiKeyId" = k."id")
    AND NOT EXISTS (SELECT 1 FROM "ApiKeyTeam" t WHERE t."apiKeyId" = k."id" AND t."teamId" NOT IN (${teams}))`;
}

/**
 * canSee for the audit log, as a condition on `e`, a row of "AuditEvent" of the reader's organization,
 * `AND …`: an event is judged by the grants it records for its target (visibleAs, src/store/audit.ts:
 * "targetHasAccountRoles" and the rows of "AuditEventTeam"). Every event for `managedTeamIds` null (an
 * account manager, or the administration CLI); for a team manager, an event whose target had no account
 * role, at least one team, and no team outside `managedTeamIds`; none for a reader managing no team.
 * test/db/visibility-twins.test.ts holds it equal to canSee on generated data.
 */
export function visibleEventsSql(managedTeamIds: readonly string[] | null): Sql {
  if (managedTeamIds === null) return empty;
  if (managedTeamIds.length === 0) return sql`AND 1 = 0`;
  const teams = join(managedTeamIds);
  // NOT rather than a comparison: the column is a boolean on PostgreSQL, 0 or 1 on SQLite. As in
  // visibleKeysSql, the events of the reader's teams are found first, by the index on the team of
  // "AuditEventTeam".
  return sql`
    AND NOT e."targetHasAccountRoles"
    AND e."id" IN (SELECT vt."eventId" FROM "AuditEventTeam" vt WHERE vt."teamId" IN (${teams}))
    AND NOT EXISTS (SELECT 1 FROM "AuditEventTeam" t WHERE t."eventId" = e."id" AND t."teamId" NOT IN (${teams}))`;
}

/**
 * Where a set of grants hands out roles only the administration CLI may grant (api_keys_manage in
 * the default catalogue): "role@account" and "role@team:<id>" entries. Create may add none; update may
 * add none the target did not already have.
 */
export function adminOnlyPlaces(catalogue: RoleCatalogue, grants: Grants): Set<string> {
  const places = new Set<string>();
  const adminOnly = (name: string) => catalogue.get(name)?.grantableViaApi === false;
  for (const name of grants.roleNames) if (adminOnly(name)) places.add(`${name}@account`);
  for (const name of grants.teamRoleNames) {
    if (adminOnly(name)) for (const teamId of grants.teamIds) places.add(`${name}@team:${teamId}`);
  }
  return places;
}

/**
 * The lifetime rule (docs/rules.md, Expiry: no key hands out a longer life than its own): whether a
 * key expiring at `expiresAt` (null: never) would outlive a caller expiring at `callerExpiresAt`.
 * Covering, extended to time; the administration CLI is exempt and does not ask.
 */
export function outlivesCaller(callerExpiresAt: Date | null, expiresAt: Date | null): boolean {
  if (callerExpiresAt === null) return false;
  return expiresAt === null || expiresAt.getTime() > callerExpiresAt.getTime();
}

/**
 * When a token stops working, in epoch ms (null: not by time): the earlier of its own expiry (the end
 * of a rotation grace period) and its key's expiresAt.
 */
export function tokenDeadline(tokenExpiresAt: Date | null, keyExpiresAt: Date | null): number | null {
  const own = tokenExpiresAt?.getTime() ?? null;
  const key = keyExpiresAt?.getTime() ?? null;
  if (own === null) return key;
  return key === null ? own : Math.min(own, key);
}
