// The list of keys (`apiKeys`): a page of the keys visible to the caller that meet the filter, newest
// first, in one statement whatever the page size and filter.
import * as Prisma from '../db/sql.ts';
import { decodeApiKey, decodeUser } from '../store/rows.ts';
import { requireManager } from './api-keys.ts';
import { decodeCursor, parsePageSize } from './input.ts';
import { type ListFilter, type ListFilterInput, parseListFilter } from './list-filter.ts';
import type { UserRecord } from './organizations.ts';
import { type ApiKeyRecord, type Dialect, KEY_COLUMNS } from './store.ts';
import type { Caller, Domain } from './types.ts';

export interface ListArgs {
  first?: number | null;
  after?: string | null;
  filter?: ListFilterInput | null;
}

export interface ParsedListArgs {
  first: number;
  afterId: string | null;
  filter: ListFilter;
}

/** Page size, filter and cursor checked, in that order (a cursor is checked against its filter). */
export function parseListArgs(args: ListArgs): ParsedListArgs {
  const first = parsePageSize(args.first);
  const filter = parseListFilter(args.filter);
  const afterId = args.after == null ? null : decodeCursor(args.after, filter.key);
  return { first, afterId, filter };
}

/**
 * The keys a caller can see (docs/rules.md, Visibility), as a condition on `k`, a row of "ApiKey" of the
 * caller's organization: every key for an account manager; for a team manager, a key with no account
 * role, at least one team, and no team outside the caller's.
 */
function visibleKeysSql(caller: Caller): Prisma.Sql {
  if (caller.access.isAccountManager) return Prisma.empty;
  const managed = caller.access.managedTeamIds;
  if (managed.length === 0) return Prisma.sql`AND 1 = 0`;
  const teams = Prisma.join(managed);
  // The keys of the caller's teams first (the index on the team of "ApiKeyTeam"): a team manager's page
  // reads the keys of its teams, not every key of the organization (at 1M keys, none of them in its
  // teams: 1.1 s a page on SQLite when the organization's keys were walked newest first).
  return Prisma.sql`
    AND k."id" IN (SELECT vt."apiKeyId" FROM "ApiKeyTeam" vt WHERE vt."teamId" IN (${teams}))
    AND NOT EXISTS (SELECT 1 FROM "ApiKeyRole" r WHERE r."apiKeyId" = k."id")
    AND NOT EXISTS (SELECT 1 FROM "ApiKeyTeam" t WHERE t."apiKeyId" = k."id" AND t."teamId" NOT IN (${teams}))`;
}

/** The conditions of the filter on `k`, each one the same on both databases. */
function filterSql(dialect: Dialect, filter: ListFilter): Prisma.Sql {
  if (filter.key === '') return Prisma.empty;
  const conditions: Prisma.Sql[] = [];
  if (filter.nameContains !== undefined) conditions.push(dialect.nameContains(filter.nameContains));
  if (filter.teamId !== undefined) {
    conditions.push(
      Prisma.sql`AND k."id" IN (SELECT ft."apiKeyId" FROM "ApiKeyTeam" ft WHERE ft."teamId" = ${filter.teamId})`,
    );
  }
  if (filter.expiringBefore !== undefined) conditions.push(dialect.expiresBefore(filter.expiringBefore));
  return Prisma.join(conditions, ' ');
}

/** The row limits of a page's statement: the first one above the page size (1 to 250) is used. */
const ROW_LIMITS = [2, 11, 26, 51, 101, 251];

/**
 * A page of the keys visible to the caller, newest first, with their grants and the users who created
 * them: one statement whatever the page size.
 */
export async function listApiKeys(domain: Domain, caller: Caller, args: ListArgs): Promise<Page> {
  const { first, afterId, filter } = parseListArgs(args);
  requireManager(caller);
  // Callers who see the same keys share the page (docs/rules.md, Visibility).
  const visibility = caller.access.isAccountManager ? '*' : caller.access.managedTeamIds.join(',');
  const key = `page\0${caller.key.organizationId}\0${visibility}\0${afterId ?? ''}\0${first}\0${filter.key}`;
  return domain.reads.read(
    key,
    () => readPage(domain, caller, first, afterId, filter),
    (page) => page.keys.length + 1,
  );
}

export interface Page {
  keys: ApiKeyRecord[];
  hasNextPage: boolean;
  creatorUsers: UserRecord[];
  /** The key of the filter it was read under, for its cursors. */
  filterKey: string;
}

/** The columns of the user who created a key, beside the key's in a page's rows (see decodeUser). */
const USER_COLUMNS = ['userEmail', 'userName', 'userRole', 'userSlackUserId'] as const;

/**
 * The statement of a page: the keys visible to `caller` under `filter` after `afterId`, newest first,
 * with the users who created them, as Dialect.keyRows's rows. At most `limit` keys.
 */
export function pageStatement(
  dialect: Dialect,
  caller: Caller,
  limit: number,
  afterId: string | null,
  filter: ListFilter,
): Prisma.Sql {
  const page = Prisma.sql`
    SELECT ${KEY_COLUMNS},
           u."email" AS "userEmail", u."name" AS "userName", u."role" AS "userRole", u."slackUserId" AS "userSlackUserId"
      FROM "ApiKey" k LEFT JOIN "User" u ON u."id" = k."creatorUserId" AND u."organizationId" = k."organizationId"
     WHERE k."organizationId" = ${caller.key.organizationId} ${afterId ? Prisma.sql`AND k."id" < ${afterId}` : Prisma.empty}
       ${visibleKeysSql(caller)} ${filterSql(dialect, filter)}
     ORDER BY k."id" DESC
     LIMIT ${Prisma.raw(String(limit))}`;
  // Beside the key's columns, those of the user who created it, if a user did (a LEFT JOIN: all null otherwise).
  return dialect.keyRows(page, USER_COLUMNS);
}

/** The row limit of a page of `first` keys: one more, rounded up to one of ROW_LIMITS. */
export const rowLimit = (first: number) => ROW_LIMITS.find((rows) => rows > first) ?? first + 1;

async function readPage(
  domain: Domain,
  caller: Caller,
  first: number,
  afterId: string | null,
  filter: ListFilter,
): Promise<Page> {
  const organizationId = caller.key.organizationId;
  // The limit is written into the SQL: PostgreSQL's generic plan for the prepared statement
  // (src/db/statement-cache.ts) would otherwise assume a tenth of the table and join the grants of that
  // many keys (measured at 1M keys: 0.7 s, against 5 ms with the literal). It is one of a few sizes, so
  // that page sizes do not each make a statement of their own; the rows past first + 1 are dropped.
  const statement = pageStatement(domain.dialect, caller, rowLimit(first), afterId, filter);
  const { columns, rows } = await domain.readRows(statement);
  const creatorUsers = new Map<string, UserRecord>();
  const keys: ApiKeyRecord[] = [];
  const count = Math.min(rows.length, first);
  for (let i = 0; i < count; i++) {
    const row = rows[i] as unknown[];
    const key = decodeApiKey(row, columns, domain.catalogue);
    const creator = key.creatorUserId;
    if (creator !== null && !creatorUsers.has(creator)) {
      const user = decodeUser(row, columns, creator, organizationId);
      if (user) creatorUsers.set(creator, user);
    }
    keys.push(key);
  }
  return { keys, hasNextPage: rows.length > first, creatorUsers: [...creatorUsers.values()], filterKey: filter.key };
}
