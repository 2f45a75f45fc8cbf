// Reading and writing API keys with their grants and tokens. Reads take a client that may be a
// transaction, so the operations (src/domain/api-keys.ts) can compose them inside one; writes are
// statements, which the operation hands, all the writes of one change together, to Dialect.write,
// which runs them in its transaction.

import type { ApiKeyToken, Tx } from '../db/client.ts';
import { type ReadRows, rowObjects } from '../db/raw-read.ts';
import { prismaReader, type Reader } from '../db/reader.ts';
import { empty, join, raw, type Sql, sql } from '../db/sql.ts';
import type { Grants } from '../domain/access.ts';
import type { UserRecord } from '../domain/organizations.ts';
import type { ApiKeyRecord, ApiKeyRow } from '../domain/records.ts';
import type { RoleCatalogue } from '../domain/roles.ts';
import type { Dialect } from './dialect.ts';
import { pairs, rowInsert } from './inserts.ts';
import {
  CREATOR_USER_COLUMNS,
  jsonColumns,
  KEY_COLUMNS,
  KEYS_WITH_CREATOR_USERS,
  keyValues,
  newestFirst,
} from './key-columns.ts';
import { decodeApiKey, decodeUser } from './rows.ts';

/** How keys are read: the catalogue orders roles, the dialect reads grants. */
export interface KeyReading {
  catalogue: RoleCatalogue;
  dialect: Dialect;
}

/** KeyReading inside a mutation's transaction: on SQLite, with the transaction's own connection's reads. */
type TransactionReading = KeyReading & { transactionRows?: ReadRows | undefined };

const KEY_JSON_COLUMNS = jsonColumns();

/** The keys of a Dialect.keysAsJson statement's one row, newest first. */
const keysOfResult = (rows: Array<{ keys: string }>): unknown[][] =>
  rows.length === 0 ? [] : newestFirst(JSON.parse(rows[0]?.keys as string) as unknown[][]);

/** One key of an organization with its grants and team names, in one statement, read by `read`. */
async function readKey(
  read: Reader,
  reading: KeyReading,
  organizationId: string,
  id: string,
  lock: Sql,
): Promise<ApiKeyRecord | null> {
  const statement = reading.dialect.keysAsJson(
    sql`SELECT ${KEY_COLUMNS} FROM "ApiKey" k WHERE k."id" = ${id} AND k."organizationId" = ${organizationId} ${lock}`,
    keyValues(reading.dialect),
  );
  const [values] = keysOfResult(await read<{ keys: string }>(statement));
  return values ? decodeApiKey(values, KEY_JSON_COLUMNS, reading.catalogue) : null;
}

/** One key of an organization with its grants and team names, through the Prisma client `tx`. */
export const readApiKey = (
  tx: Tx,
  reading: KeyReading,
  organizationId: string,
  id: string,
  lock: Sql = empty,
): Promise<ApiKeyRecord | null> => readKey(prismaReader(tx), reading, organizationId, id, lock);

/** A key as apiKey(id) shows it: with the user who created it, if a user did. */
export interface ShownKey {
  key: ApiKeyRecord;
  creatorUser: UserRecord | null;
}

/**
 * readApiKey of committed data, outside any transaction, straight on the driver (src/db/raw-read.ts),
 * with the user who created the key in the same statement, as a page of keys has them (src/store/key-page.ts):
 * `creator { user }` then needs no statement of its own.
 */
export async function readCommittedApiKey(
  reading: KeyReading & { readRows: ReadRows },
  organizationId: string,
  id: string,
): Promise<ShownKey | null> {
  const query = reading.dialect.keyRows(
    sql`${KEYS_WITH_CREATOR_USERS} WHERE k."id" = ${id} AND k."organizationId" = ${organizationId}`,
    CREATOR_USER_COLUMNS,
  );
  const { columns, rows } = query.rowsOf(await reading.readRows(query.statement));
  const [row] = rows;
  if (!row) return null;
  const key = decodeApiKey(row, columns, reading.catalogue);
  const creator = key.creatorUserId;
  return { key, creatorUser: creator === null ? null : decodeUser(row, columns, creator, organizationId) };
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
 * PostgreSQL, Dialect.targetLock; the database write lock on SQLite), so concurrent changes to the same
 * key run one after the other, and returns the key as it is then: the one read of the target a change
 * makes, on which it judges its rules.
 *
 * On PostgreSQL the lock and the read are one statement: every column read is of the key's own row (its
 * grants are the row's "grants" column, kept by the database's triggers), and a row lock that waited for
 * another transaction hands the statement the row as that transaction left it (PostgreSQL re-reads a
 * locked row that changed meanwhile). One round trip fewer while the lock is held, which is what bounds
 * how many changes of one key commit a second. On SQLite the transaction holds the database's write lock
 * from its first statement (isolateSqliteTransactions, src/db/client.ts), so no read is of a snapshot
 * older than the lock.
 */
