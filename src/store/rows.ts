// Row decoders: one per table, each reading the columns of its table by name, on either database.
// A statement that reads rows for them (Dialect.keyRows, src/domain/store.ts) names its columns as
// the table does, and gives the values as the raw readers get them (src/db/raw-read.ts), each row an
// array found by name through the statement's columns: timestamps
// as milliseconds since the epoch (a number on SQLite, its text on PostgreSQL), grants as the JSON
// text of an array (or null when the key has none). A row is decoded once, straight into the record
// the resolvers return.
import type { Columns } from '../db/raw-read.ts';
import type { UserRecord } from '../domain/organizations.ts';
import type { ApiKeyRecord, ApiKeyRow } from '../domain/records.ts';
import type { RoleCatalogue } from '../domain/roles.ts';

const compareById = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A key with its grants, in canonical order (roles as in the catalogue, teams by id). */
export function recordOf(
  key: ApiKeyRow,
  roleNames: string[],
  teams: Array<{ id: string; name: string }>,
  teamRoleNames: string[],
  catalogue: RoleCatalogue,
): ApiKeyRecord {
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
    // PostgreSQL's integer may come as a bigint.
    version: key.version == null ? undefined : Number(key.version),
    teams,
    grants: {
      roleNames: roleNames.sort(catalogue.compare),
      teamIds: teams.map((team) => team.id),
      teamRoleNames: teamRoleNames.sort(catalogue.compare),
    },
  };
}

/** The value of the column `name` of `row` (undefined when the statement has no such column). */
const valueIn = (columns: Columns) => (row: readonly unknown[], name: string) => row[columns[name] ?? -1];

const dateOf = (value: unknown): Date => new Date(Number(value));
const optionalDateOf = (value: unknown): Date | null => (value == null ? null : dateOf(value));

/** A JSON array of a grant column; null and '[]' (no grant) without parsing. */
function arrayOf<T>(value: unknown): T[] {
  if (value == null) return [];
  if (typeof value !== 'string') return value as T[];
  return value === '[]' ? [] : (JSON.parse(value) as T[]);
}

/**
 * An "ApiKey" row with its grants: the key's columns, then "roleNames" and "teamRoleNames" (JSON arrays
 * of role names) and "teams" (a JSON array of [id, name] pairs). "version", when the row has it.
 */
export function decodeApiKey(row: readonly unknown[], columns: Columns, catalogue: RoleCatalogue): ApiKeyRecord {
  const at = valueIn(columns);
  const teams = arrayOf<[string, string]>(at(row, 'teams')).map(([id, name]) => ({ id, name }));
  return recordOf(
    {
      id: at(row, 'id') as string,
      organizationId: at(row, 'organizationId') as string,
      name: at(row, 'name') as string,
      createdAt: dateOf(at(row, 'createdAt')),
      tokenLastIssuedAt: dateOf(at(row, 'tokenLastIssuedAt')),
      lastUsedAt: optionalDateOf(at(row, 'lastUsedAt')),
      creatorKeyId: (at(row, 'creatorKeyId') ?? null) as string | null,
      creatorKeyName: (at(row, 'creatorKeyName') ?? null) as string | null,
      creatorUserId: (at(row, 'creatorUserId') ?? null) as string | null,
      expiresAt: optionalDateOf(at(row, 'expiresAt')),
      version: at(row, 'version') as number | undefined,
    },
    arrayOf<string>(at(row, 'roleNames')),
    teams,
    arrayOf<string>(at(row, 'teamRoleNames')),
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
