// SQLite's page cache is bounded on every connection the server opens (src/db/client.ts,
// SQLITE_CACHE_KIB): better-sqlite3 builds SQLite with 16 MB per connection, which random reads at 1M
// keys fill (docs/operations.md, Memory).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase, SQLITE_CACHE_KIB } from '../../src/db/client.ts';

describe('page cache of the embedded database', () => {
  let root: string;
  let database: Database;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'keygate-cache-'));
    database = await openDatabase({ provider: 'sqlite', dataDir: root });
  });
  afterAll(async () => {
    await database.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('is smaller than the driver builds it with', () => {
    const built = new BetterSqlite3(':memory:');
    try {
      expect(-(built.pragma('cache_size', { simple: true }) as number)).toBeGreaterThan(SQLITE_CACHE_KIB);
    } finally {
      built.close();
    }
  });

  it("is SQLITE_CACHE_KIB on Prisma's connection (changes) and on the read-only one (token lookups, pages)", async () => {
    const [prisma] = await database.prisma.$queryRawUnsafe<Array<{ cache_size: number | bigint }>>('PRAGMA cache_size');
    expect(Number(prisma?.cache_size)).toBe(-SQLITE_CACHE_KIB);
    if (database.raw.provider !== 'sqlite') throw new Error('expected the embedded database');
    expect(database.raw.connection.pragma('cache_size', { simple: true })).toBe(-SQLITE_CACHE_KIB);
  });
});