export function lockApiKey(
  tx: Tx,
  reading: TransactionReading,
  organizationId: string,
  id: string,
): Promise<ApiKeyRecord | null> {
  return readInTransaction(tx, reading, organizationId, id, reading.dialect.targetLock);
}

/**
 * readApiKey inside a mutation's transaction, by transactionReader: on SQLite, whose reads take no lock,
 * on the transaction's own connection without Prisma's cost per query, the same statement in the same
 * transaction; through the transaction's client otherwise.
 */
function readInTransaction(
  tx: Tx,
  reading: TransactionReading,
  organizationId: string,
  id: string,
  lock: Sql,
): Promise<ApiKeyRecord | null> {
  return readKey(transactionReader(reading, tx), reading, organizationId, id, lock);
}

/**
 * Reads inside a mutation's transaction `tx`: on SQLite on the transaction's own connection
 * (Domain.transactionRows), on PostgreSQL through the transaction's client, on the connection it holds
 * (after any row lock the transaction took there).
 */
const transactionReader = (reading: TransactionReading, tx: Tx): Reader =>
  reading.transactionRows ? rowObjects(reading.transactionRows) : prismaReader(tx);

const CALLER_COLUMNS = jsonColumns(['tokenExpiresAt']);

/**
 * The caller as it is now, read inside a mutation's transaction in one statement: its own key and when
 * the token `tokenId` it sent stops working by its own expiry (the end of a rotation's grace period;
 * null for none). Null when the key or the token is gone (a deletion, a rotation with grace 0).
 *
 * Both rows are locked (Dialect.callerLock): on PostgreSQL a deletion or rotation of the key (which
 * locks it FOR UPDATE first, targetLock) cannot commit until the mutation has, and one in progress is
 * waited for. A row lock that waited hands the statement each row as the other change left it (a
 * removed token: no row; a token given a grace period: its new expiry; PostgreSQL re-reads a locked row
 * that changed), which is why the token is locked too and not read beside the key: a row only read
 * would be seen as it was when the statement started, before the wait.
 */
export async function lockCaller(
  tx: Tx,
  reading: TransactionReading,
  organizationId: string,
  keyId: string,
  tokenId: string,
): Promise<{ key: ApiKeyRecord; tokenExpiresAt: Date | null } | null> {
  const { dialect } = reading;
  const statement = dialect.keysAsJson(
    sql`SELECT ${KEY_COLUMNS}, t."expiresAt" AS "tokenExpiresAt"
          FROM "ApiKey" k JOIN "ApiKeyToken" t ON t."apiKeyId" = k."id" AND t."id" = ${tokenId}
         WHERE k."id" = ${keyId} AND k."organizationId" = ${organizationId} ${dialect.callerLock}`,
    sql`${keyValues(dialect)}, ${raw(dialect.timestamp('tokenExpiresAt'))}`,
  );
  const [values] = keysOfResult(await transactionReader(reading, tx)<{ keys: string }>(statement));
  if (!values) return null;
  const expiresAt = values[CALLER_COLUMNS.tokenExpiresAt as number];
  return {
    key: decodeApiKey(values, CALLER_COLUMNS, reading.catalogue),
    tokenExpiresAt: expiresAt === null ? null : new Date(Number(expiresAt)),
  };
}

/**
 * When the token `tokenId` of the key `keyId` stops working by its own expiry (the end of a rotation's
 * grace period), as it is now, read inside a mutation's transaction: null for a token with none,
 * undefined when the token is gone (a rotation with grace 0 or a deletion removed it).
 */
export async function callerTokenExpiry(
  tx: Tx,
  reading: TransactionReading,
  keyId: string,
  tokenId: string,
): Promise<Date | null | undefined> {
  const [row] = await transactionReader(
    reading,
    tx,
  )<{ expiresAt: number | bigint | string | null }>(
    sql`SELECT ${raw(reading.dialect.timestamp('expiresAt'))} AS "expiresAt" FROM "ApiKeyToken" p
         WHERE p."id" = ${tokenId} AND p."apiKeyId" = ${keyId}`,
  );
  if (!row) return undefined;
  return row.expiresAt === null ? null : new Date(Number(row.expiresAt));
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
  reading: TransactionReading,
  organizationId: string,
  atMost: number,
  mode: 'shared' | 'exclusive',
): Promise<{ keys: number; inFlight: number }> {
  const lock = reading.dialect.organizationLock;
  if (lock) await tx.$queryRaw(lock.statement(organizationId, mode));
  // Bounded: an organization far past the limit (seeded directly, or before the limit existed) costs
  // no more than one at it.
  const concurrency = lock && mode === 'shared' ? lock.concurrency : sql`1`;
  const count = sql`
    SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM "ApiKey" WHERE "organizationId" = ${organizationId}
                                  LIMIT ${raw(String(atMost))}) c) AS "keys",
           ${concurrency} AS "inFlight"`;
  const [row] = await transactionReader(reading, tx)<{ keys: number | bigint; inFlight: number | bigint }>(count);
  return { keys: Number(row?.keys ?? 0), inFlight: Number(row?.inFlight ?? 1) };
}

