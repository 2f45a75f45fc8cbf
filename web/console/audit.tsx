// The audit log: Relay pages of `auditEvents`, newest first, with the grants before and after.
import { useCallback, useEffect, useState } from 'react';
import { request } from './api.ts';
import { NOT_ALLOWED_TO_LIST, type Problem, problemOf } from './errors.ts';
import { AuditQuery, type ResultOf, type SessionQuery } from './graphql.ts';
import { ProblemMessage, when } from './parts.tsx';

type Event = ResultOf<typeof AuditQuery>['auditEvents']['edges'][number]['node'];
type Grants = Event['grantsAfter'];

export function AuditLog({ token, session }: { token: string; session: ResultOf<typeof SessionQuery> }) {
  const [events, setEvents] = useState<Event[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState<Problem | null>(null);
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
  const load = useCallback(
    async (after: string | null) => {
      setLoading(true);
      setProblem(null);
      try {
        const data = await request(token, AuditQuery, { first: 25, after });
        setEvents((known) => [...(after ? known : []), ...data.auditEvents.edges.map((edge) => edge.node)]);
        setNext(data.auditEvents.pageInfo.hasNextPage ? (data.auditEvents.pageInfo.endCursor ?? null) : null);
      } catch (error) {
        const code = error instanceof Error && 'code' in error ? error.code : '';
        setProblem(
          code === 'FORBIDDEN'
            ? { sentence: NOT_ALLOWED_TO_LIST.replace('list API keys', 'read the audit log'), retry: false }
            : problemOf(error, 'loading the audit log'),
        );
      } finally {
        setLoading(false);
      }
    },
    [token],
  );
  useEffect(() => void load(null), [load]);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      {problem && <ProblemMessage problem={problem} onRetry={() => void load(null)} />}
      {!problem && !loading && events.length === 0 && <p role="status">No changes recorded yet.</p>}
      {events.length > 0 && (
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
              {events.map((event) => (
                <tr key={event.id}>
                  <td>{when(event.createdAt)}</td>
                  <td>{event.action}</td>
                  <td>{event.target.name}</td>
                  <td>{event.actor.apiKey?.name ?? (event.actor.user ? `${event.actor.user.name} (CLI)` : '—')}</td>
                  <td>{grants(event.grantsBefore)}</td>
                  <td>{grants(event.grantsAfter)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {loading && <p role="status">Loading the audit log…</p>}
      {next && !loading && (
        <button type="button" onClick={() => void load(next)}>
          Load more
        </button>
      )}
    </section>
  );
}
