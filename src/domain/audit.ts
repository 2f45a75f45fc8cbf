// The audit log: who created, updated, rotated or deleted which key, with its grants before and after.
// An event is written by the transaction of the change it describes (auditEventWrites), so it exists
// exactly when its change committed. Events hold snapshots (names, grants) and never a token or a token hash.

import type { Tx } from '../db/client.ts';
import { type Sql, sql } from '../db/sql.ts';
import type { Grants } from './access.ts';
import { badInput, forbidden } from './errors.ts';
import { newEventId } from './ids.ts';
import { isUlid, parsePageSize } from './input.ts';
import { pairs, rowInsert } from './store.ts';
import type { Caller, Creator, Domain } from './types.ts';

export type AuditAction = 'api_key.created' | 'api_key.updated' | 'api_key.rotated' | 'api_key.deleted';

/** Facts only some actions have; null where they do not apply. */
export interface AuditDetails {
  /** Updates: the name the key had before. */
  previousName: string | null;
  /** Rotations: how long the token that was current keeps working, and until when. */
  gracePeriodMinutes: number | null;
  previousTokenExpiresAt: Date | null;
  /**
   * Creations and updates: the key's expiresAt after the change, and (updates) before it; null is
   * "never expires" where `expiryRecorded` is true, else not recorded (events before expiry existed).
   */
  expiresAt: Date | null;
  previousExpiresAt: Date | null;
  expiryRecorded: boolean;
}

export interface AuditEventRecord {
  id: string;
  action: AuditAction;
  createdAt: Date;
  /** Exactly one is set: the calling key as it was then, or the user of the administration CLI. */
  actor: {
    apiKey: { id: string; name: string } | null;
    user: { id: string; email: string; name: string } | null;
  };
  /** The key changed, with its name after the change (at deletion, for a deletion). */
  target: { id: string; name: string };
  /** null for a creation. */
  grantsBefore: Grants | null;
  /** null for a deletion. */
  grantsAfter: Grants | null;
  /** null for creations and deletions. */
  details: AuditDetails | null;
}

