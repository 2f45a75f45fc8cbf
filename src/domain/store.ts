// Reading and writing API keys with their grants. Every function takes a client that may be a
// transaction, so the operations can compose them inside one.

import type { Db } from '../db/client.ts';
import { Prisma } from '../generated/sqlite/client.ts';
import type { Grants } from './access.ts';
import type { RoleCatalogue } from './roles.ts';

export type Tx = Db | Prisma.TransactionClient;

export interface ApiKeyRecord {
  id: string;
  organizationId: string;
  name: string;
  createdAt: Date;
  tokenLastIssuedAt: Date;
  lastUsedAt: Date | null;
  creatorKeyId: string | null;
  creatorKeyName: string | null;
  creatorUserId: string | null;
  grants: Grants;
  /** The teams of grants.teamIds, same order. */
  teams: Array<{ id: string; name: string }>;
}

export type ApiKeyRow = Omit<ApiKeyRecord, 'grants' | 'teams'>;

/** One grant of a key as the grant tables hold it: an account role, a team (with its name), a team role. */
export interface GrantRow {
  kind: 'role' | 'team' | 'team_role';
  value: string;
  teamName: string | null;
}

/** A key with its grants, in canonical order (roles as in the catalogue, teams by id). */
export function assembleRecord(key: ApiKeyRow, rows: readonly GrantRow[], catalogue: RoleCatalogue): ApiKeyRecord {
  const roleNames: string[] = [];
  const teamRoleNames: string[] = [];
  const teams: Array<{ id: string; name: string }> = [];
  for (const row of rows) {
    if (row.kind === 'role') roleNames.push(row.value);
    else if (row.kind === 'team_role') teamRoleNames.push(row.value);
    else teams.push({ id: row.value, name: row.teamName ?? '' });
  }
  teams.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    ...key,
    teams,
    grants: {
      roleNames: roleNames.sort(catalogue.compare),
      teamIds: teams.map((team) => team.id),
      teamRoleNames: teamRoleNames.sort(catalogue.compare),
    },
  };
}

/**
 * The grants of many keys, with their team names, in one statement (a UNION over the three grant
 * tables), whatever the number of keys: a page of 250 keys costs the same as a page of one.
 */
export async function loadGrants(
  tx: Tx,
  keys: readonly ApiKeyRow[],
  catalogue: RoleCatalogue,
): Promise<ApiKeyRecord[]> {
  if (keys.length === 0) return [];
  const ids = Prisma.join(keys.map((key) => key.id));
  const rows = await tx.$queryRaw<Array<GrantRow & { apiKeyId: string }>>`
    SELECT r."apiKeyId", 'role' AS kind, r."roleName" AS value, NULL AS "teamName"
      FROM "ApiKeyRole" r WHERE r."apiKeyId" IN (${ids})
    UNION ALL
    SELECT t."apiKeyId", 'team' AS kind, t."teamId" AS value, tm."name" AS "teamName"
      FROM "ApiKeyTeam" t JOIN "Team" tm ON tm."id" = t."teamId" WHERE t."apiKeyId" IN (${ids})
    UNION ALL
    SELECT tr."apiKeyId", 'team_role' AS kind, tr."roleName" AS value, NULL AS "teamName"
      FROM "ApiKeyTeamRole" tr WHERE tr."apiKeyId" IN (${ids})`;
  const byKey = new Map<string, GrantRow[]>(keys.map((key) => [key.id, []]));
  for (const row of rows) byKey.get(row.apiKeyId)?.push(row);
  return keys.map((key) => assembleRecord(key, byKey.get(key.id) ?? [], catalogue));
}

/**
 * Takes the write lock on one key for the rest of the transaction (a row lock on PostgreSQL, the
 * database write lock on SQLite), so concurrent changes to the same key run one after the other.
 */
export async function lockApiKey(tx: Tx, id: string): Promise<void> {
  await tx.$executeRaw`UPDATE "ApiKey" SET "name" = "name" WHERE "id" = ${id}`;
}

export async function replaceGrants(tx: Tx, apiKeyId: string, grants: Grants): Promise<void> {
  await tx.apiKeyRole.deleteMany({ where: { apiKeyId } });
  await tx.apiKeyTeam.deleteMany({ where: { apiKeyId } });
  await tx.apiKeyTeamRole.deleteMany({ where: { apiKeyId } });
  await insertGrants(tx, apiKeyId, grants);
}

/** `(first, second), (first, second), …` for a multi-row INSERT. */
export const pairs = (first: string, seconds: readonly string[]) =>
  Prisma.join(seconds.map((second) => Prisma.sql`(${first}, ${second})`));

/**
 * One multi-row INSERT per grant table that has rows. Written out rather than createMany: Prisma
 * compiles a new query plan for every createMany call (its plan cache never hits one), which costs
 * more than the statement itself.
 */
export async function insertGrants(tx: Tx, apiKeyId: string, grants: Grants): Promise<void> {
  if (grants.roleNames.length > 0) {
    await tx.$executeRaw`INSERT INTO "ApiKeyRole" ("apiKeyId", "roleName") VALUES ${pairs(apiKeyId, grants.roleNames)}`;
  }
  if (grants.teamIds.length > 0) {
    await tx.$executeRaw`INSERT INTO "ApiKeyTeam" ("apiKeyId", "teamId") VALUES ${pairs(apiKeyId, grants.teamIds)}`;
  }
  if (grants.teamRoleNames.length > 0) {
    await tx.$executeRaw`INSERT INTO "ApiKeyTeamRole" ("apiKeyId", "roleName") VALUES ${pairs(apiKeyId, grants.teamRoleNames)}`;
  }
}

/** The subset of teamIds that do not exist in the organization. */
export async function missingTeams(tx: Tx, organizationId: string, teamIds: readonly string[]): Promise<string[]> {
  if (teamIds.length === 0) return [];
  const found = await tx.team.findMany({
    where: { organizationId, id: { in: [...teamIds] } },
    select: { id: true },
  });
  const existing = new Set(found.map((t) => t.id));
  return teamIds.filter((id) => !existing.has(id));
}
