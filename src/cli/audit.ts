// keygate audit …: the audit log of an organization.
import { prismaReader } from '../db/reader.ts';
import type { AuditEventRecord } from '../domain/audit.ts';
import { findOrganization } from '../domain/organizations.ts';
import { type Command, text, wholeNumber } from './command.ts';
import { withRuntime } from './database.ts';

// The largest page the domain reads at once (docs/api.md, auditEvents: first is 1 to 250).
const ALL_PAGE_SIZE = 250;

const list: Command = {
  name: 'audit list',
  summary:
    'Every audit event of an organization, newest first: {"auditEvents": [...]}, events as auditEvents nodes in ' +
    'GraphQL; with --first, one page: {"auditEvents": [...], "pageInfo": {"hasNextPage", "endCursor"}}.',
  options: {
    org: { type: 'string', value: 'ORG', required: true, help: 'organization id or name' },
    first: { type: 'string', value: 'N', help: 'only one page of this many events, 1 to 250 (default: every event)' },
    after: { type: 'string', value: 'CURSOR', help: 'only events after this endCursor (printed with a page)' },
  },
  run: (values) => {
    const first = wholeNumber(list, values, 'first');
    const after = values.after === undefined ? undefined : text(values, 'after');
    return withRuntime(async ({ domain }) => {
      const { encodeAuditCursor, listOrganizationAuditEvents } = await import('../domain/audit.ts');
      const organization = await findOrganization(prismaReader(domain.db), text(values, 'org'));
      if (first !== undefined) {
        const { events, hasNextPage } = await listOrganizationAuditEvents(domain, organization.id, { first, after });
        const last = events.at(-1);
        return {
          auditEvents: events.map(presentAuditEvent),
          pageInfo: { hasNextPage, endCursor: last ? encodeAuditCursor(last.id) : null },
        };
      }
      // Every event: page through them all, newest first.
      const all: AuditEventRecord[] = [];
      let cursor = after;
      for (;;) {
        const { events, hasNextPage } = await listOrganizationAuditEvents(domain, organization.id, {
          first: ALL_PAGE_SIZE,
          after: cursor,
        });
        all.push(...events);
        const last = events.at(-1);
        if (!hasNextPage || !last) break;
        cursor = encodeAuditCursor(last.id);
      }
      return { auditEvents: all.map(presentAuditEvent) };
    });
  },
};

/**
 * An event as GraphQL's AuditEvent prints it: details with AuditEventDetails' fields only (the record also
 * carries expiryRecorded, the domain's own flag telling "never expires" from "not recorded").
 */
function presentAuditEvent(event: AuditEventRecord) {
  const details = event.details && {
    previousName: event.details.previousName,
    gracePeriodMinutes: event.details.gracePeriodMinutes,
    previousTokenExpiresAt: event.details.previousTokenExpiresAt,
    expiresAt: event.details.expiresAt,
    previousExpiresAt: event.details.previousExpiresAt,
  };
  return { ...event, details };
}

export const auditCommands: Command[] = [list];