export interface AuditChange {
  action: AuditAction;
  organizationId: string;
  actor: Creator;
  target: { id: string; name: string };
  grantsBefore: Grants | null;
  grantsAfter: Grants | null;
  details?: Partial<AuditDetails>;
  at: Date;
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

async function actorColumns(tx: Tx, organizationId: string, actor: Creator) {
  if (actor.kind === 'key') {
    const key = actor.caller.key;
    return { actorKeyId: key.id, actorKeyName: key.name, actorUserId: null, actorUserEmail: null, actorUserName: null };
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
 * The writes of the event of one change, to run with the change's own writes: one INSERT, and one more
 * for its teams if it has any. Reads the acting user when a user acted (the CLI).
 */
export async function auditEventWrites(tx: Tx, change: AuditChange): Promise<Sql[]> {
  // Who may read it later: the target as the visibility rule sees it after the change (or before a deletion).
  const visibleAs = (change.grantsAfter ?? change.grantsBefore) as Grants;
  const id = newEventId(change.at.getTime());
  const event = rowInsert('AuditEvent', {
    id,
    organizationId: change.organizationId,
    action: change.action,
    createdAt: change.at,
    ...(await actorColumns(tx, change.organizationId, change.actor)),
    targetKeyId: change.target.id,
    targetKeyName: change.target.name,
    grantsBefore: grantsJson(change.grantsBefore),
    grantsAfter: grantsJson(change.grantsAfter),
    details: detailsJson(change.details),
    targetHasAccountRoles: visibleAs.roleNames.length > 0,
  });
  if (visibleAs.teamIds.length === 0) return [event];
  return [event, sql`INSERT INTO "AuditEventTeam" ("eventId", "teamId") VALUES ${pairs(id, visibleAs.teamIds)}`];
}

// ---- reading -----------------------------------------------------------------------------------

const CURSOR_PREFIX = 'audit:';

/** Cursors are opaque to clients: base64url of a versioned event id. */
export function encodeAuditCursor(id: string): string {
  return Buffer.from(`${CURSOR_PREFIX}${id}`).toString('base64url');
}

export function decodeAuditCursor(cursor: string): string {
  const decoded = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const id = decoded.startsWith(CURSOR_PREFIX) ? decoded.slice(CURSOR_PREFIX.length) : '';
  if (!isUlid(id)) {
    throw badInput('after: malformed cursor; pass an endCursor or edge cursor from an earlier page of audit events.');
  }
  return id;
}

export function requireAuditReader(caller: Caller): void {
  if (!caller.access.isManager) {
    throw forbidden(
      'This API key cannot read the audit log: it needs the api_keys_manage role, at account level or as a team role.',
    );
  }
}

/**
 * Prisma filter for the events a caller may read: an account manager reads every event of its
 * organization; a team manager reads an event when its target, after the change (before it, for a
 * deletion), was a key of its teams: no account-level roles, a non-empty set of teams, all managed by it.
 * (What such an event shows of the state before the change: see withoutUnseenState.)
 */
export function visibleEventsWhere(caller: Caller) {
  const organizationId = caller.key.organizationId;
  if (caller.access.isAccountManager) return { organizationId };
  return {
    organizationId,
    targetHasAccountRoles: false,
    targetTeams: { some: {}, every: { teamId: { in: [...caller.access.managedTeamIds] } } },
  };
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface AuditPage {
  events: AuditEventRecord[];
  hasNextPage: boolean;
}

/** The audit events visible to an API caller, newest first. */
export async function listAuditEvents(domain: Domain, caller: Caller, args: PageArgs): Promise<AuditPage> {
  const first = parsePageSize(args.first);
  const afterId = args.after == null ? null : decodeAuditCursor(args.after);
  requireAuditReader(caller);
  const result = await page(domain, visibleEventsWhere(caller), first, afterId);
  if (caller.access.isAccountManager) return result;
  return { ...result, events: result.events.map((event) => withoutUnseenState(caller, event)) };
}

/**
 * A team manager reads an event because it can see the key after the change; the state before it is
 * shown only if it could see that too. An update that moved a key into its teams shows no grants before
 * and no previous name: what the key was while outside them (its account roles, its old name) is not
 * the team manager's to read. The event itself stays (the key's history in its teams starts there):
 * that the key existed before is no secret, its id and createdAt say so.
 */
function withoutUnseenState(caller: Caller, event: AuditEventRecord): AuditEventRecord {
  if (event.grantsBefore === null || caller.access.canSee(event.grantsBefore)) return event;
  return {
    ...event,
    grantsBefore: null,
    details: event.details && { ...event.details, previousName: null },
  };
}

/** Every audit event of an organization, newest first: the administration CLI's view. */
export async function listOrganizationAuditEvents(
  domain: Domain,
  organizationId: string,
  args: PageArgs,
): Promise<AuditPage> {
  const first = parsePageSize(args.first);
  const afterId = args.after == null ? null : decodeAuditCursor(args.after);
  return page(domain, { organizationId }, first, afterId);
}

type EventWhere = ReturnType<typeof visibleEventsWhere>;

async function page(domain: Domain, where: EventWhere, first: number, afterId: string | null): Promise<AuditPage> {
  const rows = await domain.db.auditEvent.findMany({
    where: afterId ? { AND: [where, { id: { lt: afterId } }] } : where,
    orderBy: { id: 'desc' },
    take: first + 1,
  });
  return { events: rows.slice(0, first).map(toRecord), hasNextPage: rows.length > first };
}

type EventRow = Awaited<ReturnType<Domain['db']['auditEvent']['findMany']>>[number];

function grantsFromJson(text: string | null): Grants | null {
  if (text === null) return null;
  const { roleNames, teamIds, teamRoleNames } = JSON.parse(text) as Grants;
  return { roleNames, teamIds, teamRoleNames };
}

function parseDetails(text: string | null): AuditDetails | null {
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

function toRecord(row: EventRow): AuditEventRecord {
  return {
    id: row.id,
    action: row.action as AuditAction,
    createdAt: row.createdAt,
    actor: {
      apiKey: row.actorKeyId !== null ? { id: row.actorKeyId, name: row.actorKeyName ?? '' } : null,
      user:
        row.actorUserId !== null
          ? { id: row.actorUserId, email: row.actorUserEmail ?? '', name: row.actorUserName ?? '' }
          : null,
    },
    target: { id: row.targetKeyId, name: row.targetKeyName },
    grantsBefore: grantsFromJson(row.grantsBefore),
    grantsAfter: grantsFromJson(row.grantsAfter),
    details: parseDetails(row.details),
  };
}
