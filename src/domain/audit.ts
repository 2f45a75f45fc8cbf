// The audit log: who created, updated, rotated or deleted which key, with its grants before and after.
// An event is written by the transaction of the change it describes (auditEventWrites), so it exists
// exactly when its change committed. Events hold snapshots (names, grants) and never a token or a token
// hash. Its rows are the store's (src/store/audit.ts).

import type { Tx } from '../db/client.ts';
import type { Sql } from '../db/sql.ts';
import { auditEventInserts, readAuditPage } from '../store/audit.ts';
import { type Grants, visibleEventsSql } from './access.ts';
import { badInput, forbidden } from './errors.ts';
import { newEventId } from './ids.ts';
import { isUlid, parsePageSize } from './input.ts';
import { managerGate } from './manager-gate.ts';
import type { AuditAction, AuditDetails, AuditEventRecord } from './records.ts';
import type { Caller, Creator, Domain } from './types.ts';

export type { AuditAction, AuditDetails, AuditEventRecord };

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

/**
 * The writes of the event of one change, to run with the change's own writes. Reads the acting user
 * when a user acted (the CLI).
 */
export function auditEventWrites(tx: Tx, change: AuditChange): Promise<Sql[]> {
  const actor = change.actor;
  return auditEventInserts(tx, {
    id: newEventId(change.at.getTime()),
    organizationId: change.organizationId,
    action: change.action,
    createdAt: change.at,
    actor: actor.kind === 'key' ? { keyId: actor.caller.key.id, keyName: actor.caller.key.name } : actor,
    target: change.target,
    grantsBefore: change.grantsBefore,
    grantsAfter: change.grantsAfter,
    details: change.details,
    // Who may read it later: the target as the visibility rule sees it after the change (or before a deletion).
    visibleAs: (change.grantsAfter ?? change.grantsBefore) as Grants,
  });
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

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

function parsePageArgs(args: PageArgs): { first: number; afterId: string | null } {
  const first = parsePageSize(args.first);
  return { first, afterId: args.after == null ? null : decodeAuditCursor(args.after) };
}

/** The gate of auditEvents (see managerGate): a manager passes; its arguments are parsed by listAuditEvents. */
export const mayListAuditEvents = (caller: Caller, args: PageArgs): true | Promise<true> =>
  managerGate(caller, () => parsePageArgs(args), requireAuditReader);

export interface AuditPage {
  events: AuditEventRecord[];
  hasNextPage: boolean;
}

/** The audit events visible to an API caller, newest first. */
export async function listAuditEvents(domain: Domain, caller: Caller, args: PageArgs): Promise<AuditPage> {
  const { first, afterId } = parsePageArgs(args);
  requireAuditReader(caller);
  const access = caller.access;
  const visible = visibleEventsSql(access.isAccountManager ? null : access.managedTeamIds);
  const result = await readAuditPage(domain, { organizationId: caller.key.organizationId, visible, first, afterId });
  if (access.isAccountManager) return result;
  return { ...result, events: result.events.map((event) => withoutUnseenState(caller, event)) };
}

/**
 * A team manager reads an event because it can see the key after the change; the state before it is
 * shown only if it could see that too. An update that moved a key into its teams shows no grants before,
 * no previous name and no previous expiry: what the key was while outside them (its account roles, its
 * old name, its old expiry) is not the team manager's to read. The event itself stays (the key's history in its teams starts there):
 * that the key existed before is no secret, its id and createdAt say so.
 */
function withoutUnseenState(caller: Caller, event: AuditEventRecord): AuditEventRecord {
  if (event.grantsBefore === null || caller.access.canSee(event.grantsBefore)) return event;
  return {
    ...event,
    grantsBefore: null,
    details: event.details && { ...event.details, previousName: null, previousExpiresAt: null },
  };
}

/** Every audit event of an organization, newest first: the administration CLI's view. */
export function listOrganizationAuditEvents(
  domain: Domain,
  organizationId: string,
  args: PageArgs,
): Promise<AuditPage> {
  const { first, afterId } = parsePageArgs(args);
  return readAuditPage(domain, { organizationId, visible: visibleEventsSql(null), first, afterId });
}
