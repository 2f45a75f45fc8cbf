// The audit log's rows: the INSERTs of an event, written by the transaction of the change it describes,
// and the pages of events, newest first. Events hold snapshots (names, grants) and never a token or a
// token hash; what an event says is decided by src/domain/audit.ts.

import type { Tx } from '../db/client.ts';
import { type Sql, sql } from '../db/sql.ts';
import type { Grants } from '../domain/access.ts';
import type { AuditAction, AuditDetails, AuditEventRecord } from '../domain/records.ts';
import { pairs, rowInsert } from './inserts.ts';
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
  /** The grants by which visibility is judged when the event is read (see eventsVisibleTo). */
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

/**
 * The events of an organization a reader may read, as a Prisma filter: every event (`managedTeamIds`
 * null: an account manager, or the administration CLI), or those whose target, as the event records it
 * (visibleAs), had no account-level roles and a non-empty set of teams, all of them in `managedTeamIds`.
 * The SQL twin of Access.canSee for events (test/db/visibility-twins.test.ts holds them equal).
 */
function eventsVisibleTo(organizationId: string, managedTeamIds: readonly string[] | null) {
  if (managedTeamIds === null) return { organizationId };
  return {
    organizationId,
    targetHasAccountRoles: false,
    targetTeams: { some: {}, every: { teamId: { in: [...managedTeamIds] } } },
  };
}

/** A page of the events visible as eventsVisibleTo says, newest first, after the event `afterId`. */
export async function readAuditPage(
  tx: Tx,
  visibility: { organizationId: string; managedTeamIds: readonly string[] | null },
  first: number,
  afterId: string | null,
): Promise<{ events: AuditEventRecord[]; hasNextPage: boolean }> {
  const where = eventsVisibleTo(visibility.organizationId, visibility.managedTeamIds);
  const rows = await tx.auditEvent.findMany({
    where: afterId ? { AND: [where, { id: { lt: afterId } }] } : where,
    orderBy: { id: 'desc' },
    take: first + 1,
  });
  return { events: rows.slice(0, first).map(decodeAuditEvent), hasNextPage: rows.length > first };
}
