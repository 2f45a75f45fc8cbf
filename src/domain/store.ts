// Reading and writing API keys with their grants. Reads take a client that may be a transaction, so
// the operations can compose them inside one; writes are statements, which the operation hands, all
// the writes of one change together, to a WriteAll that runs them in its transaction.

import type { ApiKey, ApiKeyToken, AuditEvent, Tx } from '../db/client.ts';
import { type Columns, columnsOf as columnsNamed, type ReadRows } from '../db/raw-read.ts';
import type { Reader } from '../db/reader.ts';
import { empty, join, raw, type Sql, sql } from '../db/sql.ts';
import { decodeApiKey, recordOf } from '../store/rows.ts';
import type { Grants } from './access.ts';
import type { ApiKeyRecord, ApiKeyRow } from './records.ts';
import type { RoleCatalogue } from './roles.ts';

export type { ApiKeyRecord, ApiKeyRow };

/** One grant of a key as the grant tables hold it: an account role, a team (with its name), a team role. */
export interface GrantRow {
  kind: 'role' | 'team' | 'team_role';
  value: string;
  teamName: string | null;
}

/** A key with its grants given as grant rows (the token lookup reads them so). */
export function assembleRecord(key: ApiKeyRow, rows: readonly GrantRow[], catalogue: RoleCatalogue): ApiKeyRecord {
  const roleNames: string[] = [];
  const teamRoleNames: string[] = [];
  const teams: Array<{ id: string; name: string }> = [];
  for (const row of rows) {
    if (row.kind === 'role') roleNames.push(row.value);
    else if (row.kind === 'team_role') teamRoleNames.push(row.value);
    else teams.push({ id: row.value, name: row.teamName ?? '' });
  }
  return recordOf(key, roleNames, teams, teamRoleNames, catalogue);
}

/**
 * What differs between the providers' SQL in the reads of keys: how a query of key rows becomes the
 * JSON text of one array (KeyValues, one per key, newest first) in one value of one row, grants
 * included, whatever the number of keys. One value rather than a row of columns per key: Prisma turns
 * every column of a raw result into a typed value and back, which for a page of 50 keys cost more than
 * the statement (0.43–0.55 ms against 0.19–0.20 ms for the same page as one JSON value, on SQLite).
 */
export interface Dialect {
  /**
   * `keys`: a query of key rows with an "id" column. `values`: expressions over its rows `p`, the first
   * elements of each KeyValues. The statement's one row has one column, "keys".
   */
  keysAsJson(keys: Sql, values: Sql): Sql;
  /**
   * `keys`: a query of key rows with the columns KEY_COLUMN_NAMES and `extra`. One row per key, newest
   * first, with those columns by name (timestamps as Dialect.timestamp gives them), then its grants as
   * "roleNames", "teams" and "teamRoleNames": what decodeApiKey (src/store/rows.ts) reads. One
   * statement whatever the number of keys, each key's grants found by their index (the statement's
   * cost does not grow with the table).
   */
  keyRows(keys: Sql, extra: readonly string[]): Sql;
  /**
   * A timestamp column of `p` as a value of `values`: JSON has no timestamps, so milliseconds since
   * the epoch (a number becomes a Date several times faster than text does).
   */
  timestamp(column: string): string;
  /**
   * The row lock with which a mutation re-reads its caller's key (lockCaller): on PostgreSQL FOR KEY
   * SHARE, which a deletion of the key waits for (and which waits for one in progress) but a rotation,
   * an update of its grants or a lastUsedAt flush do not; nothing on SQLite, whose transactions run
   * one after the other.
   */
  callerLock: Sql;
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
}

/**
 * One key as Dialect.keysAsJson gives it: the values the caller asked for, then the grants: account
 * role names, teams as [id, name] pairs, team role names (named by jsonColumns).
 */
export type KeyValues = [...unknown[], string[], Array<[string, string]>, string[]];

/**
 * SQLite: a correlated subquery per grant table, an index lookup for each key (measured on a page of
 * 51 keys: 0.27 ms, against 0.42 ms for the grouped joins PostgreSQL uses). Timestamps are stored as
 * text, which unixepoch reads whether it carries an offset or not (then it is UTC).
 */
