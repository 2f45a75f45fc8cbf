// Reads of committed data straight on the driver under Prisma, for the reads every dashboard makes
// (a page of keys, one key): Prisma's raw query costs more than the statement itself here (its
// request building, result typing and promise chain), and on SQLite its connection also holds back
// every read while a transaction is open (src/db/client.ts, isolateSqliteTransactions). Statements
// are Prisma.Sql, built as for Prisma; only their execution differs. Never inside a transaction: the
// SQLite connection is another, read-only one, and PostgreSQL's pool hands out any connection.
import type BetterSqlite3 from 'better-sqlite3';
import type { Prisma } from '../generated/sqlite/client.ts';
import type { QueryListener, RawDriver } from './client.ts';
import { inQuerySpan } from './query-spans.ts';
import { STATEMENT_CACHE_SIZE } from './statement-cache.ts';

/** The first column of the first row of a read-only statement (undefined without a row). */
export type ReadValue = (statement: Prisma.Sql) => Promise<unknown>;

export function createValueReader(raw: RawDriver, onQuery?: QueryListener, size = STATEMENT_CACHE_SIZE): ReadValue {
  if (raw.provider === 'sqlite') {
    const connection = raw.connection;
    // Compiled statements by SQL text, least recently used dropped first (see statement-cache.ts).
    const cache = new Map<string, BetterSqlite3.Statement<unknown[], unknown>>();
    return async (statement) => {
      const sql = statement.sql;
      let prepared = cache.get(sql);
      if (prepared) cache.delete(sql);
      else {
        prepared = connection.prepare<unknown[], unknown>(sql).pluck();
        if (cache.size >= size) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
      }
      cache.set(sql, prepared);
      onQuery?.(sql);
      const compiled = prepared;
      return inQuerySpan(sql, async () => compiled.get(...(statement.values as unknown[])));
    };
  }
  const pool = raw.pool;
  // Named, so each connection parses and plans a text once; a prefix of their own keeps these names
  // apart from those of Prisma's statements on the same connections (statement-cache.ts).
  const names = new Map<string, string>();
  return async (statement) => {
    const text = statement.text;
    let name = names.get(text);
    if (name === undefined && names.size < size) {
      name = `keygate_read_${names.size}`;
      names.set(text, name);
    }
    onQuery?.(text);
    const result = await inQuerySpan(text, () =>
      pool.query<unknown[]>({ name, text, values: statement.values, rowMode: 'array' }),
    );
    return result.rows[0]?.[0];
  };
}
