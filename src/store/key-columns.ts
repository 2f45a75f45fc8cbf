// The columns of "ApiKey" as the reads name them: written once, for the statements (src/store/dialect.ts,
// api-keys.ts, key-page.ts, tokens.ts) and the decoder that reads them by name (src/store/rows.ts).
// A new column of ApiKey goes into KEY_COLUMN_NAMES (and TIMESTAMP_COLUMNS if it is a time).

import { type Columns, columnsOf } from '../db/raw-read.ts';
import { raw, type Sql, sql } from '../db/sql.ts';
import type { ApiKeyRow } from '../domain/records.ts';

/** The columns of an ApiKeyRow. */
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

export const TIMESTAMP_COLUMNS: ReadonlySet<string> = new Set([
  'createdAt',
  'tokenLastIssuedAt',
  'lastUsedAt',
  'expiresAt',
]);

/**
 * KEY_COLUMN_NAMES of "ApiKey" read as `k`, then its "grants": the JSON text of the key's grants,
 * [role names, [[team id, team name], …], team role names], which the database's triggers keep equal to
 * the grant tables (prisma/migrations/20261207052756_key_grants; docs/database.md).
 */
export const KEY_COLUMNS = raw([...KEY_COLUMN_NAMES.map((name) => `k."${name}"`), 'k."grants"'].join(', '));

/** How a dialect gives a timestamp column of `p` (see Dialect.timestamp). */
interface Timestamps {
  timestamp(column: string): string;
}

const NO_EXTRA: readonly string[] = [];

/** Column lists already made, by dialect and `extra` (a constant of its statement). */
type Made = WeakMap<Timestamps, WeakMap<readonly string[], Sql>>;
const keyValuesOf: Made = new WeakMap();
const namedKeyColumnsOf: Made = new WeakMap();

/**
 * The column list `make` makes for `dialect` and `extra`, made once: the statements of a page and of a
 * key are built on every read, and their column lists are the same each time.
 */
function madeOnce(made: Made, dialect: Timestamps, extra: readonly string[], make: () => Sql): Sql {
  let byExtra = made.get(dialect);
  if (!byExtra) {
    byExtra = new WeakMap();
    made.set(dialect, byExtra);
  }
  let columns = byExtra.get(extra);
  if (!columns) {
    columns = make();
    byExtra.set(extra, columns);
  }
  return columns;
}

/**
 * KEY_COLUMN_NAMES of `p` as the first values of Dialect.keysAsJson, then the columns `extra` of `p`;
 * jsonColumns(extra) names them for decodeApiKey (src/store/rows.ts).
 */
export function keyValues(dialect: Timestamps, extra: readonly string[] = NO_EXTRA): Sql {
  return madeOnce(keyValuesOf, dialect, extra, () => {
    const columns = KEY_COLUMN_NAMES.map((name) =>
      TIMESTAMP_COLUMNS.has(name) ? dialect.timestamp(name) : `p."${name}"`,
    );
    return raw([...columns, ...extra.map((name) => `p."${name}"`)].join(', '));
  });
}

const jsonColumnsOf = new WeakMap<readonly string[], Columns>();

/**
 * The names of the values of each key of Dialect.keysAsJson read with keyValues(dialect, extra); made
 * once for each `extra` (the statements' lists are constants).
 */
export function jsonColumns(extra: readonly string[] = NO_EXTRA): Columns {
  let columns = jsonColumnsOf.get(extra);
  if (!columns) {
    columns = columnsOf([...KEY_COLUMN_NAMES, ...extra, 'grants']);
    jsonColumnsOf.set(extra, columns);
  }
  return columns;
}

/**
 * The keys of a Dialect.keysAsJson statement (each the array of its values, "id" first), newest first:
 * ordered by id, as the statements order keys (ids are ULIDs, which sort in the order they were made).
 */
export function newestFirst(keys: unknown[][]): unknown[][] {
  return keys.sort((a, b) => ((a[0] as string) < (b[0] as string) ? 1 : (a[0] as string) > (b[0] as string) ? -1 : 0));
}

/** KEY_COLUMN_NAMES of `p` named as in the table (timestamps by Dialect.timestamp), then `extra` of `p`. */
export function namedKeyColumns(dialect: Timestamps, extra: readonly string[]): Sql {
  return madeOnce(namedKeyColumnsOf, dialect, extra, () => {
    const columns = KEY_COLUMN_NAMES.map((name) =>
      TIMESTAMP_COLUMNS.has(name) ? `${dialect.timestamp(name)} AS "${name}"` : `p."${name}"`,
    );
    return raw([...columns, ...extra.map((name) => `p."${name}"`)].join(', '));
  });
}

/** The columns of the user who created a key, beside the key's in a row (see decodeUser, src/store/rows.ts). */
export const CREATOR_USER_COLUMNS = ['userEmail', 'userName', 'userRole', 'userSlackUserId'] as const;

/**
 * KEY_COLUMNS of `k`, then CREATOR_USER_COLUMNS of the user `u` who created it, if a user did, from `k`
 * joined to `u` (a LEFT JOIN: the user's columns are all null otherwise); a WHERE on `k` may follow.
 */
export const KEYS_WITH_CREATOR_USERS = sql`SELECT ${KEY_COLUMNS},
           u."email" AS "userEmail", u."name" AS "userName", u."role" AS "userRole", u."slackUserId" AS "userSlackUserId"
      FROM "ApiKey" k LEFT JOIN "User" u ON u."id" = k."creatorUserId" AND u."organizationId" = k."organizationId"`;