export const SQLITE_DIALECT: Dialect = {
  keysAsJson: (keys, values) => sql`WITH p AS (${keys})
    SELECT json_group_array(json_array(${values},
      json((SELECT json_group_array(r."roleName") FROM "ApiKeyRole" r WHERE r."apiKeyId" = p."id")),
      json((SELECT json_group_array(json_array(t."teamId", tm."name"))
              FROM "ApiKeyTeam" t JOIN "Team" tm ON tm."id" = t."teamId" WHERE t."apiKeyId" = p."id")),
      json((SELECT json_group_array(tr."roleName") FROM "ApiKeyTeamRole" tr WHERE tr."apiKeyId" = p."id"))
    ) ORDER BY p."id" DESC) AS "keys" FROM p`,
  keyRows: (keys, extra) => sql`WITH p AS (${keys})
    SELECT ${namedKeyColumns(SQLITE_DIALECT, extra)},
      (SELECT json_group_array(r."roleName") FROM "ApiKeyRole" r WHERE r."apiKeyId" = p."id") AS "roleNames",
      (SELECT json_group_array(json_array(t."teamId", tm."name"))
         FROM "ApiKeyTeam" t JOIN "Team" tm ON tm."id" = t."teamId" WHERE t."apiKeyId" = p."id") AS "teams",
      (SELECT json_group_array(tr."roleName") FROM "ApiKeyTeamRole" tr WHERE tr."apiKeyId" = p."id") AS "teamRoleNames"
    FROM p ORDER BY p."id" DESC`,
  timestamp: (column) => `CAST(round(unixepoch(p."${column}", 'subsec') * 1000) AS INTEGER)`,
  callerLock: empty,
  organizationLock: null,
  // SQLite's lower() folds ASCII letters only (without the ICU extension, which Keygate does not load).
  nameContains: (folded) => sql`AND instr(lower(k."name"), ${folded}) > 0`,
  // Times are ISO-8601 text here; unixepoch reads any form of it.
  expiresBefore: (instant) =>
    sql`AND k."expiresAt" IS NOT NULL AND unixepoch(k."expiresAt", 'subsec') * 1000 < ${instant.getTime()}`,
};

/**
 * PostgreSQL: each grant table's rows of all the keys, aggregated per key, joined (measured on a page
 * of 51 keys: 1.5 ms, against 2.1 ms for a correlated json_agg per key and table, whose plan costs
 * more than its execution). json_agg over no rows would be NULL: keys without any get '[]'. Timestamps
 * are stored without a zone, in UTC; the epoch of such a value is taken as UTC whatever the session's.
 */
/**
 * The grants of the keys of `p` (a WITH query of key rows), aggregated per key and joined to them:
 * gr, gt and gtr, each a "value" (JSON) or NULL for a key without any.
 */
const POSTGRESQL_GRANTS = raw(`LEFT JOIN (SELECT r."apiKeyId", json_agg(r."roleName") AS "value" FROM "ApiKeyRole" r
                WHERE r."apiKeyId" IN (SELECT "id" FROM p) GROUP BY r."apiKeyId") gr ON gr."apiKeyId" = p."id"
    LEFT JOIN (SELECT t."apiKeyId", json_agg(json_build_array(t."teamId", tm."name")) AS "value"
                 FROM "ApiKeyTeam" t JOIN "Team" tm ON tm."id" = t."teamId"
                WHERE t."apiKeyId" IN (SELECT "id" FROM p) GROUP BY t."apiKeyId") gt ON gt."apiKeyId" = p."id"
    LEFT JOIN (SELECT tr."apiKeyId", json_agg(tr."roleName") AS "value" FROM "ApiKeyTeamRole" tr
                WHERE tr."apiKeyId" IN (SELECT "id" FROM p) GROUP BY tr."apiKeyId") gtr ON gtr."apiKeyId" = p."id"`);

