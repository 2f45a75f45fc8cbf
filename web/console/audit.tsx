// The audit log: Relay pages of `auditEvents`, newest first, with the grants before and after. As in the
// keys list (./keys.tsx), each page is its own query: "Load more" adds the next cursor.
import { useState } from 'react';
import { useQuery } from 'urql';
import { NOT_ALLOWED_TO_LIST, problemOf } from './errors.ts';
import { AuditQuery, type ResultOf, type SessionQuery } from './graphql.ts';
import { ProblemMessage, when } from './parts.tsx';

type Session = ResultOf<typeof SessionQuery>;
type Grants = ResultOf<typeof AuditQuery>['auditEvents']['edges'][number]['node']['grantsAfter'];
const PAGE_SIZE = 25;

/** The rows of one page of events; `after` null is the first page. */
function EventRows({ after, session }: { after: string | null; session: Session }) {
  const [{ data }] = useQuery({ query: AuditQuery, variables: { first: PAGE_SIZE, after } });
  const teamName = (id: string) => session.teams.find((team) => team.id === id)?.name ?? id;
  const grants = (value: Grants) =>
    value
      ? [
          value.roleNames.join(', ') || 'no account role',
          value.teamIds.length ? `${value.teamRoleNames.join(', ')} in ${value.teamIds.map(teamName).join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ')
      : '—';
  return (
    <>
      {data?.auditEvents.edges.map(({ node: event }) => (
        <tr key={event.id}>
          <td>{when(event.createdAt)}</td>
          <td>{event.action}</td>
          <td>{event.target.name}</td>
          <td>{event.actor.apiKey?.name ?? (event.actor.user ? `${event.actor.user.name} (CLI)` : '—')}</td>
          <td>{grants(event.grantsBefore)}</td>
          <td>{grants(event.grantsAfter)}</td>
        </tr>
      ))}
    </>
  );
}

export function AuditLog({ session }: { session: Session }) {
  const [cursors, setCursors] = useState<string[]>([]);
  // The last page is queried here too, for the states below the table (urql sends one request for both).
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: AuditQuery,
    variables: { first: PAGE_SIZE, after: cursors.at(-1) ?? null },
  });
  const pageInfo = data?.auditEvents.pageInfo;
  const next = pageInfo?.hasNextPage ? (pageInfo.endCursor ?? null) : null;
  const empty = cursors.length === 0 && data?.auditEvents.edges.length === 0;
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      {error && (
        <ProblemMessage
          problem={problemOf(
            error,
            'loading the audit log',
            NOT_ALLOWED_TO_LIST.replace('list API keys', 'read the audit log'),
          )}
          onRetry={() => reexecute({ requestPolicy: 'network-only' })}
        />
      )}
      {!error && !fetching && empty && <p role="status">No changes recorded yet.</p>}
      {!error && !empty && data && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Key</th>
                <th scope="col">By</th>
                <th scope="col">Grants before</th>
                <th scope="col">Grants after</th>
              </tr>
            </thead>
            <tbody>
              {[null, ...cursors].map((page) => (
                <EventRows key={page ?? ''} after={page} session={session} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {fetching && <p role="status">Loading the audit log…</p>}
      {next && !fetching && (
        <button type="button" onClick={() => setCursors([...cursors, next])}>
          Load more
        </button>
      )}
    </section>
  );
}
