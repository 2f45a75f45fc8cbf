// Token → caller, near free on the hot path:
// 1. the checksum rejects malformed tokens without a lookup;
// 2. a bounded cache of verified tokens (with their key and grants) answers repeat callers without
//    the database; an entry is dropped the moment its key is updated, rotated or deleted (in this
//    process directly, in other processes through PostgreSQL LISTEN/NOTIFY) and is never used past
//    the token's own expiry;
// 3. a bounded cache of unknown token hashes answers repeated bad tokens. Tokens are random and made
//    only by the server, so a hash that was unknown never becomes valid: no invalidation is needed.
// While cross-process invalidation is down, the positive cache is bypassed and emptied; while it is not
// known to be working (src/auth/pg-invalidation.ts: no recent heartbeat answer), the cache is bypassed.
// On the embedded database, a commit by another process (the CLI, any other writer) empties it before
// a cached token is used again.
// The pipeline of src/auth/authenticate.ts hashes a token once and asks by hash (`cached`, `lookUpCaller`);
// Verification (src/verification/engine.ts) asks by token (`resolve`, `resolveKnown`): it also tells
// an expired key from an unknown token.
import { LRUCache } from 'lru-cache';
import { Access, type Grants, tokenDeadline } from '../domain/access.ts';
import { hashToken } from '../domain/tokens.ts';
import type { Caller, Domain } from '../domain/types.ts';
import { signals } from '../observability/signals.ts';
import { recordWithGrants } from '../store/rows.ts';
import type { TokenLookup } from './token-lookup.ts';

interface Entry {
  caller: Caller;
  expiresAt: number | null;
  cachedAt: number;
}

export interface VerifierOptions {
  /** Verified tokens kept (least recently used dropped first). */
  maxEntries?: number;
  /** Unknown token hashes kept. */
  maxUnknown?: number;
  /**
   * How long a verified entry is used before it is read again. Invalidation does not depend on it;
   * it bounds how stale the non-security fields of the caller's own key (lastUsedAt) may get.
   */
  maxAgeMs?: number;
  /**
   * The same for verification (resolveKnown, and resolve with `forVerification`), whose answer shows
   * none of those fields: a service verifying many distinct keys keeps them cached this long.
   */
  verificationMaxAgeMs?: number;
  /**
   * A reading that changes whenever another process commits to the database (SQLite's data_version on
   * this process's writing connection, see src/db/client.ts). Checked before a cached token is used:
   * when it moved, the cache is emptied, since another process may have deleted or changed any key.
   */
  externalChanges?: () => number;
  /**
   * How long a reading of `externalChanges` holds for the cache (ms; default
   * EXTERNAL_CHANGES_EVERY_MS): another process's commit empties the cache at the first use of a
   * cached token this long after the last reading, at the latest. Lookups always read it afresh.
   */
  externalChangesEveryMs?: number;
}

/**
 * The default of VerifierOptions.externalChangesEveryMs. Reading `externalChanges` is a system call
 * (src/db/wal-index.ts), 6% of a `POST /v1/verify`'s server CPU when made for every verification; once
 * in 5 ms it is one in over a hundred at full load. The rules give other processes' changes a second to
 * reach verification; a change made by this process empties its entries at once, whatever this is.
 */
export const EXTERNAL_CHANGES_EVERY_MS = 5;

export class TokenVerifier {
  readonly #domain: Domain;
  readonly #lookup: TokenLookup;
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #verificationMaxAgeMs: number;
  /** Verified tokens by hash, least recently used dropped first; each drop leaves #hashesByKey too. */
  readonly #entries: LRUCache<string, Entry>;
  readonly #hashesByKey = new Map<string, Set<string>>();
  /** Unknown token hashes (no recency: a repeated bad token is not worth keeping longer). */
  readonly #unknown: LRUCache<string, true>;
  readonly #accessByGrants: LRUCache<string, Access>;
  #cacheEnabled = true;
  /** performance.now() until which cached tokens may be used (see trustCacheUntil). */
  #trustedUntil = Number.POSITIVE_INFINITY;
  readonly #externalChanges: (() => number) | null;
  #externalSeen = 0;
  readonly #externalChangesEveryMs: number;
  /** performance.now() of the last reading of #externalChanges (none yet: -Infinity). */
  #externalReadAt = Number.NEGATIVE_INFINITY;
  /**
   * Bumped by every invalidation. A lookup that raced with an invalidation of its own key, or with the
   * cache being switched, must not be cached; one that raced with other keys' invalidations may be.
   */
  #generation = 0;
  /** The generation at which the cache was last emptied or switched (or #invalidatedAt overflowed). */
  #resetAt = 0;
  /** Lookups in flight, and the generation of each key's last invalidation while any was. */
  #inFlight = 0;
  readonly #invalidatedAt = new Map<string, number>();