export const POSTGRESQL_DIALECT: Dialect = {
  keysAsJson: (keys, values) => sql`WITH p AS (${keys})
    SELECT COALESCE(json_agg(json_build_array(${values},
      COALESCE(gr."value", '[]'::json), COALESCE(gt."value", '[]'::json), COALESCE(gtr."value", '[]'::json)
    ) ORDER BY p."id" DESC), '[]'::json)::text AS "keys"
    FROM p
    ${POSTGRESQL_GRANTS}`,
  // The grants of all the keys at once, joined to the keys by the planner (by each grant table's index,
  // one lookup per key, past a few thousand rows: the plan test holds it), and the rows left as columns
  // rather than built into one JSON value: measured on a page of 51 keys, 0.32–0.45 ms of PostgreSQL's
  // CPU against 0.43–0.55 ms for keysAsJson.
  keyRows: (keys, extra) => sql`WITH p AS MATERIALIZED (${keys})
    SELECT ${namedKeyColumns(POSTGRESQL_DIALECT, extra)},
           gr."value" AS "roleNames", gt."value" AS "teams", gtr."value" AS "teamRoleNames"
      FROM p
      ${POSTGRESQL_GRANTS}
     ORDER BY p."id" DESC`,
  timestamp: (column) => `(extract(epoch FROM p."${column}") * 1000)::bigint`,
  callerLock: sql`FOR KEY SHARE`,
  organizationLock: {
    statement: (organizationId, mode) =>
      sql`SELECT 1 FROM "Organization" WHERE "id" = ${organizationId} ${mode === 'shared' ? sql`FOR KEY SHARE` : sql`FOR UPDATE`}`,
    concurrency: sql`current_setting('max_connections')::int`,
  },
  // translate, not lower(): lower() folds non-ASCII letters too, by the database's locale.
  nameContains: (folded) =>
    sql`AND strpos(translate(k."name", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), ${folded}) > 0`,
  // timestamp(3) holds UTC without a zone: the instant is given in UTC text and turned into the same.
  expiresBefore: (instant) =>
    sql`AND k."expiresAt" IS NOT NULL AND k."expiresAt" < (${instant.toISOString()}::timestamptz AT TIME ZONE 'UTC')`,
};

/** The key columns of a row that has more (its version is left out). */
function keyRowOf(row: ApiKeyRow): ApiKeyRow {
  return {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    createdAt: row.createdAt,
    tokenLastIssuedAt: row.tokenLastIssuedAt,
    lastUsedAt: row.lastUsedAt,
    creatorKeyId: row.creatorKeyId,
    creatorKeyName: row.creatorKeyName,
    creatorUserId: row.creatorUserId,
    expiresAt: row.expiresAt,
  };
}

/** The columns of an ApiKeyRow but its version. */
export const KEY_COLUMN_NAMES = [
  'id',
  'organizationId',
  'name',
  'createdAt',
  'tokenLastIssuedAt',
  'lastUsedAt',
  'creatorKeyId',
  'creatorKeyName',
  'creatorUserId',
  'expiresAt',
] as const satisfies ReadonlyArray<keyof ApiKeyRow>;

/** KEY_COLUMN_NAMES of "ApiKey" read as `k`. */
export const KEY_COLUMNS = raw(KEY_COLUMN_NAMES.map((name) => `k."${name}"`).join(', '));

/** KEY_COLUMN_NAMES unqualified, for a RETURNING clause (SQLite allows no table alias there). */
const RETURNED_KEY_COLUMNS = raw(KEY_COLUMN_NAMES.map((name) => `"${name}"`).join(', '));

const TIMESTAMP_COLUMNS: ReadonlySet<string> = new Set(['createdAt', 'tokenLastIssuedAt', 'lastUsedAt', 'expiresAt']);

/**
 * KEY_COLUMN_NAMES of `p` as the first values of Dialect.keysAsJson, then the columns `extra` of `p`;
 * jsonColumns(extra) names them for decodeApiKey (src/store/rows.ts).
 */
export function keyValues(dialect: Dialect, extra: readonly string[] = []): Sql {
  const columns = KEY_COLUMN_NAMES.map((name) =>
    TIMESTAMP_COLUMNS.has(name) ? dialect.timestamp(name) : `p."${name}"`,
  );
  return raw([...columns, ...extra.map((name) => `p."${name}"`)].join(', '));
}

/** The names of the values of each key of Dialect.keysAsJson read with keyValues(dialect, extra). */
export const jsonColumns = (extra: readonly string[] = []): Columns =>
  columnsNamed([...KEY_COLUMN_NAMES, ...extra, 'roleNames', 'teams', 'teamRoleNames']);

const KEY_JSON_COLUMNS = jsonColumns();
const VERSIONED_JSON_COLUMNS = jsonColumns(['version']);

/** KEY_COLUMN_NAMES of `p` named as in the table (timestamps by Dialect.timestamp), then `extra` of `p`. */
function namedKeyColumns(dialect: Dialect, extra: readonly string[]): Sql {
  const columns = KEY_COLUMN_NAMES.map((name) =>
    TIMESTAMP_COLUMNS.has(name) ? `${dialect.timestamp(name)} AS "${name}"` : `p."${name}"`,
  );
  return raw([...columns, ...extra.map((name) => `p."${name}"`)].join(', '));
}

/** The keys of a Dialect.keysAsJson statement's one row. */
export const keysOfResult = (rows: Array<{ keys: string }>): KeyValues[] =>
  rows.length === 0 ? [] : (JSON.parse(rows[0]?.keys as string) as KeyValues[]);

