// Reads inside a transaction on the embedded database, straight on the connection it runs on
// (Domain.transactionRows; src/db/client.ts, RawDriver's writer): a mutation re-reads its caller and
// its target so, without Prisma's cost per query. Such a read must be one of the transaction's: it sees
// what the transaction wrote and nothing else does, and it shares the transaction's snapshot, so a
// commit by another process after it makes the transaction's writes fail rather than go through on a
// stale read.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { sql } from '../../src/db/sql.ts';
import type { Domain } from '../../src/domain/types.ts';
import { createEmbeddedDomain, type EmbeddedDomain } from '../helpers/databases.ts';

describe('reads inside a transaction on the embedded database', () => {
  let test: EmbeddedDomain;
  let root: string;
  let database: Database;
  let domain: Domain;
  beforeAll(async () => {
    // A short wait for another process's lock: the stale write below fails after it.
    test = await createEmbeddedDomain({ busyTimeoutMs: 200 });
    ({ root, database, domain } = test);
  });
  afterAll(() => test.drop());

  const named = (name: string) => sql`SELECT "name" FROM "Organization" WHERE "name" = ${name}`;

  it("see the transaction's own writes, which no other read sees before it commits", async () => {
    const read = domain.transactionRows;
    if (!read) throw new Error('expected transactionRows on the embedded database');
    await database.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`INSERT INTO "Organization" ("id", "name", "createdAt") VALUES ('01M95N0000000000000000TX01', 'in flight', '2026-01-01T00:00:00.000+00:00')`;
      expect((await read(named('in flight'))).rows).toEqual([['in flight']]);
      expect((await domain.readRows(named('in flight'))).rows).toEqual([]);
    });
    expect((await domain.readRows(named('in flight'))).rows).toEqual([['in flight']]);
  });

  it("share the transaction's snapshot: a commit by another process after the read fails the transaction's write", async () => {
    const read = domain.transactionRows;
    if (!read) throw new Error('expected transactionRows on the embedded database');
    const other = new BetterSqlite3(join(root, 'keygate.db'));
    try {
      const attempt = database.prisma.$transaction(async (tx) => {
        // The read starts the transaction's snapshot, as a Prisma read would.
        expect((await read(named('elsewhere'))).rows).toEqual([]);
        other
          .prepare(`INSERT INTO "Organization" ("id", "name", "createdAt") VALUES (?, ?, ?)`)
          .run('01M95N0000000000000000TX02', 'elsewhere', '2026-01-01T00:00:00.000+00:00');
        await tx.$executeRaw`UPDATE "Organization" SET "name" = 'stale write' WHERE "name" = 'in flight'`;
      });
      await expect(attempt).rejects.toThrow();
      expect((await domain.readRows(named('stale write'))).rows).toEqual([]);
    } finally {
      other.close();
    }
  });
});
