// What the CLI prints of a key: the shape a GraphQL query selecting every field of ApiKey returns.
import type { Reader } from '../db/reader.ts';
import { listUsers, type UserRecord } from '../domain/organizations.ts';
import type { ApiKeyRecord } from '../domain/records.ts';
import type { RoleCatalogue } from '../domain/roles.ts';

type PresentedUser = Pick<UserRecord, 'id' | 'email' | 'name' | 'role' | 'slackUserId'>;

export function presentApiKey(catalogue: RoleCatalogue, key: ApiKeyRecord, creator: PresentedUser | null) {
  const role = (name: string) => {
    const r = catalogue.get(name);
    return {
      name,
      description: r?.description ?? '',
      scopes: [...(r?.scopes ?? [])],
      teamAssignable: r?.teamLevel ?? false,
    };
  };
  return {
    id: key.id,
    name: key.name,
    createdAt: key.createdAt.toISOString(),
    creator: {
      apiKey: key.creatorKeyId ? { id: key.creatorKeyId, name: key.creatorKeyName ?? '' } : null,
      user: creator
        ? {
            id: creator.id,
            email: creator.email,
            name: creator.name,
            role: creator.role,
            slackUserId: creator.slackUserId,
          }
        : null,
    },
    roles: key.grants.roleNames.map(role),
    teamIds: [...key.grants.teamIds],
    teams: key.teams,
    teamRoles: key.grants.teamRoleNames.map(role),
    tokenLastIssuedAt: key.tokenLastIssuedAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
  };
}

/** Keys of one organization as printed, with their creating users. */
export async function presentApiKeys(
  read: Reader,
  catalogue: RoleCatalogue,
  organizationId: string,
  keys: readonly ApiKeyRecord[],
) {
  const wanted = new Set(keys.map((key) => key.creatorUserId).filter((id) => id !== null));
  const users = wanted.size === 0 ? [] : await listUsers(read, organizationId);
  const byId = new Map(users.map((user) => [user.id, user]));
  return keys.map((key) => presentApiKey(catalogue, key, (key.creatorUserId && byId.get(key.creatorUserId)) || null));
}
