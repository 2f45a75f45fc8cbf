// The one place that knows how the two databases differ: how the reads of keys build their JSON and
// rows, timestamps as values, row locks, case folding, instants, timestamps read as text, how a
// change's writes are sent, and the lastUsedAt flush. src/runtime.ts picks one of each per database;
// everything else in the store is written once for both.
import type { Db, Provider, Tx } from '../db/client.ts';
import { SENT_WITH_NEXT } from '../db/pg-round-trips.ts';
import type { Rows } from '../db/raw-read.ts';
import { empty, join, raw, type Sql, sql } from '../db/sql.ts';
import type { TransactionWrite } from '../db/transaction-writes.ts';
import { jsonColumns, keyValues, namedKeyColumns, newestFirst } from './key-columns.ts';

/** A statement of Dialect.keyRows, and its result as one row per key. */
export interface KeyRowsQuery {
  statement: Sql;
  rowsOf(result: Rows): Rows;
}

/**
 * What differs between the providers' SQL in the reads of keys: how a query of key rows becomes the
 * JSON text of one array (KeyValues, one per key, in no particular order: newestFirst, in
 * src/store/key-columns.ts, orders them) in one value of one row, grants included, whatever the
 * number of keys. One value rather than a row of columns per key: Prisma turns
 * every column of a raw result into a typed value and back, which for a page of 50 keys cost more than
 * the statement (0.43–0.55 ms against 0.19–0.20 ms for the same page as one JSON value, on SQLite).
 */
export interface Dialect {
  /**
   * `keys`: a query of key rows with an "id" and a "grants" column. `values`: expressions over its rows
   * `p`, the first elements of each KeyValues, "id" first; the key's grants are its last element (parsed
   * JSON). The statement's one row has one column, "keys". The keys
   * are not sorted in the statement: an aggregate's ORDER BY sorts its rows again on SQLite (a
   * temporary B-tree, about a tenth of a page's statement), where sorting the parsed keys costs
   * microseconds.
   */
  keysAsJson(keys: Sql, values: Sql): Sql;
  /**
   * `keys`: a query of key rows with the columns KEY_COLUMN_NAMES, "grants" and `extra`. A statement, and how its
   * result (as a raw reader gives it, src/db/raw-read.ts) becomes one row per key, newest first, with
   * those columns by name (timestamps as Dialect.timestamp gives them), then its "grants" (the key's
   * column, see KEY_COLUMNS in src/store/key-columns.ts): what decodeApiKey (src/store/rows.ts) reads.
   * One statement whatever the number of keys.
   */
  keyRows(keys: Sql, extra: readonly string[]): KeyRowsQuery;
  /**
   * A timestamp column of `p` as a value of `values`: JSON has no timestamps, so milliseconds since
   * the epoch (a number becomes a Date several times faster than text does).
   */
  timestamp(column: string): string;
  /**
   * The row locks with which a mutation re-reads its caller's key `k` and token `t` (lockCaller): on
   * PostgreSQL FOR KEY SHARE of the key, which a change of the key (targetLock) waits for, and which
   * waits for one in progress, but a lastUsedAt flush does not; FOR SHARE of the token, which waits for
   * a rotation that is changing it, so that the statement reads it as the rotation left it. Nothing on
   * SQLite, whose transactions run one after the other.
   */
  callerLock: Sql;
  /**
   * The row lock a change takes on its target in the statement that reads it (lockApiKey); nothing on
   * SQLite, whose every transaction holds the database's write lock from its first statement
   * (isolateSqliteTransactions, src/db/client.ts). On PostgreSQL FOR UPDATE, the one lock that waits for the callers' FOR KEY SHARE: a deletion, rotation
   * or update of a key waits for the changes its own tokens have in flight, so none of them commits
   * after it (a key created by a token its rotation had revoked, say), its time is taken once they have,
   * and two keys deleting each other at once take their locks in one order (the ids') instead of each
   * waiting for the other's caller lock, which PostgreSQL broke as a deadlock after a second.
   */
  targetLock: Sql;
  /**
   * How a creation of a key locks its organization's row before counting its keys (lockAndCountKeys),
   * and how many transactions may at most be creating keys at once (PostgreSQL's max_connections); null
   * on SQLite, whose transactions run one after the other.
   */
  organizationLock: {
    statement(organizationId: string, mode: 'shared' | 'exclusive'): Sql;
    concurrency: Sql;
  } | null;
  /**
   * A condition on `k` (an "ApiKey" row), `AND …`: its name, ASCII letters in lower case, contains
   * `folded` (see src/domain/list-filter.ts). A plain substring search: no LIKE, so `%`, `_` and `\`
   * are characters like any other.
   */
  nameContains(folded: string): Sql;
  /**
   * A condition on `k`, `AND …`: the key has an expiresAt, earlier than `instant`. Compared as an
   * instant on both databases, whatever the session's or the process's time zone.
   */
  expiresBefore(instant: Date): Sql;
  /** Runs the writes of one change inside its transaction (see WriteAll). */
  write: WriteAll;
}

