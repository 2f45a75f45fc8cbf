// Row decoders: one per table, each reading the columns of its table by name, on either database.
// A statement that reads rows for them (Dialect.keyRows, src/store/dialect.ts; the audit log's page,
// src/store/audit.ts) names its columns as the table does, and gives the values as the raw readers get
// them (src/db/raw-read.ts), each row an array found by name through the statement's columns:
// timestamps as milliseconds since the epoch (Dialect.timestamp: a number on SQLite, its text on
// PostgreSQL), grants as the key's "grants" column holds them (JSON). A row is decoded
// once, straight into the record the resolvers return.
import type { Columns } from '../db/raw-read.ts';
import type { Grants } from '../domain/access.ts';
import type { UserRecord } from '../domain/organizations.ts';
import type { ApiKeyRecord, ApiKeyRow, AuditAction, AuditDetails, AuditEventRecord } from '../domain/records.ts';
import type { RoleCatalogue } from '../domain/roles.ts';
import { KEY_COLUMN_NAMES } from './key-columns.ts';

const compareById = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The value of the column `name` of `row` (undefined when the statement has no such column). */
const valueIn = (columns: Columns) => (row: readonly unknown[], name: string) => row[columns[name] ?? -1];

const dateOf = (value: unknown): Date => new Date(Number(value));
const optionalDateOf = (value: unknown): Date | null => (value == null ? null : dateOf(value));

/** The grants of a key as its "grants" column holds them: role names, [id, name] of each team, team role names. */
export type GrantsValue = [string[], Array<[string, string]>, string[]];

/**
 * A key with its grants as its "grants" column holds them (parsed), in canonical order (roles as in the
 * catalogue, teams by id): a listed or shown key, a token's key.
 */
export function recordWithGrants(key: ApiKeyRow, grants: GrantsValue, catalogue: RoleCatalogue): ApiKeyRecord {
  const [roleNames, teamPairs, teamRoleNames] = grants;
  const teams = teamPairs.map(([id, name]) => ({ id, name }));
  if (teams.length > 1) teams.sort(compareById);
  // Written out rather than spread: every record has the same shape, built at a fraction of the cost.
  return {
    id: key.id,
    organizationId: key.organizationId,
    name: key.name,
    createdAt: key.createdAt,
    tokenLastIssuedAt: key.tokenLastIssuedAt,
    lastUsedAt: key.lastUsedAt,
    creatorKeyId: key.creatorKeyId,
    creatorKeyName: key.creatorKeyName,
    creatorUserId: key.creatorUserId,
    expiresAt: key.expiresAt,
    teams,
    grants: {
      roleNames: roleNames.sort(catalogue.compare),
      teamIds: teams.map((team) => team.id),
      teamRoleNames: teamRoleNames.sort(catalogue.compare),
    },
  };
}

/** Where each value decodeApiKey reads is in a row of some Columns (-1: the statement has none). */
type KeyIndexes = Readonly<Record<(typeof KEY_VALUES)[number], number>>;
const KEY_VALUES = [...KEY_COLUMN_NAMES, 'grants'] as const;
const keyIndexesOf = new WeakMap<Columns, KeyIndexes>();

/**
 * The indexes of KEY_VALUES in rows of `columns`, found once for each Columns: a statement's Columns
 * are made once (src/db/raw-read.ts), and a page decodes dozens of rows with them.
 */
function keyIndexes(columns: Columns): KeyIndexes {
  let indexes = keyIndexesOf.get(columns);
  if (!indexes) {
    indexes = Object.fromEntries(KEY_VALUES.map((name) => [name, columns[name] ?? -1])) as KeyIndexes;
    keyIndexesOf.set(columns, indexes);
  }
  return indexes;
}

/**
 * An "ApiKey" row with its grants: the key's columns, then "grants", the JSON of [role names, [[team id,
 * team name], …], team role names] (text as the column holds it, or already parsed, within the JSON of
 * a whole page: Dialect.keysAsJson).
 */
