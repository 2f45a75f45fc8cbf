// A change is gated first by scope-auth, which judges the caller alone (a manager passes without its
// target being read), then judged once inside its transaction, on the target as its lock found it
// (src/store/api-keys.ts, lockApiKey). Here another change lands between the gate and the transaction,
// and the decision must be taken on the key as it is then.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiKey,
  deleteApiKey,
  mayDeleteApiKey,
  mayRotateApiKey,
  mayUpdateApiKey,
  rotateApiKey,
  updateApiKey,
} from '../../src/domain/api-keys.ts';
import type { Caller } from '../../src/domain/types.ts';
import { readApiKey } from '../../src/store/api-keys.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

describe.each(providers)('a change whose target changed after its check, on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  /** Covers viewer and incident_creator, not incident_editor. */
  let manager: Caller;
  /** Covers incident_editor too. */
  let admin: Caller;
  /** Statements sent while counting (see counted). */
  let statements: string[] | null = null;

  /** The caller of a token, as authentication makes it (the token's key, its grants, the token itself). */
  async function caller(token: string): Promise<Caller> {
    const found = await t.verifier.resolve(token, t.domain.now().getTime());
    if (!found) throw new Error('no such token');
    return found.caller;
  }

  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => 'ok',
      (error: { code?: string }) => error.code ?? String(error),
    );

  beforeAll(async () => {
    t = await createTestApp(provider, { onQuery: (sql) => statements?.push(sql) });
    org = await t.org();
    manager = await caller((await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] })).token);
    admin = await caller((await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_editor'] })).token);
  });
  afterAll(() => t.close());

  /** What `run` returns, and how many statements it sent. */
  async function counted<T>(run: () => Promise<T>): Promise<{ result: T; count: number }> {
    statements = [];
    try {
      const result = await run();
      return { result, count: statements.length };
    } finally {
      statements = null;
    }
  }

  const giveIncidentEditor = (id: string, name = 'target') =>
    updateApiKey(t.domain, admin, { id, name, roleNames: ['incident_editor'] });

  /** The gate lets the manager through (it judges the caller alone, without reading the target). */
  const gate = (passed: true | Promise<true>) => expect(passed).toBe(true);

  it('rotate: the gate passed, then an update gave the key more than the manager covers: FORBIDDEN', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const input = { id: target.id, gracePeriodMinutes: 0 };
    gate(mayRotateApiKey(manager, input));
    await giveIncidentEditor(target.id);
    expect(await code(rotateApiKey(t.domain, manager, input))).toBe('FORBIDDEN');
  });

  it('update: the gate passed while the key held api_keys_manage, then an update took it away: keeping it is now granting it, FORBIDDEN', async () => {
    const target = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const input = { id: target.id, name: 'target', roleNames: ['api_keys_manage', 'viewer'] };
    gate(mayUpdateApiKey(t.domain, manager, input));
    await updateApiKey(t.domain, admin, { id: target.id, name: 'target', roleNames: ['viewer'] });
    expect(await code(updateApiKey(t.domain, manager, input))).toBe('FORBIDDEN');
    const now = await readApiKey(t.domain.db, t.domain, org.id, target.id);
    expect(now?.grants.roleNames).toEqual(['viewer']);
  });

  it('delete: the same', async () => {
    const target = await org.key({ roles: ['viewer'] });
    gate(mayDeleteApiKey(manager, target.id));
    await giveIncidentEditor(target.id);
    // A key the manager does not cover is still visible to it (an account manager sees every key);
    // the deletion is allowed by docs/rules.md, so it goes through, on the key as it is now.
    expect(await code(deleteApiKey(t.domain, manager, target.id))).toBe('ok');
    expect(await readApiKey(t.domain.db, t.domain, org.id, target.id)).toBeNull();
  });

  it('rotate: renamed in between, the rotation answers with the new name', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const input = { id: target.id, gracePeriodMinutes: 0 };
    gate(mayRotateApiKey(manager, input));
    await updateApiKey(t.domain, admin, { id: target.id, name: 'new name', roleNames: ['viewer'] });
    const rotated = await rotateApiKey(t.domain, manager, input);
    expect(rotated.apiKey.name).toBe('new name');
  });

  it('rotate: deleted in between, NOT_FOUND', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const input = { id: target.id, gracePeriodMinutes: 0 };
    gate(mayRotateApiKey(manager, input));
    await deleteApiKey(t.domain, admin, target.id);
    expect(await code(rotateApiKey(t.domain, manager, input))).toBe('NOT_FOUND');
  });

  it("rotate: rotated in between by another manager, the second rotation still works on the key's current tokens", async () => {
    const target = await org.key({ roles: ['viewer'] });
    gate(mayRotateApiKey(manager, { id: target.id }));
    const first = await rotateApiKey(t.domain, admin, { id: target.id, gracePeriodMinutes: 60 });
    const second = await rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 });
    expect(second.apiKey.tokenLastIssuedAt.getTime()).toBeGreaterThanOrEqual(first.apiKey.tokenLastIssuedAt.getTime());
    // The token the first rotation issued was current until the second one: it stops at once.
    expect((await t.gql(first.token, '{ currentApiKey { id } }')).code).toBe('UNAUTHENTICATED');
    expect((await t.gql(second.token, '{ currentApiKey { id } }')).data).toEqual({ currentApiKey: { id: target.id } });
  });

  it('a change reads its target once, whatever came in between: a rotation costs as many statements after another rotation as alone', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const before = await readApiKey(t.domain.db, t.domain, org.id, target.id);
    const alone = await counted(() => rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }));
    const between = await rotateApiKey(t.domain, admin, { id: target.id, gracePeriodMinutes: 0 });
    const after = await counted(() => rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }));
    expect(after.count).toBe(alone.count);
    // The key's own columns are as the lock found them, and then as this rotation left them.
    expect(after.result.apiKey.tokenLastIssuedAt.getTime()).toBeGreaterThanOrEqual(
      between.apiKey.tokenLastIssuedAt.getTime(),
    );
    expect(after.result.apiKey).toMatchObject({ name: before?.name, grants: before?.grants });
  });

  it('update: rotated in between, the update answers with the key as the rotation left it', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const input = { id: target.id, name: 'renamed', roleNames: ['viewer', 'incident_creator'] };
    const before = await readApiKey(t.domain.db, t.domain, org.id, target.id);
    gate(mayUpdateApiKey(t.domain, manager, input));
    t.clock.advance(60_000);
    const rotated = await rotateApiKey(t.domain, admin, { id: target.id, gracePeriodMinutes: 0 });
    expect(rotated.apiKey.tokenLastIssuedAt.getTime()).toBeGreaterThan(before?.tokenLastIssuedAt.getTime() ?? 0);
    const updated = await updateApiKey(t.domain, manager, input);
    expect(updated.tokenLastIssuedAt).toEqual(rotated.apiKey.tokenLastIssuedAt);
    expect(updated.grants.roleNames).toEqual(['viewer', 'incident_creator']);
    expect(await readApiKey(t.domain.db, t.domain, org.id, target.id)).toMatchObject({
      name: 'renamed',
      tokenLastIssuedAt: rotated.apiKey.tokenLastIssuedAt,
    });
  });

  describe("the caller's token changed after it was authenticated: the change judges the token as it is now", () => {
    /** A manager key of its own, authenticated (its caller as a request would hold it), and its token. */
    async function authenticatedManager() {
      const key = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] });
      return { ...key, caller: await caller(key.token) };
    }
    const keysNamed = async (name: string) => t.domain.db.apiKey.count({ where: { organizationId: org.id, name } });
    const creation = (name: string) => ({ name, roleNames: ['viewer'], teamIds: [], teamRoleNames: [] });

    it('rotated away with grace 0: UNAUTHENTICATED, nothing written (create, update, rotate, delete)', async () => {
      const target = await org.key({ roles: ['viewer'] }, 'kept target');
      for (const change of ['create', 'update', 'rotate', 'delete'] as const) {
        const stale = await authenticatedManager();
        await rotateApiKey(t.domain, admin, { id: stale.id, gracePeriodMinutes: 0 });
        const run = {
          create: () => createApiKey(t.domain, { kind: 'key', caller: stale.caller }, creation('by a revoked token')),
          update: () => updateApiKey(t.domain, stale.caller, { id: target.id, name: 'renamed', roleNames: ['viewer'] }),
          rotate: () => rotateApiKey(t.domain, stale.caller, { id: stale.id, gracePeriodMinutes: 0 }),
          delete: () => deleteApiKey(t.domain, stale.caller, target.id),
        }[change];
        expect(await code(run()), change).toBe('UNAUTHENTICATED');
      }
      expect(await keysNamed('by a revoked token')).toBe(0);
      expect(await readApiKey(t.domain.db, t.domain, org.id, target.id)).toMatchObject({ name: 'kept target' });
    });

    /**
     * Another process's change of the key, open: on PostgreSQL it holds the key's row lock (as a rotation
     * or deletion does, targetLock), on SQLite the database's write lock. `change` runs against it.
     */
    async function openChangeOf(keyId: string, change: 'delete' | 'expired' | 'grace') {
      const minutes = { delete: 0, expired: -1, grace: 5 }[change];
      const at = new Date(Date.now() + minutes * 60_000);
      if (t.db.config.provider === 'postgresql') {
        const other = new pg.Client({ connectionString: t.db.config.url });
        await other.connect();
        await other.query('BEGIN');
        await other.query('SELECT 1 FROM "ApiKey" WHERE "id" = $1 FOR UPDATE', [keyId]);
        if (change === 'delete') await other.query('DELETE FROM "ApiKeyToken" WHERE "apiKeyId" = $1', [keyId]);
        else
          await other.query(
            'UPDATE "ApiKeyToken" SET "expiresAt" = $2::timestamptz AT TIME ZONE \'UTC\' WHERE "apiKeyId" = $1',
            [keyId, at.toISOString()],
          );
        return async () => {
          await other.query('COMMIT');
          await other.end();
        };
      }
      const other = new BetterSqlite3(join(t.db.config.dataDir, 'keygate.db'));
      other.exec('BEGIN IMMEDIATE');
      if (change === 'delete') other.prepare('DELETE FROM "ApiKeyToken" WHERE "apiKeyId" = ?').run(keyId);
      else {
        const text = at.toISOString().replace('Z', '+00:00');
        other.prepare('UPDATE "ApiKeyToken" SET "expiresAt" = ? WHERE "apiKeyId" = ?').run(text, keyId);
      }
      return async () => {
        other.exec('COMMIT');
        other.close();
      };
    }

    // A change of the caller's key in flight (another process's rotation or deletion): the change waits
    // for it, then judges the token as that change left it.
    it('changed while the change waited for its key: judged as the other change left it (removed, or its grace set)', async () => {
      const cases = [
        { change: 'delete', expected: 'UNAUTHENTICATED' },
        { change: 'expired', expected: 'UNAUTHENTICATED' },
        // A key that never expires would outlive the token's grace period.
        { change: 'grace', expected: 'FORBIDDEN' },
      ] as const;
      for (const { change, expected } of cases) {
        const stale = await authenticatedManager();
        const commit = await openChangeOf(stale.id, change);
        const created = code(createApiKey(t.domain, { kind: 'key', caller: stale.caller }, creation('raced')));
        // The creation is waiting for the other change's lock.
        await new Promise((resolve) => setTimeout(resolve, 200));
        await commit();
        expect(await created, change).toBe(expected);
      }
      expect(await keysNamed('raced')).toBe(0);
    });

    it('replaced with a grace period: held to its grace end, and it cannot rotate its key again (FORBIDDEN)', async () => {
      t.clock.freeze();
      const stale = await authenticatedManager();
      const rotated = await rotateApiKey(t.domain, admin, { id: stale.id, gracePeriodMinutes: 5 });
      expect(await code(rotateApiKey(t.domain, stale.caller, { id: stale.id, gracePeriodMinutes: 0 }))).toBe(
        'FORBIDDEN',
      );
      expect(
        await code(createApiKey(t.domain, { kind: 'key', caller: stale.caller }, creation('outlives the grace'))),
      ).toBe('FORBIDDEN');
      expect(await keysNamed('outlives the grace')).toBe(0);
      // The token the rotation issued is still the key's current one.
      expect((await t.gql(rotated.token, '{ currentApiKey { id } }')).data).toEqual({
        currentApiKey: { id: stale.id },
      });

      // Once the grace period is over, the token authenticates nothing.
      t.clock.advance(5 * 60_000);
      expect(await code(deleteApiKey(t.domain, stale.caller, stale.id))).toBe('UNAUTHENTICATED');
      expect(await readApiKey(t.domain.db, t.domain, org.id, stale.id)).not.toBeNull();
      t.clock.real();
    });
  });
});