/**
 * Runs the writes of one change, inside its transaction. `writes` must not depend on one another:
 * none reads, rewrites or deletes a row that another one writes (a foreign key from one to another is
 * fine). `changedKeyId`: a key whose cached tokens other processes must drop once this commits.
 */
export type WriteAll = (tx: Tx, writes: readonly Sql[], changedKeyId?: string) => Promise<void>;

/**
 * SQLite: one statement after the other (one process: nobody else to tell about a change), each by
 * `write`: straight on the connection in the server (src/db/transaction-writes.ts), through Prisma
 * where no such writer is given.
 */
const writeOneByOne =
  (write: TransactionWrite): WriteAll =>
  async (tx, writes) => {
    for (const statement of writes) await write(tx, statement);
  };

const throughPrisma: TransactionWrite = (tx, statement) => tx.$executeRaw(statement);

/**
 * PostgreSQL: every write in one statement, each a data-modifying WITH query, the main query a
 * pg_notify on `channel` of the changed key (delivered when the transaction commits). One round trip
 * instead of one per write, which matters most while the transaction holds a key's row lock. The
 * sub-statements share one snapshot and none sees another's rows, hence the rule of WriteAll; foreign
 * keys between them are checked at the end of the statement, after all of them ran.
 */
function writeAsOneStatement(channel: string | null): WriteAll {
  return async (tx, writes, changedKeyId) => {
    const main =
      changedKeyId === undefined || channel === null
        ? sql`SELECT 1`
        : sql`SELECT pg_notify(${channel}, ${changedKeyId})`;
    // Nothing is read of the writes' result: the statement goes with the next one, or with COMMIT
    // (src/db/pg-round-trips.ts), one round trip fewer while the change holds its locks.
    const sentWithNext = raw(SENT_WITH_NEXT);
    if (writes.length === 1 && changedKeyId === undefined) {
      await tx.$executeRaw`${sentWithNext}${writes[0] as Sql}`;
      return;
    }
    if (writes.length === 0) {
      if (changedKeyId !== undefined) await tx.$executeRaw`${sentWithNext}${main}`;
      return;
    }
    const withs = join(
      writes.map((write, i) => sql`${raw(`w${i}`)} AS (${write})`),
      ', ',
    );
    // $executeRaw: pg_notify returns void, a column type Prisma cannot read back.
    await tx.$executeRaw`${sentWithNext}WITH ${withs} ${main}`;
  };
}

/**
 * SQLite: each key's grants are its "grants" column, embedded as JSON. keyRows is keysAsJson, parsed:
 * better-sqlite3 makes a JavaScript value of every column of every row (15 of them for each key of a
 * page), where one JSON text of the whole page is made and parsed at once. Measured on a page of 51
 * keys, statement and decoding together: 0.19 ms against 0.275–0.29 ms as rows.
 */
const SQLITE_DIALECT: Dialect = {
  keysAsJson: (keys, values) => sql`WITH p AS (${keys})
    SELECT json_group_array(json_array(${values}, json(p."grants"))) AS "keys" FROM p`,
  keyRows: (keys, extra) => {
    const columns = jsonColumns(extra);
    return {
      statement: SQLITE_DIALECT.keysAsJson(keys, keyValues(SQLITE_DIALECT, extra)),
      // One row (an aggregate over no keys gives '[]'), its one value the JSON text of every key's row.
      rowsOf: ({ rows }) => ({ columns, rows: newestFirst(JSON.parse(rows[0]?.[0] as string) as unknown[][]) }),
    };
  },
  timestamp: (column) => `CAST(round(unixepoch(p."${column}", 'subsec') * 1000) AS INTEGER)`,
  callerLock: empty,
  targetLock: empty,
  organizationLock: null,
  // SQLite's lower() folds ASCII letters only (without the ICU extension, which Keygate does not load).
  nameContains: (folded) => sql`AND instr(lower(k."name"), ${folded}) > 0`,
  // Times are ISO-8601 text here; unixepoch reads any form of it.
  expiresBefore: (instant) =>
    sql`AND k."expiresAt" IS NOT NULL AND unixepoch(k."expiresAt", 'subsec') * 1000 < ${instant.getTime()}`,
  write: writeOneByOne(throughPrisma),
};

/**
 * PostgreSQL: each key's grants are its "grants" column, as text (decodeApiKey parses it). Timestamps
 * are stored without a zone, in UTC; the epoch of such a value is taken as UTC whatever the session's.
 */