export function decodeApiKey(row: readonly unknown[], columns: Columns, catalogue: RoleCatalogue): ApiKeyRecord {
  const at = keyIndexes(columns);
  const value = row[at.grants];
  return recordWithGrants(
    {
      id: row[at.id] as string,
      organizationId: row[at.organizationId] as string,
      name: row[at.name] as string,
      createdAt: dateOf(row[at.createdAt]),
      tokenLastIssuedAt: dateOf(row[at.tokenLastIssuedAt]),
      lastUsedAt: optionalDateOf(row[at.lastUsedAt]),
      creatorKeyId: (row[at.creatorKeyId] ?? null) as string | null,
      creatorKeyName: (row[at.creatorKeyName] ?? null) as string | null,
      creatorUserId: (row[at.creatorUserId] ?? null) as string | null,
      expiresAt: optionalDateOf(row[at.expiresAt]),
    },
    (typeof value === 'string' ? JSON.parse(value) : value) as GrantsValue,
    catalogue,
  );
}

/** The "User" columns of a row, prefixed "user" ("userEmail", …), of the user `id`; null when absent. */
export function decodeUser(
  row: readonly unknown[],
  columns: Columns,
  id: string,
  organizationId: string,
): UserRecord | null {
  const at = valueIn(columns);
  if (at(row, 'userEmail') == null) return null;
  return {
    id,
    organizationId,
    email: at(row, 'userEmail') as string,
    name: at(row, 'userName') as string,
    role: at(row, 'userRole') as string,
    slackUserId: (at(row, 'userSlackUserId') ?? null) as string | null,
  };
}

function grantsFromJson(text: string | null): Grants | null {
  if (text === null) return null;
  const { roleNames, teamIds, teamRoleNames } = JSON.parse(text) as Grants;
  return { roleNames, teamIds, teamRoleNames };
}

function detailsFromJson(text: string | null): AuditDetails | null {
  if (text === null) return null;
  const stored = JSON.parse(text) as {
    previousName?: string;
    gracePeriodMinutes?: number;
    previousTokenExpiresAt?: string;
    expiresAt?: string | null;
    previousExpiresAt?: string | null;
  };
  return {
    previousName: stored.previousName ?? null,
    gracePeriodMinutes: stored.gracePeriodMinutes ?? null,
    previousTokenExpiresAt: stored.previousTokenExpiresAt ? new Date(stored.previousTokenExpiresAt) : null,
    expiresAt: stored.expiresAt ? new Date(stored.expiresAt) : null,
    previousExpiresAt: stored.previousExpiresAt ? new Date(stored.previousExpiresAt) : null,
    expiryRecorded: stored.expiresAt !== undefined,
  };
}

/**
 * An "AuditEvent" row, its columns by name (src/store/audit.ts, auditPageStatement): createdAt as
 * milliseconds since the epoch, grants and details as the JSON text they are stored as.
 */
export function decodeAuditEvent(row: readonly unknown[], columns: Columns): AuditEventRecord {
  const at = valueIn(columns);
  const text = (name: string) => (at(row, name) ?? null) as string | null;
  const actorKeyId = text('actorKeyId');
  const actorUserId = text('actorUserId');
  return {
    id: at(row, 'id') as string,
    action: at(row, 'action') as AuditAction,
    createdAt: dateOf(at(row, 'createdAt')),
    actor: {
      apiKey: actorKeyId !== null ? { id: actorKeyId, name: text('actorKeyName') ?? '' } : null,
      user:
        actorUserId !== null
          ? { id: actorUserId, email: text('actorUserEmail') ?? '', name: text('actorUserName') ?? '' }
          : null,
    },
    target: { id: at(row, 'targetKeyId') as string, name: at(row, 'targetKeyName') as string },
    grantsBefore: grantsFromJson(text('grantsBefore')),
    grantsAfter: grantsFromJson(text('grantsAfter')),
    details: detailsFromJson(text('details')),
  };
}
