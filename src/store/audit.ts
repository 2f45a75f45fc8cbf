// The audit log's rows: the INSERTs of an event, written by the transaction of the change it describes,
// and the pages of events, newest first, each read in one statement. Events hold snapshots (names,
// grants) and never a token or a token hash; what an event says is decided by src/domain/audit.ts.

import type { AuditEvent, Tx } from '../db/client.ts';
import type { ReadRows } from '../db/raw-read.ts';
import { empty, raw, type Sql, sql } from '../db/sql.ts';
import type { Grants } from '../domain/access.ts';
import type { AuditAction, AuditDetails, AuditEventRecord } from '../domain/records.ts';
import type { Dialect } from './dialect.ts';
import { pairs, rowInsert } from './inserts.ts';
import { rowLimit } from './key-page.ts';
import { decodeAuditEvent } from './rows.ts';

/** One event to write. */
export interface NewAuditEvent {
  id: string;
  organizationId: string;
  action: AuditAction;
  createdAt: Date;
  /** The calling key as it is, or a user of the organization (read here, for its email and name). */
  actor: { keyId: string; keyName: string } | { userId: string };
  target: { id: string; name: string };
  grantsBefore: Grants | null;
  grantsAfter: Grants | null;
  details?: Partial<AuditDetails> | undefined;
  /**
   * The grants by which visibility is judged when the event is read: stored as "targetHasAccountRoles"
   * and the rows of "AuditEventTeam", which src/domain/access.ts (visibleEventsSql) reads.
   */
  visibleAs: Grants;
}

// Field by field, so that nothing but grants (and never a secret) can reach the stored text.
const grantsJson = (grants: Grants | null) =>
  grants &&
  JSON.stringify({ roleNames: grants.roleNames, teamIds: grants.teamIds, teamRoleNames: grants.teamRoleNames });

function detailsJson(details: Partial<AuditDetails> | undefined): string | null {
  if (!details) return null;
  return JSON.stringify({
    previousName: details.previousName ?? null,
    gracePeriodMinutes: details.gracePeriodMinutes ?? null,
    previousTokenExpiresAt: details.previousTokenExpiresAt?.toISOString() ?? null,
    ...(details.expiryRecorded
      ? {
          expiresAt: details.expiresAt?.toISOString() ?? null,
          previousExpiresAt: details.previousExpiresAt?.toISOString() ?? null,
        }
      : {}),
  });
}

async function actorColumns(tx: Tx, organizationId: string, actor: NewAuditEvent['actor']) {
  if ('keyId' in actor) {
    return {
      actorKeyId: actor.keyId,
      actorKeyName: actor.keyName,
      actorUserId: null,
      actorUserEmail: null,
      actorUserName: null,
    };
  }
  const user = await tx.user.findFirst({
    where: { id: actor.userId, organizationId },
    select: { id: true, email: true, name: true },
  });
  if (!user) throw new Error('the acting user is not a user of the organization');
  return {
    actorKeyId: null,
    actorKeyName: null,
    actorUserId: user.id,
    actorUserEmail: user.email,
    actorUserName: user.name,
  };
}

/**
 * The writes of one event, to run with the change's own writes: one INSERT, and one more for its teams
 * if it has any. Reads the acting user when a user acted (the CLI).
 */
export async function auditEventInserts(tx: Tx, event: NewAuditEvent): Promise<Sql[]> {
  const insert = rowInsert('AuditEvent', {
    id: event.id,
    organizationId: event.organizationId,
    action: event.action,
    createdAt: event.createdAt,
    ...(await actorColumns(tx, event.organizationId, event.actor)),
    targetKeyId: event.target.id,
    targetKeyName: event.target.name,
    grantsBefore: grantsJson(event.grantsBefore),
    grantsAfter: grantsJson(event.grantsAfter),
    details: detailsJson(event.details),
    targetHasAccountRoles: event.visibleAs.roleNames.length > 0,
  });
  const teamIds = event.visibleAs.teamIds;
  if (teamIds.length === 0) return [insert];
  return [insert, sql`INSERT INTO "AuditEventTeam" ("eventId", "teamId") VALUES ${pairs(event.id, teamIds)}`];
}

/** The columns of an event that its record shows, as the table names them (see decodeAuditEvent). */
const EVENT_COLUMN_NAMES = [
  'id',
  'action',
  'createdAt',
  'actorKeyId',
  'actorKeyName',
  'actorUserId',
  'actorUserEmail',
  'actorUserName',
  'targetKeyId',
  'targetKeyName',
  'grantsBefore',
  'grantsAfter',
  'details',
] as const satisfies ReadonlyArray<keyof AuditEvent>;

const EVENT_COLUMNS = raw(EVENT_COLUMN_NAMES.map((name) => `e."${name}"`).join(', '));

/** What a page of the audit log reads: the reader's organization and the events it sees. */
export interface AuditPageQuery {
  organizationId: string;
  /** A condition on `e`: the events visible to the reader (src/domain/access.ts, visibleEventsSql). */
  visible: Sql;
  first: number;
  afterId: string | null;
}

/**
 * The statement of a page: the events of `visible` after `afterId`, newest first, at most `limit` of
 * them, with EVENT_COLUMN_NAMES by name (createdAt as Dialect.timestamp gives it).
 */
export function auditPageStatement(
  dialect: Pick<Dialect, 'timestamp'>,
  query: Omit<AuditPageQuery, 'first'>,
  limit: number,
): Sql {
  const columns = EVENT_COLUMN_NAMES.map((name) =>
    name === 'createdAt' ? `${dialect.timestamp(name)} AS "${name}"` : `p."${name}"`,
  );
  return sql`WITH p AS (
    SELECT ${EVENT_COLUMNS}
      FROM "AuditEvent" e
     WHERE e."organizationId" = ${query.organizationId} ${query.afterId ? sql`AND e."id" < ${query.afterId}` : empty}
       ${query.visible}
     ORDER BY e."id" DESC
     LIMIT ${raw(String(limit))})
    SELECT ${raw(columns.join(', '))} FROM p ORDER BY p."id" DESC`;
}

/**
 * A page of events, newest first, read outside any transaction in one statement and decoded. The limit
 * is written into the SQL as for a page of keys (src/store/key-page.ts, rowLimit): first + 1 rounded up
 * to one of a few sizes, the rows past first + 1 dropped; one more row than first says hasNextPage.
 */
export async function readAuditPage(
  reading: { dialect: Dialect; readRows: ReadRows },
  query: AuditPageQuery,
): Promise<{ events: AuditEventRecord[]; hasNextPage: boolean }> {
  const { first } = query;
  const { columns, rows } = await reading.readRows(auditPageStatement(reading.dialect, query, rowLimit(first)));
  const count = Math.min(rows.length, first);
  const events: AuditEventRecord[] = [];
  for (let i = 0; i < count; i++) events.push(decodeAuditEvent(rows[i] as unknown[], columns));
  return { events, hasNextPage: rows.length > first };
}
