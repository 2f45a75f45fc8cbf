// Whole-row INSERTs of the tables the write paths fill (keys, tokens, audit events), and multi-row
// INSERTs of pairs (grants, an event's teams).

import type { ApiKey, ApiKeyToken, AuditEvent } from '../db/client.ts';
import { join, raw, type Sql, sql } from '../db/sql.ts';

/** The column names of a table's rows, each listed (exhaustive: the compiler checks). */
function insertColumns<Row>(columns: Record<keyof Row, true>): { names: Array<keyof Row>; sql: Sql } {
  const names = Object.keys(columns) as Array<keyof Row>;
  return { names, sql: raw(names.map((name) => `"${String(name)}"`).join(', ')) };
}

/**
 * A key's row as the write paths insert it: every column but "grants", which starts empty and which the
 * database's triggers on the grant tables write (src/store/key-columns.ts, KEY_COLUMNS).
 */
type ApiKeyInsert = Omit<ApiKey, 'grants'>;

/** Every column of each table the write paths insert whole rows into. */
const INSERT_COLUMNS = {
  ApiKey: insertColumns<ApiKeyInsert>({
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
  ApiKeyToken: insertColumns<ApiKeyToken>({ id: true, apiKeyId: true, hash: true, createdAt: true, expiresAt: true }),
  AuditEvent: insertColumns<AuditEvent>({
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

interface InsertableRows {
  ApiKey: ApiKeyInsert;
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
