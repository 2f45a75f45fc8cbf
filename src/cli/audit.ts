// keygate audit …: the audit log of an organization.
import { prismaReader } from '../db/reader.ts';
import { findOrganization } from '../domain/organizations.ts';
import { type Command, text, wholeNumber } from './command.ts';
import { withRuntime } from './database.ts';

const list: Command = {
  name: 'audit list',
  summary:
    'Every audit event of an organization, newest first: {"auditEvents": [...], "pageInfo": {"hasNextPage", ' +
    '"endCursor"}}, events as auditEvents nodes in GraphQL.',
  options: {
    org: { type: 'string', value: 'ORG', required: true, help: 'organization id or name' },
    first: { type: 'string', value: 'N', help: 'how many events, 1 to 250 (default 25)' },
    after: { type: 'string', value: 'CURSOR', help: 'the endCursor printed with the previous page' },
  },
  run: (values) => {
    const first = wholeNumber(list, values, 'first');
    return withRuntime(async ({ domain }) => {
      const { encodeAuditCursor, listOrganizationAuditEvents } = await import('../domain/audit.ts');
      const organization = await findOrganization(prismaReader(domain.db), text(values, 'org'));
      const { events, hasNextPage } = await listOrganizationAuditEvents(domain, organization.id, {
        first,
        after: values.after === undefined ? undefined : text(values, 'after'),
      });
      const last = events.at(-1);
      return { auditEvents: events, pageInfo: { hasNextPage, endCursor: last ? encodeAuditCursor(last.id) : null } };
    });
  },
};

export const auditCommands: Command[] = [list];
