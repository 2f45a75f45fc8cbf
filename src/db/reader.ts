// Plain reads on the driver itself, without a Prisma client: the administration CLI's lists answer in
// milliseconds where starting a Prisma client takes half a second. The SQL is written once, as
// `sql` templates (@prisma/client-runtime-utils, the same tag Prisma's `Prisma.sql` is), and runs on
// a Prisma client (prismaReader) or straight on better-sqlite3 / node-postgres (openReader) alike.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Sql } from '@prisma/client-runtime-utils';
import type { Db } from './client.ts';
import { describePostgresError } from './connection-errors.ts';
import type { DatabaseConfig } from './database-config.ts';

/** Runs one read; rows come back as the driver gives them (compare booleans and numbers loosely). */
export type Reader = <T>(query: Pick<Sql, 'sql' | 'text' | 'values'>) => Promise<T[]>;

export interface OpenReader {
  read: Reader;
  close(): Promise<void>;
}

/** The same file name as src/db/client.ts's SQLITE_FILE (kept here so this module does not load Prisma). */
const SQLITE_FILE = 'keygate.db';

/** Where the embedded database of a data directory is, as an absolute path. */
export const sqliteFile = (dataDir: string): string => join(resolve(dataDir), SQLITE_FILE);

export class MissingDatabaseError extends Error {
  override name = 'MissingDatabaseError';
}

/**
 * Refuses to go on without the embedded database: a command run from another directory would
 * otherwise create a new, empty one there and act on it.
 */
export function requireEmbeddedDatabase(dataDir: string): void {
  const file = sqliteFile(dataDir);
  if (existsSync(file)) return;
  throw new MissingDatabaseError(
    `no database at ${file}. Run the command where the server runs, or point at the right one: ` +
      'KEYGATE_DATA_DIR=/path/to/data (the folder holding keygate.db) for the embedded database, ' +
      'DATABASE_URL=postgresql://… for PostgreSQL. `keygate migrate` (or starting the server) creates a new one.',
  );
}

export const prismaReader =
  (db: Pick<Db, '$queryRaw'>): Reader =>
  <T>(query: Pick<Sql, 'sql' | 'text' | 'values'>) =>
    db.$queryRaw(query as Sql) as Promise<T[]>;

/** A read-only connection (SQLite) or a one-connection pool (PostgreSQL) for plain reads. */
export async function openReader(config: DatabaseConfig): Promise<OpenReader> {
  if (config.provider === 'sqlite') {
    requireEmbeddedDatabase(config.dataDir);
    const { default: BetterSqlite3 } = await import('better-sqlite3');
    const connection = new BetterSqlite3(sqliteFile(config.dataDir), {
      readonly: true,
      fileMustExist: true,
      timeout: 10_000,
    });
    return {
      read: async (query) => connection.prepare(query.sql).all(...(query.values as unknown[])) as never,
      close: async () => {
        connection.close();
      },
    };
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: config.url, connectionTimeoutMillis: 5_000 });
  // A connection lost while idle must not crash the command; the query in flight fails on its own.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw describePostgresError(error, config.url) ?? error;
  }
  return {
    read: async (query) => (await client.query(query.text, query.values as unknown[])).rows,
    close: () => client.end(),
  };
}