/**
 * The teams of teamIds in the organization, in the order of teamIds, or the first id that is no team
 * of the organization: the teams of a change's grants, with their names for its result. Read inside the
 * change's transaction `tx` (on SQLite on its own connection, Domain.transactionRows), or of committed
 * data when `tx` is null (a mutation's gate, before its transaction). A raw statement: Prisma's findMany
 * compiles a new plan for each `in` list it is given, which costs more than the statement.
 */
export async function readGrantedTeams(
  reading: TransactionReading & { readRows: ReadRows },
  tx: Tx | null,
  organizationId: string,
  teamIds: readonly string[],
): Promise<{ teams: Array<{ id: string; name: string }>; missing?: string }> {
  if (teamIds.length === 0) return { teams: [] };
  const read = tx === null ? rowObjects(reading.readRows) : transactionReader(reading, tx);
  const found = await read<{ id: string; name: string }>(
    sql`SELECT "id", "name" FROM "Team" WHERE "organizationId" = ${organizationId} AND "id" IN (${join([...teamIds])})`,
  );
  const teamOfId = new Map(found.map((team) => [team.id, team]));
  const missing = teamIds.find((id) => !teamOfId.has(id));
  return missing === undefined
    ? { teams: teamIds.map((id) => teamOfId.get(id) as { id: string; name: string }) }
    : { teams: [], missing };
}

// ---- writes ------------------------------------------------------------------------------------

/** Removes every grant of a key: one DELETE per grant table. */
export const grantDeletes = (apiKeyId: string): Sql[] => [
  sql`DELETE FROM "ApiKeyRole" WHERE "apiKeyId" = ${apiKeyId}`,
  sql`DELETE FROM "ApiKeyTeam" WHERE "apiKeyId" = ${apiKeyId}`,
  sql`DELETE FROM "ApiKeyTeamRole" WHERE "apiKeyId" = ${apiKeyId}`,
];

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

/** The INSERTs of a new key and its grants. */
export const keyInserts = (row: ApiKeyRow, grants: Grants): Sql[] => [
  rowInsert('ApiKey', row),
  ...grantInserts(row.id, grants),
];

/** The INSERT of a token of a key; only its hash is stored. */
export const tokenInsert = (token: ApiKeyToken): Sql => rowInsert('ApiKeyToken', token);

/** The new name and expiry of a key (its grants: grantDeletes, then grantInserts, in a later batch). */
export const keyRename = (id: string, name: string, expiresAt: Date | null): Sql =>
  sql`UPDATE "ApiKey" SET "name" = ${name}, "expiresAt" = ${expiresAt} WHERE "id" = ${id}`;

/**
 * What a rotation at `now` does to a key's tokens but the new one: afterwards the key holds only tokens
 * that still work, the new one and those in a grace period. Tokens from earlier rotations keep their
 * expiry, or go if it has passed; the one that was current gets `graceEnd` as its expiry, or goes at once
 * when there is no grace (`graceEnd` null). Then the key's tokenLastIssuedAt. (The expired tokens deleted
 * and the current one given an expiry are different rows: see WriteAll.)
 */
export function rotationWrites(id: string, now: Date, graceEnd: Date | null): Sql[] {
  const issued = sql`UPDATE "ApiKey" SET "tokenLastIssuedAt" = ${now} WHERE "id" = ${id}`;
  if (graceEnd === null) {
    return [
      sql`DELETE FROM "ApiKeyToken" WHERE "apiKeyId" = ${id} AND ("expiresAt" IS NULL OR "expiresAt" <= ${now})`,
      issued,
    ];
  }
  return [
    sql`DELETE FROM "ApiKeyToken" WHERE "apiKeyId" = ${id} AND "expiresAt" <= ${now}`,
    sql`UPDATE "ApiKeyToken" SET "expiresAt" = ${graceEnd} WHERE "apiKeyId" = ${id} AND "expiresAt" IS NULL`,
    issued,
  ];
}

/** Deletes a key; its tokens and grants go with it (ON DELETE CASCADE). */
export const keyDelete = (id: string): Sql => sql`DELETE FROM "ApiKey" WHERE "id" = ${id}`;
