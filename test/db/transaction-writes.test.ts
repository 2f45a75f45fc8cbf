// Writes inside a transaction on the embedded database, straight on the connection it runs on
// (src/db/transaction-writes.ts; RawDriver's writeInTransaction, which the mutations' writes go through):
// such a write must be one of its transaction's (undone with it, seen by nothing else before it commits),
// store values exactly as Prisma would, and never run once its transaction has ended, neither on its own
// nor inside the next transaction.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { type Sql, sql } from '../../src/db/sql.ts';
import { createApiKey, deleteApiKey, rotateApiKey } from '../../src/domain/api-keys.ts';
import { createOrganization, createTeam, createUser } from '../../src/domain/organizations.ts';
import type { Domain } from '../../src/domain/types.ts';
import { createEmbeddedDomain, type EmbeddedDomain } from '../helpers/databases.ts';

describe('writes inside a transaction on the embedded database', () => {
  let test: EmbeddedDomain;
  let root: string;
  let database: Database;
  let domain: Domain;
  const heard: string[] = [];
  let n = 0;
  beforeAll(async () => {
    test = await createEmbeddedDomain({ busyTimeoutMs: 2_000, onQuery: (text) => heard.push(text) });
    ({ root, database, domain } = test);
  });
  afterAll(() => test.drop());

  const write = (tx: Parameters<Parameters<Database['prisma']['$transaction']>[0]>[0], statement: Sql) => {
    if (database.raw.provider !== 'sqlite') throw new Error('expected the embedded database');
    return database.raw.writeInTransaction(tx, statement);
  };
  /** An INSERT of a new organization, its name and its id. */
  const newOrganization = (): [Sql, string, string] => {
    const name = `organization ${++n}`;
    const id = `01M95N00000000000000W${String(n).padStart(5, '0')}`;
    return [
      sql`INSERT INTO "Organization" ("id", "name", "createdAt") VALUES (${id}, ${name}, ${new Date()})`,
      name,
      id,
    ];
  };
  const named = (name: string) => sql`SELECT "name" FROM "Organization" WHERE "name" = ${name}`;
  const exists = async (name: string) => (await domain.readRows(named(name))).rows.length === 1;

  it('run on the connection, heard as statements, seen by nothing else before the commit', async () => {
    const [insert, name] = newOrganization();
    heard.length = 0;
    await database.prisma.$transaction(async (tx) => {
      expect(await write(tx, insert)).toBe(1);
      expect(heard).toEqual([insert.sql]);
      // Resolves with the rows changed, as $executeRaw does (lockApiKey tells a missing key by 0).
      expect(await write(tx, sql`UPDATE "Organization" SET "name" = "name" WHERE "name" = 'nobody'`)).toBe(0);
      expect((await domain.transactionRows?.(named(name)))?.rows).toEqual([[name]]);
      expect(await exists(name)).toBe(false);
    });
    expect(await exists(name)).toBe(true);
  });

  it('are undone with their transaction', async () => {
    const [insert, name] = newOrganization();
    const attempt = database.prisma.$transaction(async (tx) => {
      await write(tx, insert);
      throw new Error('changed my mind');
    });
    await expect(attempt).rejects.toThrow('changed my mind');
    expect(await exists(name)).toBe(false);
  });

  it('store times and booleans as a write through Prisma does', async () => {
    const at = new Date('2026-03-04T05:06:07.089Z');
    const [organization, , organizationId] = newOrganization();
    const event = (id: string) =>
      sql`INSERT INTO "AuditEvent" ("id", "organizationId", "action", "createdAt", "targetKeyId", "targetKeyName", "targetHasAccountRoles")
          VALUES (${id}, ${organizationId}, 'test', ${at}, 'no key', 'no name', ${true})`;
    await database.prisma.$transaction(async (tx) => {
      await write(tx, organization);
      await write(tx, event('01M95N0000000000000000EV01'));
      await tx.$executeRaw(event('01M95N0000000000000000EV02'));
    });
    const stored = new BetterSqlite3(join(root, 'keygate.db'), { readonly: true });
    try {
      const rows = stored
        .prepare(
          `SELECT "createdAt", typeof("createdAt") AS t, "targetHasAccountRoles" AS b, typeof("targetHasAccountRoles") AS bt
             FROM "AuditEvent" WHERE "id" IN ('01M95N0000000000000000EV01', '01M95N0000000000000000EV02') ORDER BY "id"`,
        )
        .all();
      expect(rows).toEqual([
        { createdAt: '2026-03-04T05:06:07.089+00:00', t: 'text', b: 1, bt: 'integer' },
        { createdAt: '2026-03-04T05:06:07.089+00:00', t: 'text', b: 1, bt: 'integer' },
      ]);
    } finally {
      stored.close();
    }
  });

  it('never run after their transaction ended, on their own or inside the next transaction', async () => {
    const [late, lateName] = newOrganization();
    const [next, nextName] = newOrganization();
    let lateWrite: Promise<unknown> = Promise.resolve();
    let nextStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      nextStarted = resolve;
    });
    let lateDone!: () => void;
    const done = new Promise<void>((resolve) => {
      lateDone = resolve;
    });
    // Prisma ends a transaction that outlives its timeout (a ROLLBACK, the connection handed on) while
    // its callback goes on: this one writes once the next transaction is open on the connection.
    const expired = database.prisma.$transaction(
      async (tx) => {
        await started;
        lateWrite = write(tx, late);
        await lateWrite.catch(() => {});
        lateDone();
      },
      { timeout: 100 },
    );
    const following = database.prisma.$transaction(
      async (tx) => {
        nextStarted();
        await write(tx, next);
        await done;
      },
      { timeout: 5_000 },
    );
    await expect(expired).rejects.toThrow();
    await expect(lateWrite).rejects.toThrow();
    await following;
    expect(await exists(nextName)).toBe(true);
    expect(await exists(lateName)).toBe(false);
  });

  it("wait for another process's write lock, then write", async () => {
    const other = new BetterSqlite3(join(root, 'keygate.db'));
    const [insert, name] = newOrganization();
    try {
      other.exec('BEGIN IMMEDIATE');
      setTimeout(() => other.exec('COMMIT'), 200);
      const started = performance.now();
      await database.prisma.$transaction(async (tx) => {
        await write(tx, insert);
      });
      expect(performance.now() - started).toBeGreaterThanOrEqual(150);
      expect(await exists(name)).toBe(true);
    } finally {
      other.close();
    }
  });

  it('are how a creation, a rotation and a deletion write: none sends a raw statement through Prisma', async () => {
    const organization = await createOrganization(database.prisma, { name: 'writers' });
    const user = await createUser(database.prisma, organization.id, { email: 'w@example.com', name: 'w' });
    const team = await createTeam(database.prisma, organization.id, { name: 'team' });
    const operator = { kind: 'user' as const, organizationId: organization.id, userId: user.id };
    // Every transaction's client counts the statements sent through Prisma's $executeRaw and $queryRaw
    // (a creation counts the organization's keys against its limit, 10,000 by default, in a read).
    let throughPrisma = 0;
    const transaction = database.prisma.$transaction;
    database.prisma.$transaction = (run, options) =>
      transaction((tx) => {
        const executeRaw = tx.$executeRaw.bind(tx);
        tx.$executeRaw = ((...args: Parameters<typeof executeRaw>) => {
          throughPrisma++;
          return executeRaw(...args);
        }) as typeof tx.$executeRaw;
        const queryRaw = tx.$queryRaw.bind(tx);
        tx.$queryRaw = ((...args: Parameters<typeof queryRaw>) => {
          throughPrisma++;
          return queryRaw(...args);
        }) as typeof tx.$queryRaw;
        return run(tx);
      }, options);
    try {
      heard.length = 0;
      const { apiKey } = await createApiKey(domain, operator, {
        name: 'written straight',
        roleNames: ['viewer'],
        teamIds: [team.id],
        teamRoleNames: ['schedules_editor'],
      });
      await rotateApiKey(domain, operator, { id: apiKey.id, gracePeriodMinutes: 0 });
      await deleteApiKey(domain, operator, apiKey.id);
      expect(heard.filter((text) => /^(INSERT|UPDATE|DELETE)/.test(text.trim())).length).toBeGreaterThanOrEqual(8);
      expect(heard.some((text) => text.includes('COUNT(*)'))).toBe(true);
      // The team of the grants, read in a raw statement rather than Prisma's findMany.
      expect(heard.filter((text) => /^SELECT "id", "name" FROM "Team"/.test(text.trim()))).toHaveLength(1);
      expect(throughPrisma).toBe(0);
    } finally {
      database.prisma.$transaction = transaction;
    }
  });
});
