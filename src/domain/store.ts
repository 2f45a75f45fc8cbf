// Reading and writing API keys with their grants. Every function takes a client that may be a
// transaction, so the operations can compose them inside one.
import type { Prisma } from '../generated/sqlite/client.ts';
import type { Db } from '../db/client.ts';
import type { Grants } from './access.ts';

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
}

export const grantsInclude = {
  roles: { select: { roleName: true } },
  teams: { select: { teamId: true } },
  teamRoles: { select: { roleName: true } },
} as const;

type Row = Prisma.ApiKeyGetPayload<{ include: typeof grantsInclude }>;

export function toRecord(row: Row, rolePosition: (name: string) => number): ApiKeyRecord {
  const { roles, teams, teamRoles, ...key } = row;
  const byPosition = (a: string, b: string) => rolePosition(a) - rolePosition(b);
  return {
    ...key,
    grants: {
      roleNames: roles.map((r) => r.roleName).sort(byPosition),
      teamIds: teams.map((t) => t.teamId).sort(),
      teamRoleNames: teamRoles.map((r) => r.roleName).sort(byPosition),
    },
  };
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

export async function insertGrants(tx: Tx, apiKeyId: string, grants: Grants): Promise<void> {
  if (grants.roleNames.length > 0) {
    await tx.apiKeyRole.createMany({ data: grants.roleNames.map((roleName) => ({ apiKeyId, roleName })) });
  }
  if (grants.teamIds.length > 0) {
    await tx.apiKeyTeam.createMany({ data: grants.teamIds.map((teamId) => ({ apiKeyId, teamId })) });
  }
  if (grants.teamRoleNames.length > 0) {
    await tx.apiKeyTeamRole.createMany({ data: grants.teamRoleNames.map((roleName) => ({ apiKeyId, roleName })) });
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
