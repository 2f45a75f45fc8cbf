// The caller is judged again inside its mutation's transaction (issue 12, finding 2): a request that
// authenticated, then saw its own key deleted (or its grants cut) before its transaction ran, writes
// nothing and answers UNAUTHENTICATED (or FORBIDDEN). A deletion takes effect for requests in flight.
//
// The deterministic tests hold a request at the start of its transaction (the Prisma client's
// $transaction is wrapped for one call) while the admin's change commits; the race test sends the
// deleted key's creates together with the deletion and checks that none commits after it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { CREATE_ID, DELETE, ROTATE_TOKEN, WHOAMI } from '../helpers/documents.ts';

const UPDATE = `mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id } } }`;

describe.each(providers)('the caller re-checked in the transaction, on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let admin: { id: string; token: string };

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    admin = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] }, 'admin');
  });
  afterAll(() => t.close());

  /**
   * Holds the next transaction the app starts until `release` is called; `arrived` resolves when it
   * is held (its request has authenticated and passed its scope check).
   */
  function holdNextTransaction(): { arrived: Promise<void>; release: () => void } {
    const db = t.domain.db as unknown as { $transaction: (...args: unknown[]) => Promise<unknown> };
    const original = db.$transaction;
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => {
      arrive = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    db.$transaction = async (...args: unknown[]) => {
      db.$transaction = original;
      arrive();
      await released;
      return original.apply(db, args);
    };
    return { arrived, release };
  }

  const keysCreatedBy = (creatorKeyId: string) => t.domain.db.apiKey.count({ where: { creatorKeyId } });

  async function manager(name: string) {
    const key = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] }, name);
    expect((await t.gql(key.token, WHOAMI)).code).toBeUndefined();
    return key;
  }

  it('a create in flight when its key is deleted: UNAUTHENTICATED, nothing written', async () => {
    const m = await manager('deleted in flight (create)');
    const held = holdNextTransaction();
    const create = t.gql(m.token, CREATE_ID, { input: { name: 'made by a deleted key', roleNames: ['viewer'] } });
    await held.arrived;
    expect((await t.gql(admin.token, DELETE, { input: { id: m.id } })).code).toBeUndefined();
    held.release();
    const answer = await create;
    expect(answer.code).toBe('UNAUTHENTICATED');
    expect(answer.status).toBe(401); // as every UNAUTHENTICATED answer (docs/api.md)
    expect(answer.data).toBeNull();
    expect(await keysCreatedBy(m.id)).toBe(0);
    expect(await t.domain.db.apiKey.count({ where: { name: 'made by a deleted key' } })).toBe(0);
  });

  it('a rotation and an update in flight when their key is deleted: UNAUTHENTICATED, the target unchanged', async () => {
    const target = await org.key({ roles: ['viewer'] }, 'target of a deleted key');
    const before = await t.domain.db.apiKey.findUniqueOrThrow({ where: { id: target.id } });
    for (const [query, input] of [
      [ROTATE_TOKEN, { id: target.id, gracePeriodMinutes: 0 }],
      [UPDATE, { id: target.id, name: 'renamed by a deleted key', roleNames: [], teamIds: [], teamRoleNames: [] }],
      [DELETE, { id: target.id }],
    ] as const) {
      const m = await manager(`deleted in flight (${query.slice(9, 25)})`);
      const held = holdNextTransaction();
      const change = t.gql(m.token, query, { input });
      await held.arrived;
      expect((await t.gql(admin.token, DELETE, { input: { id: m.id } })).code).toBeUndefined();
      held.release();
      expect((await change).code).toBe('UNAUTHENTICATED');
    }
    const after = await t.domain.db.apiKey.findUniqueOrThrow({ where: { id: target.id } });
    expect(after.name).toBe(before.name);
    expect(after.tokenLastIssuedAt).toEqual(before.tokenLastIssuedAt);
    expect((await t.gql(target.token, WHOAMI)).data).toEqual({ currentApiKey: { id: target.id } });
  });

  it('a create in flight when its key lost the role it grants: FORBIDDEN, nothing written', async () => {
    const m = await manager('cut in flight');
    const held = holdNextTransaction();
    const create = t.gql(m.token, CREATE_ID, {
      input: { name: 'granted by a cut key', roleNames: ['incident_creator'] },
    });
    await held.arrived;
    const cut = await t.gql(admin.token, UPDATE, {
      input: {
        id: m.id,
        name: 'cut in flight',
        roleNames: ['api_keys_manage', 'viewer'],
        teamIds: [],
        teamRoleNames: [],
      },
    });
    expect(cut.code).toBeUndefined();
    held.release();
    const answer = await create;
    expect(answer.code).toBe('FORBIDDEN');
    expect(answer.errors?.[0]?.message).toMatch(/incident_creator/);
    expect(await keysCreatedBy(m.id)).toBe(0);
  });

  it('a key that deletes itself then creates (two requests, the create already in flight): nothing created', async () => {
    const m = await manager('deletes itself');
    const held = holdNextTransaction();
    const create = t.gql(m.token, CREATE_ID, { input: { name: 'after self-deletion', roleNames: ['viewer'] } });
    await held.arrived;
    expect((await t.gql(m.token, DELETE, { input: { id: m.id } })).code).toBeUndefined();
    held.release();
    expect((await create).code).toBe('UNAUTHENTICATED');
    expect(await keysCreatedBy(m.id)).toBe(0);
  });

  /** When the audit log says `action` was done to or by the key `id` (each event's time, ms). */
  async function auditTimes(filter: { targetKeyId?: string; actorKeyId?: string }, action: string) {
    const events = await t.domain.db.auditEvent.findMany({ where: { ...filter, action } });
    return events.map((event) => event.createdAt.getTime());
  }

  it('an admin deletes a manager key while it sends many creates: none commits after the deletion (5 rounds of 15)', async () => {
    for (let round = 0; round < 5; round++) {
      const m = await manager(`flooding ${round}`);
      const creates = Array.from({ length: 15 }, (_, i) =>
        t.gql(m.token, CREATE_ID, { input: { name: `flood ${round}.${i}`, roleNames: ['viewer'] } }),
      );
      const deleted = await t.gql(admin.token, DELETE, { input: { id: m.id } });
      expect(deleted.code).toBeUndefined();
      // The deletion waited for the creates in flight before it took its time: the log's order is the
      // order the changes committed in.
      const [deletedAt] = await auditTimes({ targetKeyId: m.id }, 'api_key.deleted');
      for (const createdAt of await auditTimes({ actorKeyId: m.id }, 'api_key.created')) {
        expect(createdAt).toBeLessThanOrEqual(deletedAt as number);
      }
      // Committed by the time the deletion answered: at most these may exist.
      const atDeletion = await keysCreatedBy(m.id);
      const answers = await Promise.all(creates);
      expect(await keysCreatedBy(m.id)).toBe(atDeletion);
      // Every create either succeeded (and then committed before the deletion) or wrote nothing.
      const succeeded = answers.filter((answer) => answer.code === undefined).length;
      expect(succeeded).toBe(atDeletion);
      for (const answer of answers) expect([undefined, 'UNAUTHENTICATED']).toContain(answer.code);
    }
  });

  it('an admin rotates a manager key (grace 0) while it sends many creates: none commits after the rotation (5 rounds of 15)', async () => {
    for (let round = 0; round < 5; round++) {
      const m = await manager(`flooding, rotated ${round}`);
      const creates = Array.from({ length: 15 }, (_, i) =>
        t.gql(m.token, CREATE_ID, { input: { name: `rotated flood ${round}.${i}`, roleNames: ['viewer'] } }),
      );
      const rotated = await t.gql(admin.token, ROTATE_TOKEN, { input: { id: m.id, gracePeriodMinutes: 0 } });
      expect(rotated.code).toBeUndefined();
      const atRotation = await keysCreatedBy(m.id);
      const answers = await Promise.all(creates);
      // The rotation waited for the creates its key had in flight: none of the revoked token's commits
      // after it, and each is logged before it.
      expect(await keysCreatedBy(m.id)).toBe(atRotation);
      expect(answers.filter((answer) => answer.code === undefined).length).toBe(atRotation);
      for (const answer of answers) {
        expect([undefined, 'UNAUTHENTICATED']).toContain(answer.code);
        expect(answer.status).toBe(answer.code ? 401 : 200);
      }
      const [rotatedAt] = await auditTimes({ targetKeyId: m.id }, 'api_key.rotated');
      for (const createdAt of await auditTimes({ actorKeyId: m.id }, 'api_key.created')) {
        expect(createdAt).toBeLessThanOrEqual(rotatedAt as number);
      }
    }
  });

  it('two manager keys deleting each other at once: one deletion wins, the other is UNAUTHENTICATED (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const a = await manager(`mutual ${round} a`);
      const b = await manager(`mutual ${round} b`);
      const answers = await Promise.all([
        t.gql(a.token, DELETE, { input: { id: b.id } }),
        t.gql(b.token, DELETE, { input: { id: a.id } }),
      ]);
      expect(answers.map((answer) => answer.code ?? 'deleted').sort()).toEqual(['UNAUTHENTICATED', 'deleted']);
      const left = await t.domain.db.apiKey.count({ where: { id: { in: [a.id, b.id] } } });
      expect(left).toBe(1);
    }
  });
});
