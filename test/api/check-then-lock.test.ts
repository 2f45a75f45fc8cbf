// A change is authorized twice: by its scope check (a plain read of the target), then inside its
// transaction, after locking the target. Updates count themselves as they lock (ApiKey.version), and
// the transaction reuses the grants the check read only when the count shows that no update came in
// between; the key's own columns come from the lock (src/domain/store.ts, lockApiKey). Here another
// change lands between the two, and the second decision must be taken on the key as it is then, never
// on what the check saw.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Access } from '../../src/domain/access.ts';
import {
  checkDelete,
  checkRotate,
  checkUpdate,
  deleteApiKey,
  rotateApiKey,
  updateApiKey,
} from '../../src/domain/api-keys.ts';
import { readApiKey } from '../../src/domain/store.ts';
import type { Caller } from '../../src/domain/types.ts';
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

  async function caller(id: string): Promise<Caller> {
    const record = await readApiKey(t.domain.db, t.domain, org.id, id);
    if (!record) throw new Error(`no key ${id}`);
    return { key: record, access: new Access(t.domain.catalogue, record.grants) };
  }

  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => 'ok',
      (error: { code?: string }) => error.code ?? String(error),
    );

  beforeAll(async () => {
    t = await createTestApp(provider, { onQuery: (sql) => statements?.push(sql) });
    org = await t.org();
    manager = await caller((await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] })).id);
    admin = await caller((await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_editor'] })).id);
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

  it('rotate: the check saw grants the manager covers, then an update gave the key more: FORBIDDEN', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const { target: seen } = await checkRotate(t.domain, manager, { id: target.id });
    await giveIncidentEditor(target.id);
    expect(await code(rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }, seen))).toBe(
      'FORBIDDEN',
    );
  });

  it('update: the check saw api_keys_manage on the key, then an update took it away: keeping it is now granting it, FORBIDDEN', async () => {
    const target = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const input = { id: target.id, name: 'target', roleNames: ['api_keys_manage', 'viewer'] };
    const { target: seen } = await checkUpdate(t.domain, manager, input);
    await updateApiKey(t.domain, admin, { id: target.id, name: 'target', roleNames: ['viewer'] });
    expect(await code(updateApiKey(t.domain, manager, input, seen))).toBe('FORBIDDEN');
    const now = await readApiKey(t.domain.db, t.domain, org.id, target.id);
    expect(now?.grants.roleNames).toEqual(['viewer']);
  });

  it('delete: the same', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const seen = await checkDelete(t.domain, manager, target.id);
    await giveIncidentEditor(target.id);
    // A key the manager does not cover is still visible to it (an account manager sees every key);
    // the deletion is allowed by docs/rules.md, so it goes through, on the key as it is now.
    expect(await code(deleteApiKey(t.domain, manager, target.id, seen))).toBe('ok');
    expect(await readApiKey(t.domain.db, t.domain, org.id, target.id)).toBeNull();
  });

  it('rotate: renamed in between, the rotation answers with the new name', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const { target: seen } = await checkRotate(t.domain, manager, { id: target.id });
    await updateApiKey(t.domain, admin, { id: target.id, name: 'new name', roleNames: ['viewer'] });
    const rotated = await rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }, seen);
    expect(rotated.apiKey.name).toBe('new name');
  });

  it('rotate: deleted in between, NOT_FOUND', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const { target: seen } = await checkRotate(t.domain, manager, { id: target.id });
    await deleteApiKey(t.domain, admin, target.id);
    expect(await code(rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }, seen))).toBe(
      'NOT_FOUND',
    );
  });

  it("rotate: rotated in between by another manager, the second rotation still works on the key's current tokens", async () => {
    const target = await org.key({ roles: ['viewer'] });
    const { target: seen } = await checkRotate(t.domain, manager, { id: target.id });
    const first = await rotateApiKey(t.domain, admin, { id: target.id, gracePeriodMinutes: 60 });
    const second = await rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }, seen);
    expect(second.apiKey.tokenLastIssuedAt.getTime()).toBeGreaterThanOrEqual(first.apiKey.tokenLastIssuedAt.getTime());
    // The token the first rotation issued was current until the second one: it stops at once.
    expect((await t.gql(first.token, '{ currentApiKey { id } }')).code).toBe('UNAUTHENTICATED');
    expect((await t.gql(second.token, '{ currentApiKey { id } }')).data).toEqual({ currentApiKey: { id: target.id } });
  });

  it('unchanged in between: the change goes through on what the check read', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const { target: seen } = await checkRotate(t.domain, manager, { id: target.id });
    const rotated = await rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }, seen);
    expect(rotated.apiKey).toMatchObject({ id: target.id, name: seen.name, grants: seen.grants });
  });

  it('rotate: rotated in between, the lock still reuses what the check read (a rotation does not count as a change of grants)', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const { target: seen } = await checkRotate(t.domain, manager, { id: target.id });
    const alone = await counted(() => rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }, seen));
    const { target: seenAgain } = await checkRotate(t.domain, manager, { id: target.id });
    const between = await rotateApiKey(t.domain, admin, { id: target.id, gracePeriodMinutes: 0 });
    const after = await counted(() =>
      rotateApiKey(t.domain, manager, { id: target.id, gracePeriodMinutes: 0 }, seenAgain),
    );
    // No statement more than without the rotation in between: the grants were not read again.
    expect(after.count).toBe(alone.count);
    // The key's own columns are as the lock found them, and then as this rotation left them.
    expect(after.result.apiKey.tokenLastIssuedAt.getTime()).toBeGreaterThanOrEqual(
      between.apiKey.tokenLastIssuedAt.getTime(),
    );
    expect(after.result.apiKey).toMatchObject({ name: seen.name, grants: seen.grants });
  });

  it('update: rotated in between, the update answers with the key as the rotation left it', async () => {
    const target = await org.key({ roles: ['viewer'] });
    const input = { id: target.id, name: 'renamed', roleNames: ['viewer', 'incident_creator'] };
    const { target: seen } = await checkUpdate(t.domain, manager, input);
    t.clock.advance(60_000);
    const rotated = await rotateApiKey(t.domain, admin, { id: target.id, gracePeriodMinutes: 0 });
    expect(rotated.apiKey.tokenLastIssuedAt.getTime()).toBeGreaterThan(seen.tokenLastIssuedAt.getTime());
    const updated = await updateApiKey(t.domain, manager, input, seen);
    expect(updated.tokenLastIssuedAt).toEqual(rotated.apiKey.tokenLastIssuedAt);
    expect(updated.grants.roleNames).toEqual(['viewer', 'incident_creator']);
    expect(await readApiKey(t.domain.db, t.domain, org.id, target.id)).toMatchObject({
      name: 'renamed',
      tokenLastIssuedAt: rotated.apiKey.tokenLastIssuedAt,
    });
  });
});
