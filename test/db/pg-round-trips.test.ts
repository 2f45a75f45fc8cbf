// PostgreSQL transactions with their BEGIN and held writes sent together with the statements after
// them (src/db/pg-round-trips.ts). Sent together, statements must behave as if sent one by one: in
// order, each seeing what the ones before it did, parameters read as PostgreSQL reads them; a held write
// that fails must leave nothing written and no connection inside a transaction; a rollback must drop
// what was held.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlined, SENT_WITH_NEXT } from '../../src/db/pg-round-trips.ts';
import { raw, sql } from '../../src/db/sql.ts';
import { createTestDatabase, providers, type TestDatabase } from '../helpers/databases.ts';

describe('parameters written as literals', () => {
  it('replaces each $n by its value quoted, and leaves quoted text, identifiers and comments alone', () => {
    expect(inlined(`SELECT $1, '$2', "a$2", $2 -- $1\n, /* $1 */ $10`, ['a', 'b', 3, 4, 5, 6, 7, 8, 9, 'ten'])).toBe(
      `SELECT 'a', '$2', "a$2", 'b' -- $1\n, /* $1 */ 'ten'`,
    );
  });

  it('doubles quotes, and writes a backslash in an escape string', () => {
    expect(inlined('SELECT $1', ["it's"])).toBe(`SELECT 'it''s'`);
    // pg's escapeLiteral puts a space before E: harmless between tokens.
    expect(inlined('SELECT $1', ['a\\b'])).toBe(`SELECT  E'a\\\\b'`);
  });

  it('writes null as NULL, numbers and booleans as quoted text, bytes as hex, arrays as array text', () => {
    expect(inlined('SELECT $1, $2, $3, $4, $5', [null, 42, true, Buffer.from([0xde, 0xad]), ['x', 'y']])).toBe(
      `SELECT NULL, '42', 'true',  E'\\\\xdead', '{"x","y"}'`,
    );
  });

  it('gives up on what it does not follow: dollar quotes, a parameter without a value, an open quote', () => {
    expect(inlined('SELECT $$text$$', [])).toBeUndefined();
    expect(inlined('SELECT $2', ['only one'])).toBeUndefined();
    expect(inlined("SELECT 'open", [])).toBeUndefined();
  });
});

describe.skipIf(!providers.includes('postgresql'))('transactions sent in fewer messages on PostgreSQL', () => {
  let test: TestDatabase;
  let messages: string[] = [];
  let n = 0;

  beforeAll(async () => {
    test = await createTestDatabase('postgresql', { open: { onMessage: (text) => messages.push(text) } });
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

  it('a transaction of reads and held writes: BEGIN with the first read, each write with what follows', async () => {
    const [a, b] = [newId(), newId()];
    messages = [];
    const seen = await prisma().$transaction(async (tx) => {
      const before = await tx.$queryRaw<Array<{ n: bigint }>>`SELECT COUNT(*) AS "n" FROM "Organization"`;
      await tx.$executeRaw(insert(a, "O'Brien's \\ organization"));
      // The held write goes in front of this read, which sees it.
      const mine = await tx.$queryRaw<Array<{ name: string }>>`SELECT "name" FROM "Organization" WHERE "id" = ${a}`;
      await tx.$executeRaw(insert(b, 'second'));
      return { before: Number(before[0]?.n), mine: mine[0]?.name };
    });
    expect(seen.mine).toBe("O'Brien's \\ organization");
    expect(messages).toHaveLength(3);
    expect(messages[0]).toMatch(/^BEGIN;\nSELECT COUNT/);
    expect(messages[1]).toMatch(/INSERT INTO "Organization"[^;]+;\nSELECT "name"/);
    expect(messages[2]).toMatch(/INSERT INTO "Organization"[^;]+;\nCOMMIT$/);
    expect(await names([a, b])).toEqual(["O'Brien's \\ organization", 'second']);
  });

  it('a held write that fails at COMMIT: nothing is written, the error is the statement’s, no connection is left in a transaction', async () => {
    const [a, b] = [newId(), newId()];
    await expect(
      prisma().$transaction(async (tx) => {
        await tx.$executeRaw(insert(a, 'kept?'));
        await tx.$executeRaw(sql`SELECT 1`);
        await tx.$executeRaw(insert(a, 'the same id again'));
      }),
    ).rejects.toThrow(/UniqueConstraintViolation/);
    expect(await names([a])).toEqual([]);
    // No connection is left inside the failed transaction, and every one of the pool works: ten at once.
    const [open] = await prisma().$queryRaw<Array<{ n: bigint }>>`
      SELECT COUNT(*) AS "n" FROM pg_stat_activity WHERE "datname" = current_database() AND "state" LIKE 'idle in transaction%'`;
    expect(Number(open?.n)).toBe(0);
    await Promise.all(Array.from({ length: 10 }, () => prisma().$queryRaw`SELECT pg_sleep(0.01)::text AS "slept"`));
    // And the next transaction on them commits its own write, not the failed one's.
    await prisma().$transaction(async (tx) => {
      await tx.$executeRaw(insert(b, 'after the failure'));
    });
    expect(await names([a, b])).toEqual(['after the failure']);
  });

  it('a transaction rolled back drops its held writes unsent, and sends nothing when BEGIN was not sent', async () => {
    const [a, b] = [newId(), newId()];
    messages = [];
    await expect(
      prisma().$transaction(async (tx) => {
        await tx.$executeRaw(insert(a, 'dropped'));
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(messages).toEqual([]);
    messages = [];
    await expect(
      prisma().$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        await tx.$executeRaw(insert(b, 'dropped too'));
        throw new Error('changed my mind again');
      }),
    ).rejects.toThrow('changed my mind again');
    expect(messages).toHaveLength(2);
    expect(messages[1]).toBe('ROLLBACK');
    expect(await names([a, b])).toEqual([]);
  });

  it('statements sent together each see the data as of their own start, as when sent one by one', async () => {
    const id = newId();
    await prisma().$executeRaw(
      sql`INSERT INTO "Organization" ("id", "name", "createdAt") VALUES (${id}, 'before', ${new Date()})`,
    );
    const other = await prisma().$transaction(async (tx) => {
      // Held, then sent with a read taken after another connection renamed the row: the read sees it.
      await tx.$executeRaw(sql`${raw(SENT_WITH_NEXT)}SELECT 1`);
      await prisma().$executeRaw(sql`UPDATE "Organization" SET "name" = 'renamed' WHERE "id" = ${id}`);
      return tx.$queryRaw<Array<{ name: string }>>`SELECT "name" FROM "Organization" WHERE "id" = ${id}`;
    });
    expect(other[0]?.name).toBe('renamed');
  });
});
