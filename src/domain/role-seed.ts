// The role catalogue lives in the Role table. Seeding adds the default roles that are missing and
// never overwrites a row an operator has changed.
import { sql } from '@prisma/client-runtime-utils';
import type { Db } from '../db/client.ts';
import { prismaReader, type Reader } from '../db/reader.ts';
import { DEFAULT_ROLES, RoleCatalogue, type RoleDefinition } from './roles.ts';

export async function seedRoles(prisma: Db, roles: readonly RoleDefinition[] = DEFAULT_ROLES): Promise<void> {
  const existing = new Set((await prisma.role.findMany({ select: { name: true } })).map((r) => r.name));
  const missing = roles.map((role, position) => ({ role, position })).filter(({ role }) => !existing.has(role.name));
  if (missing.length === 0) return;
  await prisma.role.createMany({
    data: missing.map(({ role, position }) => ({
      name: role.name,
      description: role.description,
      scopes: role.scopes.join(' '),
      accountLevel: role.accountLevel,
      teamLevel: role.teamLevel,
      grantableViaApi: role.grantableViaApi,
      position,
    })),
  });
}

export function loadRoleCatalogue(prisma: Db): Promise<RoleCatalogue> {
  return readRoleCatalogue(prismaReader(prisma));
}

interface RoleRow {
  name: string;
  description: string;
  scopes: string;
  // Booleans as the driver gives them: true/false, or 1/0 from SQLite.
  accountLevel: unknown;
  teamLevel: unknown;
  grantableViaApi: unknown;
}

/** The catalogue as the Role table holds it, on any connection (the CLI reads it without Prisma). */
export async function readRoleCatalogue(read: Reader): Promise<RoleCatalogue> {
  const rows = await read<RoleRow>(sql`SELECT "name", "description", "scopes", "accountLevel", "teamLevel",
    "grantableViaApi" FROM "Role" ORDER BY "position", "name"`);
  return new RoleCatalogue(
    rows.map((row) => ({
      name: row.name,
      description: row.description,
      scopes: row.scopes.split(' ').filter(Boolean),
      accountLevel: Boolean(Number(row.accountLevel)),
      teamLevel: Boolean(Number(row.teamLevel)),
      grantableViaApi: Boolean(Number(row.grantableViaApi)),
    })),
  );
}
