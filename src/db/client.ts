// The one place that opens a database. Both providers get a Prisma client generated from the same
// models (prisma/schema.prisma), so their APIs are identical; the rest of the code sees one type.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { DatabaseConfig } from '../config.ts';
import { PrismaClient as PostgresClient } from '../generated/postgresql/client.ts';
import { PrismaClient as SqliteClient } from '../generated/sqlite/client.ts';

export type Db = SqliteClient;
export type Provider = DatabaseConfig['provider'];

export interface Database {
  provider: Provider;
  prisma: Db;
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
  if (config.provider === 'sqlite') {
    mkdirSync(resolve(config.dataDir), { recursive: true });
    // better-sqlite3 waits up to `timeout` ms for a lock instead of failing with SQLITE_BUSY.
    const adapter = new PrismaBetterSqlite3({ url: sqliteUrl(config.dataDir), timeout: 10_000 });
    prisma = new SqliteClient({ adapter, log }) as Db;
    await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
  } else {
    const adapter = new PrismaPg({ connectionString: config.url, max: 10 });
    prisma = new PostgresClient({ adapter, log }) as unknown as Db;
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
    async ping() {
      await prisma.$queryRawUnsafe('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
    },
  };
}