/** How keys are read: the catalogue orders roles, the dialect reads grants. */
export interface KeyReading {
  catalogue: RoleCatalogue;
  dialect: Dialect;
}

/** The statement of one key of an organization with its grants and team names, and its version. */
function apiKeyStatement(dialect: Dialect, organizationId: string, id: string, lock: Sql = empty): Sql {
  return dialect.keysAsJson(
    sql`SELECT ${KEY_COLUMNS}, k."version" FROM "ApiKey" k
                WHERE k."id" = ${id} AND k."organizationId" = ${organizationId} ${lock}`,
    keyValues(dialect, ['version']),
  );
}

/** One key of an organization with its grants and team names, in one statement. */
export async function readApiKey(
  tx: Tx,
  reading: KeyReading,
  organizationId: string,
  id: string,
  lock: Sql = empty,
): Promise<ApiKeyRecord | null> {
  const statement = apiKeyStatement(reading.dialect, organizationId, id, lock);
  const [values] = keysOfResult(await tx.$queryRaw<Array<{ keys: string }>>(statement));
  return values ? decodeApiKey(values, VERSIONED_JSON_COLUMNS, reading.catalogue) : null;
}

/** readApiKey of committed data, outside any transaction, straight on the driver (src/db/raw-read.ts). */
export async function readCommittedApiKey(
  reading: KeyReading & { readRows: ReadRows },
  organizationId: string,
  id: string,
): Promise<ApiKeyRecord | null> {
  const { columns, rows } = await reading.readRows(
    reading.dialect.keyRows(
      sql`SELECT ${KEY_COLUMNS}, k."version" FROM "ApiKey" k
                  WHERE k."id" = ${id} AND k."organizationId" = ${organizationId}`,
      ['version'],
    ),
  );
  const [row] = rows;
  return row ? decodeApiKey(row, columns, reading.catalogue) : null;
}

/** Every key of an organization, newest first, with its grants: the administration CLI's list. */
export async function readOrganizationApiKeys(
  read: Reader,
  reading: KeyReading,
  organizationId: string,
): Promise<ApiKeyRecord[]> {
  const rows = await read<{ keys: string }>(
    reading.dialect.keysAsJson(
      sql`SELECT ${KEY_COLUMNS} FROM "ApiKey" k WHERE k."organizationId" = ${organizationId}`,
      keyValues(reading.dialect),
    ),
  );
  return keysOfResult(rows).map((values) => decodeApiKey(values, KEY_JSON_COLUMNS, reading.catalogue));
}

/**
 * Takes the write lock on one key of an organization for the rest of the transaction (a row lock on
 * PostgreSQL, the database write lock on SQLite), so concurrent changes to the same key run one after
 * the other, and returns the key as it is then. The lock is an UPDATE, taken before anything is read
 * (so that on SQLite no read is of a snapshot older than the lock), that returns the key's own columns
 * as they are once it holds the lock.
 *
 * `version` counts the changes to what an authorization check reads besides those columns, the name
 * and grants: an update (`changesGrants`) adds one as it locks; a rotation or deletion locks without
 * counting. `seen` is the key as the change's own check read it, with its version: when the lock finds
 * the version that read plus this change's own count, no update came in between, and the key is
 * `seen`'s grants with the columns the lock returned, without reading the grants again (a statement
 * less while the lock is held, also when rotations of the same key queue behind each other).
 * Otherwise the key is read afresh.
 */
export async function lockApiKey(
  tx: Tx,
  reading: KeyReading,
  organizationId: string,
  id: string,
  seen?: ApiKeyRecord,
  changesGrants = false,
): Promise<ApiKeyRecord | null> {
  const count = changesGrants ? 1 : 0;
  const [locked] = await tx.$queryRaw<ApiKeyRow[]>`
    UPDATE "ApiKey" SET "version" = "version" + ${raw(String(count))}
     WHERE "id" = ${id} AND "organizationId" = ${organizationId}
    RETURNING ${RETURNED_KEY_COLUMNS}, "version"`;
  if (!locked) return null;
  const version = Number(locked.version);
  const unchanged =
    seen?.version !== undefined &&
    seen.id === id &&
    seen.organizationId === organizationId &&
    seen.version + count === version;
  if (unchanged) return { ...seen, ...keyRowOf(locked), version };
  // Read after the lock, in the same transaction: with the version the lock just wrote.
  return readApiKey(tx, reading, organizationId, id);
}

