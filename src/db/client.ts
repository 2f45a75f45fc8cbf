// The one place that opens a database. Both providers get a Prisma client generated from the same
// models (prisma/schema.prisma), so their APIs are identical; the rest of the code sees one type.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type { DatabaseConfig } from '../config.ts';
import { PrismaClient as PostgresClient } from '../generated/postgresql/client.ts';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client.ts';

export type Db = SqliteClient;
export type Provider = DatabaseConfig['provider'];

/**
 * The driver under Prisma, for the one hot path that needs raw prepared statements (token lookup):
 * a read-only better-sqlite3 connection to the same file, or the very pool Prisma's adapter uses.
 */
export type RawDriver =
  | { provider: 'sqlite'; connection: BetterSqlite3.Database }
  | { provider: 'postgresql'; pool: pg.Pool };

export interface Database {
  provider: Provider;
  prisma: Db;
  raw: RawDriver;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const SQLITE_FILE = 'keygate.db';

export function sqliteUrl(dataDir: string): string {
  return `file:${join(resolve(dataDir), SQLITE_FILE)}`;
}

export type QueryListener = (sql: string) => void;

export async function openDatabase(
  config: DatabaseConfig,
  options: { onQuery?: QueryListener } = {},
): Promise<Database> {
  const log = options.onQuery ? [{ emit: 'event' as const, level: 'query' as const }] : [];
  let prisma: Db;
  let raw: RawDriver;
  if (config.provider === 'sqlite') {
    mkdirSync(resolve(config.dataDir), { recursive: true });
    // better-sqlite3 waits up to `timeout` ms for a lock instead of failing with SQLITE_BUSY.
    const adapter = new PrismaBetterSqlite3({ url: sqliteUrl(config.dataDir), timeout: 10_000 });
    prisma = new SqliteClient({ adapter, log }) as Db;
    await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    // In WAL mode NORMAL survives any process crash; only a power loss may drop the last commits.
    await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
    const connection = new BetterSqlite3(join(resolve(config.dataDir), SQLITE_FILE), { timeout: 10_000 });
    connection.pragma('query_only = ON');
    raw = { provider: 'sqlite', connection };
  } else {
    const pool = new pg.Pool({ connectionString: config.url, max: 10 });
    // Idle clients can be terminated by the server; the pool replaces them, so this is not fatal.
    pool.on('error', () => {});
    prisma = new PostgresClient({ adapter: new PrismaPg(pool), log }) as unknown as Db;
    raw = { provider: 'postgresql', pool };
  }
  if (options.onQuery) {
    const listener = options.onQuery;
    (prisma as unknown as { $on(event: 'query', cb: (e: { query: string }) => void): void }).$on('query', (event) =>
      listener(event.query),
    );
  }
  return {
    provider: config.provider,
    prisma,
    raw,
    async ping() {
      await prisma.$queryRawUnsafe('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      if (raw.provider === 'sqlite') raw.connection.close();
      else await raw.pool.end();
    },
  };
}