const postgresqlDialect = (channel: string | null): Dialect => {
  const dialect: Dialect = {
    keysAsJson: (keys, values) => sql`WITH p AS (${keys})
    SELECT COALESCE(json_agg(json_build_array(${values}, p."grants"::json)), '[]'::json)::text AS "keys" FROM p`,
    // The rows left as columns rather than built into one JSON value: two servers side by side on one
    // database of 1,000 keys, a page read afresh cost the server 0.04 ms less as JSON (0.51–0.77 ms
    // against 0.56–0.80) and PostgreSQL 0.09–0.23 ms more (0.31–0.45 against 0.22–0.23).
    keyRows: (keys, extra) => ({
      statement: sql`WITH p AS (${keys})
    SELECT ${namedKeyColumns(dialect, extra)}, p."grants" FROM p ORDER BY p."id" DESC`,
      rowsOf: (result) => result,
    }),
    // date_part, a double, rather than extract, a numeric since PostgreSQL 14 and slower to compute;
    // a timestamp(3) of the years 0001–9999 is exact in it to well under a millisecond.
    timestamp: (column) => `(date_part('epoch', p."${column}") * 1000)::bigint`,
    callerLock: sql`FOR KEY SHARE OF k FOR SHARE OF t`,
    targetLock: sql`FOR UPDATE`,
    organizationLock: {
      // Nothing is read of the lock's answer: it goes with the count after it (src/db/pg-round-trips.ts).
      statement: (organizationId, mode) =>
        sql`${raw(SENT_WITH_NEXT)}SELECT 1 FROM "Organization" WHERE "id" = ${organizationId} ${mode === 'shared' ? sql`FOR KEY SHARE` : sql`FOR UPDATE`}`,
      concurrency: sql`current_setting('max_connections')::int`,
    },
    // translate, not lower(): lower() folds non-ASCII letters too, by the database's locale.
    nameContains: (folded) =>
      sql`AND strpos(translate(k."name", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), ${folded}) > 0`,
    // timestamp(3) holds UTC without a zone: the instant is given in UTC text and turned into the same.
    expiresBefore: (instant) =>
      sql`AND k."expiresAt" IS NOT NULL AND k."expiresAt" < (${instant.toISOString()}::timestamptz AT TIME ZONE 'UTC')`,
    write: writeAsOneStatement(channel),
  };
  return dialect;
};

/**
 * The dialect of a database. `channel`: PostgreSQL's notification channel, on which a change's writes
 * tell other processes which key changed (src/auth/pg-invalidation.ts listens to it); null only for a
 * process that reads keys and changes none (the CLI's `key list`). `sqliteWrite`: how SQLite runs a
 * write of a transaction (RawDriver's writeInTransaction), through Prisma without it.
 */
export function dialectOf(provider: Provider, channel: string | null, sqliteWrite?: TransactionWrite): Dialect {
  if (provider === 'postgresql') return postgresqlDialect(channel);
  return sqliteWrite ? { ...SQLITE_DIALECT, write: writeOneByOne(sqliteWrite) } : SQLITE_DIALECT;
}

/**
 * A timestamp column as text, for the token lookup's raw prepared statements (src/store/tokens.ts),
 * which read every value as text: SQLite stores ISO-8601 text already.
 */
export const timestampText = (provider: Provider, column: string): string =>
  provider === 'postgresql' ? `${column}::text` : column;

/**
 * A timestamp as timestampText gives it, as a Date. PostgreSQL's timestamp(3) is UTC without a zone:
 * "2026-01-02 03:04:05.678" is that time in UTC, whatever the process's own time zone.
 */
export function toDate(value: string | null, provider: Provider): Date | null {
  if (value === null) return null;
  return new Date(provider === 'postgresql' ? `${value.replace(' ', 'T')}Z` : value);
}

/**
 * The lastUsedAt flush (src/auth/last-used.ts batches the uses): one UPDATE of many keys, its one
 * parameter a JSON array of [id, time] pairs, only ever forward, so several processes flushing in any
 * order converge on the latest use. Timestamps as Prisma stores them: ISO-8601 text ending in +00:00
 * on SQLite, UTC without a zone on PostgreSQL (where a zone in the input of a `timestamp` is ignored:
 * the text is UTC).
 */
const LAST_USED_SQL: Record<Provider, string> = {
  sqlite: `UPDATE "ApiKey" SET "lastUsedAt" = v."at"
    FROM (SELECT json_extract(j.value, '$[0]') AS "id", json_extract(j.value, '$[1]') AS "at" FROM json_each(?) j) v
    WHERE "ApiKey"."id" = v."id"
      AND ("ApiKey"."lastUsedAt" IS NULL OR unixepoch("ApiKey"."lastUsedAt", 'subsec') < unixepoch(v."at", 'subsec'))`,
  postgresql: `UPDATE "ApiKey" k SET "lastUsedAt" = v."at"
    FROM (SELECT j->>0 AS "id", (j->>1)::timestamp(3) AS "at" FROM json_array_elements($1::json) j) v
    WHERE k."id" = v."id" AND (k."lastUsedAt" IS NULL OR k."lastUsedAt" < v."at")`,
};

const lastUsedText: Record<Provider, (at: Date) => string> = {
  sqlite: (at) => at.toISOString().replace('Z', '+00:00'),
  postgresql: (at) => at.toISOString(),
};

/** Moves each key's lastUsedAt forward to its time (never back), in one statement. */
export function writeLastUsed(
  db: Db,
  provider: Provider,
  uses: ReadonlyArray<readonly [string, Date]>,
): Promise<number> {
  const toText = lastUsedText[provider];
  return db.$executeRawUnsafe(LAST_USED_SQL[provider], JSON.stringify(uses.map(([id, at]) => [id, toText(at)])));
}
