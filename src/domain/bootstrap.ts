// First start on an empty database: an organization, an admin user, and an admin key holding every
// account-level role, so that a new operator can call the API straight away.
import { createApiKey } from './api-keys.ts';
import { createOrganization, createUser } from './organizations.ts';
import type { Domain } from './types.ts';

export const BOOTSTRAP = {
  organizationName: 'Default organization',
  userEmail: 'admin@keygate.local',
  userName: 'Keygate administrator',
  userRole: 'owner',
  keyName: 'Bootstrap admin key',
} as const;

export async function bootstrapIfEmpty(domain: Domain) {
  if ((await domain.db.organization.count()) > 0) return null;
  const organization = await createOrganization(domain.db, { name: BOOTSTRAP.organizationName });
  const user = await createUser(domain.db, organization.id, {
    email: BOOTSTRAP.userEmail,
    name: BOOTSTRAP.userName,
    role: BOOTSTRAP.userRole,
  });
  const { apiKey, token } = await createApiKey(
    domain,
    { kind: 'user', organizationId: organization.id, userId: user.id },
    {
      name: BOOTSTRAP.keyName,
      roleNames: domain.catalogue.roles.filter((role) => role.accountLevel).map((role) => role.name),
    },
  );
  return { organization, user, apiKey, token };
}
