// One new context per request: the caller (authenticated once) and per-request dataloaders.
import DataLoader from 'dataloader';
import { findUsers, type UserRecord } from './domain/organizations.ts';
import type { Caller, Domain } from './domain/types.ts';
import type { VerificationEngine } from './verification/engine.ts';
import type { Principal } from './verification/principal.ts';

/**
 * The loader of users by id, which also answers without a promise for a user it was primed with (a page
 * of keys comes with its creators: `creator { user }` takes them as they are, without a promise per key;
 * measured on apiKeys(first: 50)).
 */
export class UserLoader extends DataLoader<string, UserRecord | null> {
  readonly #primed = new Map<string, UserRecord>();

  override prime(id: string, user: UserRecord | null | PromiseLike<UserRecord | null> | Error): this {
    if (user !== null && !(user instanceof Error) && !('then' in user)) {
      this.#primed.set(id, user);
      return this;
    }
    return super.prime(id, user);
  }

  override load(id: string): Promise<UserRecord | null> {
    const user = this.#primed.get(id);
    return user ? Promise.resolve(user) : super.load(id);
  }

  /** The user, at once when primed, else through load. */
  get(id: string): UserRecord | Promise<UserRecord | null> {
    return this.#primed.get(id) ?? super.load(id);
  }
}

export interface Loaders {
  user: UserLoader;
}

export interface Context {
  domain: Domain;
  /** Who authenticated: an API key or a verifier token. Scope-auth lets each call only its own fields. */
  principal: Principal;
  /** The API key of the request; a verifier token's request has none (scope-auth refuses before). */
  caller: Caller;
  /** The engine behind verifyApiKey (shared with POST /v1/verify). */
  verification: VerificationEngine;
  loaders: Loaders;
}

const inOrderOfIds = <T extends { id: string }>(ids: readonly string[], rows: T[]) => {
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
    user: new UserLoader(async (ids) => inOrderOfIds(ids, await users(ids))),
  };
}

/**
 * The `caller` of a verifier token's request: none. Scope-auth refuses every API-key field before a
 * resolver could read it; should one ever do, it fails (masked, logged) instead of acting as a key.
 * (A getter would not do: Yoga copies the context's properties, reading each.)
 */
const NO_CALLER = new Proxy({} as Caller, {
  get() {
    throw new Error('a verifier token reached a field for API keys');
  },
});

export function createContext(domain: Domain, principal: Principal, verification: VerificationEngine): Context {
  if (principal.kind === 'verifier') {
    return {
      domain,
      principal,
      verification,
      caller: NO_CALLER,
      loaders: createLoaders(domain, principal.verifier.organizationId ?? ''),
    };
  }
  const caller = principal;
  return {
    domain,
    principal,
    caller,
    verification,
    loaders: createLoaders(domain, caller.key.organizationId),
  };
}
