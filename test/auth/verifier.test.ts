// The verification cache: what it answers without the database, and when it must not.
import { describe, expect, it } from 'vitest';
import type { TokenLookup, TokenMatch } from '../../src/auth/token-lookup.ts';
import { TokenVerifier } from '../../src/auth/verifier.ts';
import { DEFAULT_ROLES, RoleCatalogue } from '../../src/domain/roles.ts';
import { generateToken, hashToken } from '../../src/domain/tokens.ts';
import type { Domain } from '../../src/domain/types.ts';
import { knownCaller, verifyToken } from '../helpers/token-verifier.ts';

const catalogue = new RoleCatalogue(DEFAULT_ROLES);

function setup(options: ConstructorParameters<typeof TokenVerifier>[2] = {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const rows = new Map<string, TokenMatch>();
  const lookups: string[] = [];
  const lookup: TokenLookup = {
    async find(hash) {
      lookups.push(hash);
      return rows.get(hash) ?? null;
    },
  };
  const domain = { catalogue, now: () => new Date(now) } as unknown as Domain;
  const verifier = new TokenVerifier(domain, lookup, options);
  const issue = (keyId: string, expiresAt: number | null = null, roles = ['viewer']) => {
    const token = generateToken();
    rows.set(hashToken(token), {
      key: {
        id: keyId,
        organizationId: 'org',
        name: `key ${keyId}`,
        createdAt: new Date(now),
        tokenLastIssuedAt: new Date(now),
        lastUsedAt: null,
        creatorKeyId: null,
        creatorKeyName: null,
        expiresAt: null,
        creatorUserId: 'user',
      },
      tokenId: `token ${rows.size}`,
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
      grants: [[...roles], [], []],
    });
    return token;
  };
  return {
    verifier,
    rows,
    lookups,
    issue,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

describe('token verification cache', () => {
  it('rejects malformed tokens without a lookup', async () => {
    const t = setup();
    const token = t.issue('K1');
    const broken = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    expect(knownCaller(t.verifier, broken)).toBeNull();
    expect(await verifyToken(t.verifier, broken)).toBeNull();
    expect(await verifyToken(t.verifier, null)).toBeNull();
    expect(t.lookups).toHaveLength(0);
  });

  it('answers a repeat caller from the cache, with its grants', async () => {
    const t = setup();
    const token = t.issue('K1', null, ['viewer', 'api_keys_manage']);
    const first = await verifyToken(t.verifier, token);
    const second = await verifyToken(t.verifier, token);
    expect(second?.key.id).toBe('K1');
    expect(second?.access.isAccountManager).toBe(true);
    expect(second).toBe(first);
    expect(t.lookups).toHaveLength(1);
  });

  it('drops every cached token of a key when the key changes', async () => {
    const t = setup();
    const token = t.issue('K1');
    await verifyToken(t.verifier, token);
    t.rows.clear(); // the key was deleted
    t.verifier.invalidateKey('K1');
    expect(await verifyToken(t.verifier, token)).toBeNull();
    expect(t.lookups).toHaveLength(2);
  });

  it('never uses a cached token past its own expiry', async () => {
    const t = setup();
    const token = t.issue('K1', t.now() + 60_000);
    expect(await verifyToken(t.verifier, token)).not.toBeNull();
    t.advance(59_999);
    expect(await verifyToken(t.verifier, token)).not.toBeNull();
    t.advance(1);
    expect(await verifyToken(t.verifier, token)).toBeNull();
  });

  it('reads an entry again after maxAgeMs', async () => {
    const t = setup({ maxAgeMs: 1_000 });
    const token = t.issue('K1');
    await verifyToken(t.verifier, token);
    t.advance(999);
    await verifyToken(t.verifier, token);
    expect(t.lookups).toHaveLength(1);
    t.advance(1);
    await verifyToken(t.verifier, token);
    expect(t.lookups).toHaveLength(2);
  });

  it('keeps an entry for verification up to verificationMaxAgeMs, while authentication reads it again after maxAgeMs', async () => {
    const t = setup({ maxAgeMs: 1_000, verificationMaxAgeMs: 10_000 });
    const token = t.issue('K1');
    expect((await t.verifier.resolve(token, t.now(), true))?.caller.key.id).toBe('K1');
    t.advance(9_999);
    // Verification: from the cache, synchronously and through resolve.
    expect(t.verifier.resolveKnown(token, t.now())?.caller.key.id).toBe('K1');
    expect((await t.verifier.resolve(token, t.now(), true))?.caller.key.id).toBe('K1');
    expect(t.lookups).toHaveLength(1);
    t.advance(1);
    expect(t.verifier.resolveKnown(token, t.now())).toBeUndefined();
    expect((await t.verifier.resolve(token, t.now(), true))?.caller.key.id).toBe('K1');
    expect(t.lookups).toHaveLength(2);
    // Authentication: the same entry is read again past maxAgeMs (its lastUsedAt may be shown).
    t.advance(1_000);
    expect(knownCaller(t.verifier, token)).toBeUndefined();
    await verifyToken(t.verifier, token);
    expect(t.lookups).toHaveLength(3);
  });

  it('drops an entry kept for verification the moment its key changes, whatever its age', async () => {
    const t = setup({ maxAgeMs: 1_000, verificationMaxAgeMs: 60_000 });
    const token = t.issue('K1');
    await t.verifier.resolve(token, t.now(), true);
    t.advance(30_000);
    t.verifier.invalidateKey('K1');
    t.rows.clear();
    expect(t.verifier.resolveKnown(token, t.now())).toBeUndefined();
    expect(await t.verifier.resolve(token, t.now(), true)).toBeNull();
  });

  it('remembers unknown tokens, so a repeated bad token costs no lookup', async () => {
    const t = setup();
    const unknown = generateToken();
    expect(await verifyToken(t.verifier, unknown)).toBeNull();
    expect(knownCaller(t.verifier, unknown)).toBeNull();
    expect(await verifyToken(t.verifier, unknown)).toBeNull();
    expect(t.lookups).toHaveLength(1);
  });

  /** A verifier whose lookups wait until released, one gate per token. */
  function gated(t: ReturnType<typeof setup>, options: ConstructorParameters<typeof TokenVerifier>[2] = {}) {
    const gates = new Map<string, () => void>();
    const lookups: string[] = [];
    const slow: TokenLookup = {
      async find(hash) {
        lookups.push(hash);
        const row = t.rows.get(hash) ?? null;
        await new Promise<void>((resolve) => gates.set(hash, resolve));
        return row;
      },
    };
    const domain = { catalogue, now: () => new Date(t.now()) } as unknown as Domain;
    const verifier = new TokenVerifier(domain, slow, options);
    const release = async (token: string) => {
      await Promise.resolve(); // the lookup has started
      gates.get(hashToken(token))?.();
    };
    return { verifier, release, lookups };
  }

  it('does not cache a lookup that raced with an invalidation of its key', async () => {
    const t = setup();
    const token = t.issue('K1');
    const { verifier, release } = gated(t);
    const pending = verifyToken(verifier, token);
    verifier.invalidateKey('K1'); // e.g. a rotation committed while the lookup was in flight
    await release(token);
    expect(await pending).not.toBeNull();
    expect(verifier.size.verified).toBe(0);
  });

  it('caches a lookup that overlapped invalidations of other keys only (a busy write load)', async () => {
    const t = setup();
    const token = t.issue('K1');
    const { verifier, release, lookups } = gated(t);
    const pending = verifyToken(verifier, token);
    verifier.invalidateKey('K2');
    verifier.invalidateKey('K3');
    await release(token);
    expect((await pending)?.key.id).toBe('K1');
    expect(verifier.size.verified).toBe(1);
    expect(knownCaller(verifier, token)?.key.id).toBe('K1');
    expect(lookups).toHaveLength(1);
  });

  it('remembers an invalidation until every lookup it overlapped has finished', async () => {
    const t = setup();
    const first = t.issue('K1');
    const second = t.issue('K2');
    const { verifier, release } = gated(t);
    const one = verifyToken(verifier, first);
    const two = verifyToken(verifier, second);
    verifier.invalidateKey('K1');
    await release(second);
    await two; // K2's lookup ends first: K1's invalidation must still count for K1's
    await release(first);
    await one;
    expect(knownCaller(verifier, second)?.key.id).toBe('K2');
    expect(knownCaller(verifier, first)).toBeUndefined();
  });

  it('keeps a bounded record of invalidations: past it, every lookup in flight counts as raced', async () => {
    const t = setup();
    const token = t.issue('K1');
    const { verifier, release } = gated(t, { maxEntries: 3 });
    const pending = verifyToken(verifier, token);
    for (const other of ['K2', 'K3', 'K4', 'K5']) verifier.invalidateKey(other); // one more than the bound
    await release(token);
    expect((await pending)?.key.id).toBe('K1');
    expect(verifier.size.verified).toBe(0);
  });

  it('does not cache a lookup that overlapped switching the cache off and on', async () => {
    const t = setup();
    const token = t.issue('K1');
    const { verifier, release } = gated(t);
    const pending = verifyToken(verifier, token);
    verifier.setCacheEnabled(false);
    verifier.setCacheEnabled(true);
    await release(token);
    await pending;
    expect(verifier.size.verified).toBe(0);
  });

  it('with the cache switched off (invalidation channel down), every call looks up', async () => {
    const t = setup();
    const token = t.issue('K1');
    await verifyToken(t.verifier, token);
    t.verifier.setCacheEnabled(false);
    await verifyToken(t.verifier, token);
    await verifyToken(t.verifier, token);
    expect(t.lookups).toHaveLength(3);
    t.verifier.setCacheEnabled(true);
    await verifyToken(t.verifier, token);
    await verifyToken(t.verifier, token);
    expect(t.lookups).toHaveLength(4);
  });

  it('stays within its bounds', async () => {
    const t = setup({ maxEntries: 3, maxUnknown: 2 });
    for (let i = 0; i < 5; i++) await verifyToken(t.verifier, t.issue(`K${i}`));
    for (let i = 0; i < 5; i++) await verifyToken(t.verifier, generateToken());
    expect(t.verifier.size).toEqual({ verified: 3, unknown: 2 });
  });

  it('known() answers synchronously only what needs no lookup', async () => {
    const t = setup();
    const token = t.issue('K1');
    expect(knownCaller(t.verifier, null)).toBeNull();
    expect(knownCaller(t.verifier, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(knownCaller(t.verifier, token)).toBeUndefined(); // valid, but not verified yet: a lookup decides
    expect(t.lookups).toHaveLength(0);
    await verifyToken(t.verifier, token);
    expect(knownCaller(t.verifier, token)?.key.id).toBe('K1');
    t.verifier.invalidateKey('K1');
    expect(knownCaller(t.verifier, token)).toBeUndefined();
    const unknown = generateToken();
    expect(await verifyToken(t.verifier, unknown)).toBeNull();
    expect(knownCaller(t.verifier, unknown)).toBeNull();
    await verifyToken(t.verifier, token);
    t.advance(10 * 60_000); // past the entry's maximum age: read again
    expect(knownCaller(t.verifier, token)).toBeUndefined();
  });

  it('uses cached tokens only until the time trustCacheUntil set (no recent heartbeat: looked up)', async () => {
    const t = setup();
    const token = t.issue('K1');
    await verifyToken(t.verifier, token);
    t.verifier.trustCacheUntil(performance.now() - 1);
    expect(knownCaller(t.verifier, token)).toBeUndefined();
    await verifyToken(t.verifier, token);
    expect(t.lookups).toHaveLength(2);
    t.verifier.trustCacheUntil(performance.now() + 60_000);
    expect(knownCaller(t.verifier, token)?.key.id).toBe('K1'); // kept meanwhile, usable again
    await verifyToken(t.verifier, token);
    expect(t.lookups).toHaveLength(2);
  });

  // Read at every use of the cache (0), and at the first use past the reading's lifetime (20 ms).
  it.each([
    { every: 0, wait: 0 },
    { every: 20, wait: 30 },
  ])(
    'empties the cache when another process committed (externalChanges moved), and not otherwise (read every $every ms)',
    async ({ every, wait }) => {
      let version = 1;
      const t = setup({ externalChanges: () => version, externalChangesEveryMs: every });
      const token = t.issue('K1');
      await verifyToken(t.verifier, token);
      await verifyToken(t.verifier, token);
      expect(t.lookups).toHaveLength(1);
      version++;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      expect(knownCaller(t.verifier, token)).toBeUndefined();
      await verifyToken(t.verifier, token);
      await verifyToken(t.verifier, token);
      expect(t.lookups).toHaveLength(2);
    },
  );

  it('reads externalChanges once per externalChangesEveryMs for uses of the cache', async () => {
    let version = 1;
    let readings = 0;
    const externalChanges = () => {
      readings++;
      return version;
    };
    const t = setup({ externalChanges, externalChangesEveryMs: 60_000 });
    const token = t.issue('K1');
    await verifyToken(t.verifier, token); // a lookup: read before and after it
    const afterLookup = readings;
    expect(afterLookup).toBeGreaterThan(1);
    for (let i = 0; i < 5; i++) await verifyToken(t.verifier, token);
    expect(readings).toBe(afterLookup); // the lookup's reading holds for the minute
    version++;
    expect(knownCaller(t.verifier, token)?.key.id).toBe('K1'); // not read yet: the reading still holds
    expect(t.lookups).toHaveLength(1);
  });

  it('does not cache a lookup during which another process committed', async () => {
    let version = 1;
    const t = setup();
    const token = t.issue('K1');
    const { verifier, release } = gated(t, { externalChanges: () => version });
    const pending = verifyToken(verifier, token);
    version++;
    await release(token);
    await pending;
    expect(knownCaller(verifier, token)).toBeUndefined();
  });
});
