// One new context per request: the caller (authenticated once) and per-request dataloaders.
import DataLoader from 'dataloader';
import type { Caller, Domain } from './domain/api-keys.ts';
import { findUsers, type UserRecord } from './domain/organizations.ts';
import type { ApiKeyRecord } from './domain/store.ts';

export interface Loaders {
  user: DataLoader<string, UserRecord | null>;
}

export interface Context {
  domain: Domain;
  caller: Caller;
  loaders: Loaders;
  /** Keys a scope check has already found visible in this request, by id. */
  checked: Map<string, ApiKeyRecord>;
  /**
   * Users of the caller's organization this request has already read, by id (a page of keys comes
   * with its creators): `creator { user }` takes them from here as they are, without the loader's
   * promise per key.
   */
  users: Map<string, UserRecord>;
}

const byId = <T extends { id: string }>(ids: readonly string[], rows: T[]) => {
  const found = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => found.get(id) ?? null);
};

/**
 * Loaders are scoped to the caller's organization: another organization's rows do not exist. Users are
 * read through domain.reads, like the keys they created.
 */
export function createLoaders(domain: Domain, organizationId: string): Loaders {
  const users = (ids: readonly string[]) =>
    domain.reads.read(
      `users\0${organizationId}\0${ids.join(',')}`,
      () => findUsers(domain.db, organizationId, ids),
      (rows) => rows.length + 1,
    );
  return {
    user: new DataLoader(async (ids) => byId(ids, await users(ids))),
  };
}

export function createContext(domain: Domain, caller: Caller): Context {
  return {
    domain,
    caller,
    loaders: createLoaders(domain, caller.key.organizationId),
    checked: new Map(),
    users: new Map(),
  };
}
