// The role catalogue lives in the Role table. Seeding adds the default roles that are missing and
// never overwrites a row an operator has changed.
import type { Db } from '../db/client.ts';
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

export async function loadRoleCatalogue(prisma: Db): Promise<RoleCatalogue> {
  const rows = await prisma.role.findMany({ orderBy: [{ position: 'asc' }, { name: 'asc' }] });
  return new RoleCatalogue(
    rows.map((row) => ({
      name: row.name,
      description: row.description,
      scopes: row.scopes.split(' ').filter(Boolean),
      accountLevel: row.accountLevel,
      teamLevel: row.teamLevel,
      grantableViaApi: row.grantableViaApi,
    })),
  );
}