/**
 * The caller's own key as it is now, read inside a mutation's transaction with Dialect.callerLock, so
 * that on PostgreSQL a deletion of the key cannot commit until the mutation has (and a mutation that
 * reads after a deletion committed finds no key). Null when the key is gone.
 */
export function lockCaller(
  tx: Tx,
  reading: KeyReading,
  organizationId: string,
  id: string,
): Promise<ApiKeyRecord | null> {
  return readApiKey(tx, reading, organizationId, id, reading.dialect.callerLock);
}

/**
 * The keys of an organization, counted up to `atMost`, for a creation to check against the
 * organization's limit, and how many keys creations in flight elsewhere may add to them (`inFlight`,
 * this one included): the organization holds at most `keys + inFlight` once they have all committed.
 *
 * On PostgreSQL a creation first takes the organization's row FOR KEY SHARE (`shared`), which creations
 * share, then counts afresh: every creation that may commit alongside it holds a connection, so at most
 * max_connections of them are in flight. Close to the limit that bound is too loose: `exclusive` takes
 * the row FOR UPDATE, which waits for every shared holder to finish and keeps new ones out, and the
 * count is then exact (`inFlight` 1). A creation never upgrades its lock (two upgrading creations would
 * wait for each other): it starts over in exclusive mode (see createApiKey). SQLite's transactions run
 * one after the other: the count is exact.
 */
export async function lockAndCountKeys(
  tx: Tx,
  dialect: Dialect,
  organizationId: string,
  atMost: number,
  mode: 'shared' | 'exclusive',
): Promise<{ keys: number; inFlight: number }> {
  const lock = dialect.organizationLock;
  if (lock) await tx.$queryRaw(lock.statement(organizationId, mode));
  // Bounded: an organization far past the limit (seeded directly, or before the limit existed) costs
  // no more than one at it.
  const concurrency = lock && mode === 'shared' ? lock.concurrency : sql`1`;
  const [row] = await tx.$queryRaw<Array<{ keys: number | bigint; inFlight: number | bigint }>>`
    SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM "ApiKey" WHERE "organizationId" = ${organizationId}
                                  LIMIT ${raw(String(atMost))}) c) AS "keys",
           ${concurrency} AS "inFlight"`;
  return { keys: Number(row?.keys ?? 0), inFlight: Number(row?.inFlight ?? 1) };
}

/** Removes every grant of a key: one DELETE per grant table. */
export const grantDeletes = (apiKeyId: string): Sql[] => [
  sql`DELETE FROM "ApiKeyRole" WHERE "apiKeyId" = ${apiKeyId}`,
  sql`DELETE FROM "ApiKeyTeam" WHERE "apiKeyId" = ${apiKeyId}`,
  sql`DELETE FROM "ApiKeyTeamRole" WHERE "apiKeyId" = ${apiKeyId}`,
];

/** Every column of each table the write paths insert whole rows into (exhaustive: the compiler checks). */
const INSERT_COLUMNS = {
  ApiKey: columnsOf<ApiKey>({
    version: true,
    id: true,
    organizationId: true,
    name: true,
    createdAt: true,
    tokenLastIssuedAt: true,
    lastUsedAt: true,
    creatorKeyId: true,
    creatorKeyName: true,
    creatorUserId: true,
    expiresAt: true,
  }),
  ApiKeyToken: columnsOf<ApiKeyToken>({ id: true, apiKeyId: true, hash: true, createdAt: true, expiresAt: true }),
  AuditEvent: columnsOf<AuditEvent>({
    id: true,
    organizationId: true,
    action: true,
    createdAt: true,
    actorKeyId: true,
    actorKeyName: true,
    actorUserId: true,
    actorUserEmail: true,
    actorUserName: true,
    targetKeyId: true,
    targetKeyName: true,
    grantsBefore: true,
    grantsAfter: true,
    details: true,
    targetHasAccountRoles: true,
  }),
};

function columnsOf<Row>(columns: Record<keyof Row, true>): { names: Array<keyof Row>; sql: Sql } {
  const names = Object.keys(columns) as Array<keyof Row>;
  return { names, sql: raw(names.map((name) => `"${String(name)}"`).join(', ')) };
}

interface InsertableRows {
  ApiKey: ApiKey;
  ApiKeyToken: ApiKeyToken;
  AuditEvent: AuditEvent;
}

