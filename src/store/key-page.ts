// The statement of a page of `apiKeys` and its decoding: the keys visible to the caller that meet the
// filter, newest first, with their grants and the users who created them, in one statement whatever
// the page size and filter (src/domain/key-list.ts decides what is read).
import type { ReadRows } from '../db/raw-read.ts';
import { empty, join, raw, type Sql, sql } from '../db/sql.ts';
import type { ListFilter } from '../domain/list-filter.ts';
import type { UserRecord } from '../domain/organizations.ts';
import type { ApiKeyRecord, Page } from '../domain/records.ts';
import type { RoleCatalogue } from '../domain/roles.ts';
import type { Dialect, KeyRowsQuery } from './dialect.ts';
import { CREATOR_USER_COLUMNS, KEYS_WITH_CREATOR_USERS } from './key-columns.ts';
import { decodeApiKey, decodeUser } from './rows.ts';

/** The conditions of the filter on `k`, each one the same on both databases. */
function filterSql(dialect: Dialect, filter: ListFilter): Sql {
  if (filter.key === '') return empty;
  const conditions: Sql[] = [];
  if (filter.nameContains !== undefined) conditions.push(dialect.nameContains(filter.nameContains));
  if (filter.teamId !== undefined) {
    conditions.push(
      sql`AND k."id" IN (SELECT ft."apiKeyId" FROM "ApiKeyTeam" ft WHERE ft."teamId" = ${filter.teamId})`,
    );
  }
  if (filter.expiringBefore !== undefined) conditions.push(dialect.expiresBefore(filter.expiringBefore));
  return join(conditions, ' ');
}

/** The row limits of a page's statement: the first one above the page size (1 to 250) is used. */
const ROW_LIMITS = [2, 11, 26, 51, 101, 251];

/** The row limit of a page of `first` keys: one more, rounded up to one of ROW_LIMITS. */
export const rowLimit = (first: number) => ROW_LIMITS.find((rows) => rows > first) ?? first + 1;

/** What a page reads: the caller's organization, the keys it sees (visibleKeysSql), the filter. */
export interface PageQuery {
  organizationId: string;
  /** A condition on `k`: the keys visible to the caller (src/domain/access.ts, visibleKeysSql). */
  visible: Sql;
  first: number;
  afterId: string | null;
  filter: ListFilter;
}

/**
 * The statement of a page: the keys of `visible` under `filter` after `afterId`, newest first, with the
 * users who created them, as Dialect.keyRows's rows. At most `limit` keys.
 */
export function pageStatement(dialect: Dialect, query: Omit<PageQuery, 'first'>, limit: number): KeyRowsQuery {
  const page = sql`
    ${KEYS_WITH_CREATOR_USERS}
     WHERE k."organizationId" = ${query.organizationId} ${query.afterId ? sql`AND k."id" < ${query.afterId}` : empty}
       ${query.visible} ${filterSql(dialect, query.filter)}
     ORDER BY k."id" DESC
     LIMIT ${raw(String(limit))}`;
  return dialect.keyRows(page, CREATOR_USER_COLUMNS);
}

/** A page of keys, read and decoded. */
export async function readPage(
  reading: { dialect: Dialect; catalogue: RoleCatalogue; readRows: ReadRows },
  query: PageQuery,
): Promise<Page> {
  const { organizationId, first } = query;
  // The limit is written into the SQL: PostgreSQL's generic plan for the prepared statement
  // (src/db/statement-cache.ts) would otherwise assume a tenth of the table and join the grants of that
  // many keys (measured at 1M keys: 0.7 s, against 5 ms with the literal). It is one of a few sizes, so
  // that page sizes do not each make a statement of their own; the rows past first + 1 are dropped.
  const page = pageStatement(reading.dialect, query, rowLimit(first));
  const { columns, rows } = page.rowsOf(await reading.readRows(page.statement));
  const creatorUsers = new Map<string, UserRecord>();
  const keys: ApiKeyRecord[] = [];
  const count = Math.min(rows.length, first);
  for (let i = 0; i < count; i++) {
    const row = rows[i] as unknown[];
    const key = decodeApiKey(row, columns, reading.catalogue);
    const creator = key.creatorUserId;
    if (creator !== null && !creatorUsers.has(creator)) {
      const user = decodeUser(row, columns, creator, organizationId);
      if (user) creatorUsers.set(creator, user);
    }
    keys.push(key);
  }
  return {
    keys,
    hasNextPage: rows.length > first,
    creatorUsers: [...creatorUsers.values()],
    filterKey: query.filter.key,
  };
}