  constructor(domain: Domain, lookup: TokenLookup, options: VerifierOptions = {}) {
    this.#domain = domain;
    this.#lookup = lookup;
    this.#maxEntries = options.maxEntries ?? 50_000;
    this.#entries = new LRUCache<string, Entry>({
      max: this.#maxEntries,
      dispose: (entry, hash) => this.#unindex(hash, entry.caller.key.id),
    });
    this.#unknown = new LRUCache<string, true>({ max: options.maxUnknown ?? 50_000 });
    this.#accessByGrants = new LRUCache<string, Access>({ max: this.#maxEntries });
    this.#maxAgeMs = options.maxAgeMs ?? 5_000;
    this.#verificationMaxAgeMs = options.verificationMaxAgeMs ?? 60_000;
    this.#externalChanges = options.externalChanges ?? null;
    this.#externalChangesEveryMs = options.externalChangesEveryMs ?? EXTERNAL_CHANGES_EVERY_MS;
    if (this.#externalChanges) this.#externalSeen = this.#externalChanges();
  }

  /**
   * What the cache knows of a well-formed token's hash, synchronously: the caller of a valid token,
   * null for a token known to be unknown, or undefined when only a lookup (`lookUpCaller`) can tell.
   */
  cached(hash: string): Caller | null | undefined {
    return this.#knownByHash(hash, this.#domain.now().getTime(), this.#maxAgeMs);
  }

  /**
   * For authentication, a hash `cached` did not know: its caller, 'expired' for a key past its expiry
   * (refused like an unknown token, counted apart), null for no such token.
   */
  async lookUpCaller(hash: string): Promise<Caller | 'expired' | null> {
    const now = this.#domain.now().getTime();
    const found = await this.lookUp(hash, now);
    if (!found) return null;
    return found.deadline === null || found.deadline > now ? found.caller : 'expired';
  }

  /**
   * A well-formed token's key, also when the key has expired (verification tells EXPIRED from
   * UNKNOWN), with the token's deadline (see tokenDeadline); null for no such token or one past its
   * grace period. Expired keys are never cached.
   */
  async resolve(
    token: string,
    now: number,
    forVerification = false,
  ): Promise<{ caller: Caller; deadline: number | null } | null> {
    const hash = hashToken(token);
    const known = this.#resolvedByHash(hash, now, forVerification ? this.#verificationMaxAgeMs : this.#maxAgeMs);
    if (known !== undefined) return known;
    return await this.lookUp(hash, now);
  }

  /**
   * The database's answer for a token hash the cache did not know (`cached` answered undefined just
   * before): as `resolve`, without asking the cache again.
   */
  async lookUp(hash: string, now: number): Promise<{ caller: Caller; deadline: number | null } | null> {
    signals.tokenCache(false);
    // Read the external changes now (the cache may have been asked a while ago, before a rate-limit
    // count): a commit elsewhere from now until the result is kept counts as a race (#forgetAll).
    this.#checkExternalChanges(true);
    const generation = this.#generation;
    this.#inFlight++;
    let match: Awaited<ReturnType<TokenLookup['find']>>;
    let raced: boolean;
    try {
      match = await this.#lookup.find(hash);
      this.#checkExternalChanges(true);
      raced =
        this.#resetAt > generation || (match !== null && (this.#invalidatedAt.get(match.key.id) ?? 0) > generation);
    } finally {
      if (--this.#inFlight === 0) this.#invalidatedAt.clear();
    }
    const tokenExpiresAt = match?.expiresAt?.getTime() ?? null;
    if (!match || (tokenExpiresAt !== null && tokenExpiresAt <= now)) {
      this.#rememberUnknown(hash);
      return null;
    }
    // Past the key's expiresAt the token is refused like an unknown one, but not remembered as unknown:
    // an update may extend the key. The cache entry keeps the deadline and is never used past it.
    const expiresAt = tokenDeadline(match.expiresAt, match.key.expiresAt);
    const key = recordWithGrants(match.key, match.grants, this.#domain.catalogue);
    const caller: Caller = {
      key,
      access: this.#accessFor(key.grants),
      token: { id: match.tokenId, expiresAt: match.expiresAt },
    };
    if (expiresAt !== null && expiresAt <= now) return { caller, deadline: expiresAt };
    if (this.#cacheEnabled && !raced) this.#remember(hash, { caller, expiresAt, cachedAt: now });
    return { caller, deadline: expiresAt };
  }

  /**
   * What `resolve(token, now, true)` would answer, when the cache knows it; undefined when only a lookup
   * can tell.
   */
  resolveKnown(token: string, now: number): { caller: Caller; deadline: number | null } | null | undefined {
    return this.#resolvedByHash(hashToken(token), now, this.#verificationMaxAgeMs);
  }

  #resolvedByHash(
    hash: string,
    now: number,
    maxAgeMs: number,
  ): { caller: Caller; deadline: number | null } | null | undefined {
    const known = this.#knownByHash(hash, now, maxAgeMs);
    if (!known) return known;
    // The entry #knownByHash has just used: its deadline is the token's.
    return { caller: known, deadline: (this.#entries.peek(hash) as Entry).expiresAt };
  }

  /**
   * Keys with the same grants share one Access (it is immutable and derived from the grants alone):
   * a cached entry then costs its key record, not a copy of every scope set.
   */
  #accessFor(grants: Grants): Access {
    const signature = `${grants.roleNames.join(',')}|${grants.teamIds.join(',')}|${grants.teamRoleNames.join(',')}`;
    let access = this.#accessByGrants.get(signature);
    if (!access) {
      access = new Access(this.#domain.catalogue, grants);
      this.#accessByGrants.set(signature, access);
    }
    return access;
  }

  #knownByHash(hash: string, now: number, maxAgeMs: number): Caller | null | undefined {
    this.#checkExternalChanges();
    const cached = this.#entries.get(hash);
    // Not trusted now: looked up instead, and kept (it becomes usable again with the next heartbeat,
    // which proves that every invalidation sent before it has arrived).
    if (cached && performance.now() < this.#trustedUntil) {
      if ((cached.expiresAt === null || cached.expiresAt > now) && now - cached.cachedAt < maxAgeMs) {
        signals.tokenCache(true);
        return cached.caller;
      }
      this.#entries.delete(hash);
    }
    if (!this.#unknown.has(hash)) return undefined;
    signals.tokenCache(true);
    return null;
  }

  /** Drops every cached token of a key (after an update, rotation or deletion). */
  invalidateKey(apiKeyId: string): void {
    this.#generation++;
    if (this.#inFlight > 0) {
      // Bounded: past the bound, every lookup in flight counts as raced, as after a reset.
      if (this.#invalidatedAt.size >= this.#maxEntries) {
        this.#resetAt = this.#generation;
        this.#invalidatedAt.clear();
      } else {
        this.#invalidatedAt.set(apiKeyId, this.#generation);
      }
    }
    const hashes = this.#hashesByKey.get(apiKeyId);
    // Out of the index first: the drops below then find no set to edit while it is being walked.
    this.#hashesByKey.delete(apiKeyId);
    for (const hash of hashes ?? []) this.#entries.delete(hash);
  }

  /** Empties the cache of verified tokens and stops or resumes using it. */
  setCacheEnabled(enabled: boolean): void {
    this.#cacheEnabled = enabled;
    this.#forgetAll();
  }

  /**
   * Cached tokens are used only until `time` (performance.now()); later, every token is looked up until
   * this is called again with a later time. The invalidation listener calls it on every heartbeat.
   */
  trustCacheUntil(time: number): void {
    this.#trustedUntil = time;
  }

  /**
   * Empties the cache if another process committed since the last reading. The reading of a use of the
   * cache (`force` false) is skipped within #externalChangesEveryMs of the last one; a lookup's
   * (`force`) is always taken, so that a commit during the lookup counts as a race.
   */
  #checkExternalChanges(force = false): void {
    if (!this.#externalChanges) return;
    const now = performance.now();
    if (!force && now - this.#externalReadAt < this.#externalChangesEveryMs) return;
    const seen = this.#externalChanges();
    this.#externalReadAt = now;
    if (seen === this.#externalSeen) return;
    this.#externalSeen = seen;
    this.#forgetAll();
  }

  /** Empties the cache; lookups in flight count as raced and are not kept. */
  #forgetAll(): void {
    this.#resetAt = ++this.#generation;
    this.#entries.clear();
    this.#hashesByKey.clear();
  }

  get size(): { verified: number; unknown: number } {
    return { verified: this.#entries.size, unknown: this.#unknown.size };
  }

  #remember(hash: string, entry: Entry): void {
    this.#entries.set(hash, entry);
    const keyId = entry.caller.key.id;
    let hashes = this.#hashesByKey.get(keyId);
    if (!hashes) {
      hashes = new Set();
      this.#hashesByKey.set(keyId, hashes);
    }
    hashes.add(hash);
  }

  /** Called by the cache for every entry it drops (evicted, replaced, deleted, cleared). */
  #unindex(hash: string, apiKeyId: string): void {
    const hashes = this.#hashesByKey.get(apiKeyId);
    hashes?.delete(hash);
    if (hashes?.size === 0) this.#hashesByKey.delete(apiKeyId);
  }

  #rememberUnknown(hash: string): void {
    this.#unknown.set(hash, true);
  }
}
