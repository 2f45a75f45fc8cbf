// Reads of committed data straight on the driver under Prisma, for the reads every dashboard makes
// (a page of keys, one key): Prisma's raw query costs more than the statement itself here (its
// request building, result typing and promise chain), and on SQLite its connection also holds back
// every read while a transaction is open (src/db/client.ts, isolateSqliteTransactions). Statements
// are Prisma.Sql, built as for Prisma; only their execution differs. Never inside a transaction: the
// SQLite connection is another, read-only one, and PostgreSQL's pool hands out any connection. The one
// exception is SQLite's write connection, read on inside the transaction this process has open on it
// (sqliteRowReader; Domain.transactionRows).
import type BetterSqlite3 from 'better-sqlite3';
import type { Prisma } from '../generated/sqlite/client.ts';
import type { QueryListener, RawDriver } from './client.ts';
import { inQuerySpan } from './query-spans.ts';
import type { Reader } from './reader.ts';
import { STATEMENT_CACHE_SIZE } from './statement-cache.ts';

/** Where each column of a statement's rows is, by column name. */
export type Columns = Readonly<Record<string, number>>;

/** The rows of a read-only statement: each the array of its values, found by name through `columns`. */
export interface Rows {
  columns: Columns;
  rows: unknown[][];
}

/**
 * Every row of a read-only statement. Values come as the driver gives them without conversion: on
 * SQLite numbers and text, on PostgreSQL text whatever the column's type (the statement's decoder,
 * src/store/rows.ts, reads them, on either database). Rows are arrays rather than objects by name:
 * better-sqlite3 builds an object per row at half again the cost of the statement (a page of 51 keys:
 * 0.25 ms against 0.17 ms); the names are resolved once per statement instead.
 */
export type ReadRows = (statement: Prisma.Sql) => Promise<Rows>;

/**
 * `read` as a Reader (src/db/reader.ts): each row an object by column name, for the few small reads that
 * want one (the hot reads decode the arrays by their Columns).
 */
export const rowObjects =
  (read: ReadRows): Reader =>
  async <T>(query: Parameters<Reader>[0]) => {
    const { columns, rows } = await read(query as Prisma.Sql);
    const names = Object.entries(columns);
    return rows.map((row) => Object.fromEntries(names.map(([name, i]) => [name, row[i]]))) as T[];
  };

/** Text as it is: PostgreSQL's values reach the decoder unparsed (timestamps of any zone, bigints, JSON). */
const asText = (value: string) => value;
const TEXT_TYPES = { getTypeParser: () => asText };

/** The Columns of rows whose values are those of `names`, in that order. */
export const columnsOf = (names: readonly string[]): Columns => Object.fromEntries(names.map((name, i) => [name, i]));

export function createRowReader(raw: RawDriver, onQuery?: QueryListener, size = STATEMENT_CACHE_SIZE): ReadRows {
  if (raw.provider === 'sqlite') return sqliteRowReader(raw.connection, onQuery, size);
  const nameOf = pgStatementNames(size, 'keygate_rows_');
  const pool = raw.pool;
  // The columns of each statement text, as its first result named them.
  const known = new Map<string, Columns>();
  return async (statement) => {
    const text = statement.text;
    const name = nameOf(text);
    onQuery?.(text);
    const result = await inQuerySpan(text, () =>
      pool.query<unknown[]>({ name, text, values: statement.values, rowMode: 'array', types: TEXT_TYPES }),
    );
    let columns = known.get(text);
    if (!columns) {
      columns = columnsOf(result.fields.map((field) => field.name));
      if (name !== undefined) known.set(text, columns);
    }
    return { columns, rows: result.rows };
  };
}

/**
 * ReadRows on one better-sqlite3 connection: the read-only one (createRowReader), or the one Prisma
 * writes with, inside a transaction of this process (Domain.transactionRows).
 */
export function sqliteRowReader(
  connection: Pick<BetterSqlite3.Database, 'prepare'>,
  onQuery?: QueryListener,
  size = STATEMENT_CACHE_SIZE,
): ReadRows {
  const prepare = sqliteStatements(connection, size);
  return async (statement) => {
    const { prepared, columns } = prepare(statement.sql);
    onQuery?.(statement.sql);
    return inQuerySpan(statement.sql, async () => ({
      columns,
      rows: prepared.all(...(statement.values as unknown[])) as unknown[][],
    }));
  };
}

interface SqliteStatement {
  prepared: BetterSqlite3.Statement<unknown[], unknown[]>;
  columns: Columns;
}

/** Compiled statements by SQL text, least recently used dropped first (see statement-cache.ts). */
function sqliteStatements(
  connection: Pick<BetterSqlite3.Database, 'prepare'>,
  size: number,
): (sql: string) => SqliteStatement {
  const cache = new Map<string, SqliteStatement>();
  return (sql) => {
    let entry = cache.get(sql);
    if (entry) cache.delete(sql);
    else {
      const prepared = connection.prepare<unknown[], unknown[]>(sql).raw();
      entry = { prepared, columns: columnsOf(prepared.columns().map((column) => column.name)) };
      if (cache.size >= size) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
    }
    cache.set(sql, entry);
    return entry;
  };
}

/**
 * Names for statement texts, so each connection parses and plans a text once; a prefix of their own
 * keeps these names apart from those of Prisma's statements on the same connections
 * (statement-cache.ts). Past `size` texts, statements go unnamed.
 */
function pgStatementNames(size: number, prefix: string): (text: string) => string | undefined {
  const names = new Map<string, string>();
  return (text) => {
    let name = names.get(text);
    if (name === undefined && names.size < size) {
      name = `${prefix}${names.size}`;
      names.set(text, name);
    }
    return name;
  };
}
