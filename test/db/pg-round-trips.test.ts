// PostgreSQL transactions whose BEGIN and writes are not waited for (src/db/pg-round-trips.ts): sent
// without waiting, statements must behave as if sent one by one (in order, each seeing what the ones
// before it did and what committed before it started); a write that fails must fail the statement read
// after it, or the COMMIT, leave nothing written and no connection inside a transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SENT_WITH_NEXT } from '../../src/db/pg-round-trips.ts';
import { raw, sql } from '../../src/db/sql.ts';
import { createTestDatabase, providers, type TestDatabase } from '../helpers/databases.ts';

describe.skipIf(!providers.includes('postgresql'))('transactions that do not wait for BEGIN and their writes', () => {
  let test: TestDatabase;
  /** Statements sent: [text, whether its answer was waited for]. */
  let sent: Array<[string, boolean]> = [];
  let n = 0;

  beforeAll(async () => {
    test = await createTestDatabase('postgresql', {
      open: { onStatement: (text, awaited) => sent.push([text, awaited]) },
    });
  });
  afterAll(() => test.drop());

  const prisma = () => test.database.prisma;
  const newId = () => `01M95P00000000000000X${String(++n).padStart(5, '0')}`;
  const insert = (id: string, name: string) =>
    sql`${raw(SENT_WITH_NEXT)}INSERT INTO "Organization" ("id", "name", "createdAt") VALUES (${id}, ${name}, ${new Date()})`;
  const names = async (ids: string[]) =>
    (
      await prisma().$queryRaw<Array<{ name: string }>>(
        sql`SELECT "name" FROM "Organization" WHERE "id" IN (${raw(ids.map((id) => `'${id}'`).join(', '))}) ORDER BY "id"`,
      )
    ).map((row) => row.name);
  const kinds = () =>
    sent.map(
      ([text, awaited]) => `${awaited ? 'read' : 'unread'} ${text.replace(/^\/\*[^*]*\*\/ /, '').split(' ')[0]}`,
    );

  it('BEGIN and the writes are not waited for; each statement read after them sees what they did', async () => {
    const [a, b] = [newId(), newId()];
    sent = [];
    const seen = await prisma().$transaction(async (tx) => {
      const before = await tx.$queryRaw<Array<{ n: bigint }>>`SELECT COUNT(*) AS "n" FROM "Organization"`;
      await tx.$executeRaw(insert(a, "O'Brien's \\ organization"));
      const mine = await tx.$queryRaw<Array<{ name: string }>>`SELECT "name" FROM "Organization" WHERE "id" = ${a}`;
      await tx.$executeRaw(insert(b, 'second'));
      return { before: Number(before[0]?.n), mine: mine[0]?.name };
    });
    expect(seen.mine).toBe("O'Brien's \\ organization");
    expect(kinds()).toEqual([
      'unread BEGIN',
      'read SELECT',
      'unread INSERT',
      'read SELECT',
      'unread INSERT',
      'read COMMIT',
    ]);
    expect(await names([a, b])).toEqual(["O'Brien's \\ organization", 'second']);
  });

  it('a write that fails fails the COMMIT with its own error: nothing written, no connection left in a transaction', async () => {
    const [a, b] = [newId(), newId()];
    await expect(
      prisma().$transaction(async (tx) => {
        await tx.$executeRaw(insert(a, 'kept?'));
        await tx.$executeRaw(insert(a, 'the same id again'));
      }),
    ).rejects.toThrow(/UniqueConstraintViolation|duplicate key/);
    expect(await names([a])).toEqual([]);
    const [open] = await prisma().$queryRaw<Array<{ n: bigint }>>`
      SELECT COUNT(*) AS "n" FROM pg_stat_activity WHERE "datname" = current_database() AND "state" LIKE 'idle in transaction%'`;
    expect(Number(open?.n)).toBe(0);
    // Every connection of the pool works (ten at once take all of them), and the next transaction
    // commits its own write, not the failed one's.
    await Promise.all(Array.from({ length: 10 }, () => prisma().$queryRaw`SELECT pg_sleep(0.01)::text AS "slept"`));
    await prisma().$transaction(async (tx) => {
      await tx.$executeRaw(insert(b, 'after the failure'));
    });
    expect(await names([a, b])).toEqual(['after the failure']);
  });

  it('a write that fails fails the next statement read with its own error', async () => {
    const a = newId();
    await prisma().$executeRaw(
      sql`INSERT INTO "Organization" ("id", "name", "createdAt") VALUES (${a}, 'taken', ${new Date()})`,
    );
    await expect(
      prisma().$transaction(async (tx) => {
        await tx.$executeRaw(insert(a, 'the same id'));
        await tx.$queryRaw`SELECT 1 AS "one"`;
      }),
    ).rejects.toThrow(/UniqueConstraintViolation|duplicate key/);
    expect(await names([a])).toEqual(['taken']);
  });

  it('a transaction rolled back after a write: nothing written', async () => {
    const a = newId();
    sent = [];
    await expect(
      prisma().$transaction(async (tx) => {
        await tx.$executeRaw(insert(a, 'dropped'));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(kinds()).toEqual(['unread BEGIN', 'unread INSERT', 'read ROLLBACK']);
    expect(await names([a])).toEqual([]);
  });

  it('a statement sent behind an unread one sees what committed before it started, as when sent alone', async () => {
    const id = newId();
    await prisma().$executeRaw(
      sql`INSERT INTO "Organization" ("id", "name", "createdAt") VALUES (${id}, 'before', ${new Date()})`,
    );
    const read = await prisma().$transaction(async (tx) => {
      await tx.$executeRaw(sql`${raw(SENT_WITH_NEXT)}SELECT 1`);
      await prisma().$executeRaw(sql`UPDATE "Organization" SET "name" = 'renamed' WHERE "id" = ${id}`);
      return tx.$queryRaw<Array<{ name: string }>>`SELECT "name" FROM "Organization" WHERE "id" = ${id}`;
    });
    expect(read[0]?.name).toBe('renamed');
  });
});