/**
 * An INSERT of a whole row: every column of the model, in a fixed order (so one SQL text per table),
 * values bound as parameters; properties of `row` that are no column are not written. Written out
 * rather than Prisma's `create`, which on these hot write paths costs about twice the statement it
 * sends (query plan and result mapping); nothing is read back.
 */
export function rowInsert<T extends keyof InsertableRows>(table: T, row: InsertableRows[T]): Sql {
  const columns = INSERT_COLUMNS[table] as { names: Array<keyof InsertableRows[T]>; sql: Sql };
  const values = join(columns.names.map((name) => row[name]));
  return sql`INSERT INTO ${raw(`"${table}"`)} (${columns.sql}) VALUES (${values})`;
}

/** `(first, second), (first, second), …` for a multi-row INSERT. */
export const pairs = (first: string, seconds: readonly string[]) =>
  join(seconds.map((second) => sql`(${first}, ${second})`));

/**
 * One multi-row INSERT per grant table that has rows. Written out rather than createMany: Prisma
 * compiles a new query plan for every createMany call (its plan cache never hits one), which costs
 * more than the statement itself.
 */
export function grantInserts(apiKeyId: string, grants: Grants): Sql[] {
  const inserts: Sql[] = [];
  if (grants.roleNames.length > 0) {
    inserts.push(sql`INSERT INTO "ApiKeyRole" ("apiKeyId", "roleName") VALUES ${pairs(apiKeyId, grants.roleNames)}`);
  }
  if (grants.teamIds.length > 0) {
    inserts.push(sql`INSERT INTO "ApiKeyTeam" ("apiKeyId", "teamId") VALUES ${pairs(apiKeyId, grants.teamIds)}`);
  }
  if (grants.teamRoleNames.length > 0) {
    inserts.push(
      sql`INSERT INTO "ApiKeyTeamRole" ("apiKeyId", "roleName") VALUES ${pairs(apiKeyId, grants.teamRoleNames)}`,
    );
  }
  return inserts;
}

/**
 * Runs the writes of one change, inside its transaction. `writes` must not depend on one another:
 * none reads, rewrites or deletes a row that another one writes (a foreign key from one to another is
 * fine). `changedKeyId`: a key whose cached tokens other processes must drop once this commits.
 */
export type WriteAll = (tx: Tx, writes: readonly Sql[], changedKeyId?: string) => Promise<void>;

/** SQLite: one statement after the other (one process: nobody else to tell about a change). */
export const writeOneByOne: WriteAll = async (tx, writes) => {
  for (const write of writes) await tx.$executeRaw(write);
};

/**
 * PostgreSQL: every write in one statement, each a data-modifying WITH query, the main query a
 * pg_notify on `channel` of the changed key (delivered when the transaction commits). One round trip
 * instead of one per write, which matters most while the transaction holds a key's row lock. The
 * sub-statements share one snapshot and none sees another's rows, hence the rule of WriteAll; foreign
 * keys between them are checked at the end of the statement, after all of them ran.
 */
export function writeAsOneStatement(channel: string): WriteAll {
  return async (tx, writes, changedKeyId) => {
    const main = changedKeyId === undefined ? sql`SELECT 1` : sql`SELECT pg_notify(${channel}, ${changedKeyId})`;
    if (writes.length === 1 && changedKeyId === undefined) {
      await tx.$executeRaw(writes[0] as Sql);
      return;
    }
    if (writes.length === 0) {
      if (changedKeyId !== undefined) await tx.$executeRaw(main);
      return;
    }
    const withs = join(
      writes.map((write, i) => sql`${raw(`w${i}`)} AS (${write})`),
      ', ',
    );
    // $executeRaw: pg_notify returns void, a column type Prisma cannot read back.
    await tx.$executeRaw`WITH ${withs} ${main}`;
  };
}

/**
 * The teams of teamIds in the organization, in the order of teamIds, or the first id that is no team
 * of the organization.
 */
export async function readTeamsByIds(
  tx: Tx,
  organizationId: string,
  teamIds: readonly string[],
): Promise<{ teams: Array<{ id: string; name: string }>; missing?: string }> {
  if (teamIds.length === 0) return { teams: [] };
  const found = await tx.team.findMany({
    where: { organizationId, id: { in: [...teamIds] } },
    select: { id: true, name: true },
  });
  const teamOfId = new Map(found.map((team) => [team.id, team]));
  const missing = teamIds.find((id) => !teamOfId.has(id));
  return missing === undefined
    ? { teams: teamIds.map((id) => teamOfId.get(id) as { id: string; name: string }) }
    : { teams: [], missing };
}
