// The keys list: Relay pages of `apiKeys` (newest first), filtered by name, team and "expiring soon",
// with rotate, edit and delete on each key. Each page is its own query in urql's cache: "Load more" adds
// the next cursor, and after a change (./client.ts drops the cached pages) every page on screen is
// fetched again.
import { useEffect, useState } from 'react';
import { useQuery } from 'urql';
import { KeyActions } from './actions.tsx';
import { NOT_ALLOWED_TO_LIST, problemOf } from './errors.ts';
import type { Powers } from './grants.ts';
import { KeysQuery, type ResultOf, type SessionQuery, type VariablesOf } from './graphql.ts';
import { ProblemMessage, when } from './parts.tsx';

export type Key = ResultOf<typeof KeysQuery>['apiKeys']['edges'][number]['node'];
type Session = ResultOf<typeof SessionQuery>;
type Filter = NonNullable<VariablesOf<typeof KeysQuery>['filter']>;
type Action = 'rotate' | 'edit' | 'delete';

const PAGE_SIZE = 20;
const SOON_DAYS = 7;

interface Filters {
  name: string;
  teamId: string;
  expiringSoon: boolean;
}

const filterOf = ({ name, teamId, expiringSoon }: Filters) => ({
  ...(name.trim() ? { nameContains: name.trim() } : {}),
  ...(teamId ? { teamId } : {}),
  ...(expiringSoon ? { expiringBefore: new Date(Date.now() + SOON_DAYS * 86_400_000).toISOString() } : {}),
});

export function creatorOf(key: Key): string {
  if (key.creator.user) return `${key.creator.user.name} (CLI)`;
  if (key.creator.apiKey) return key.creator.apiKey.name;
  return '—';
}

/** The rows of one page of keys; `after` null is the first page. */
function KeyRows({
  after,
  filter,
  onSelect,
}: {
  after: string | null;
  filter: Filter;
  onSelect: (key: Key, action: Action) => void;
}) {
  const [{ data }] = useQuery({ query: KeysQuery, variables: { first: PAGE_SIZE, after, filter } });
  return (
    <>
      {data?.apiKeys.edges.map(({ node: key }) => (
        <tr key={key.id} data-key-name={key.name}>
          <th scope="row">{key.name}</th>
          <td>{key.roles.map((role) => role.name).join(', ') || '—'}</td>
          <td>{key.teams.map((team) => team.name).join(', ') || '—'}</td>
          <td>{key.teamRoles.map((role) => role.name).join(', ') || '—'}</td>
          <td>{creatorOf(key)}</td>
          <td>{when(key.createdAt)}</td>
          <td>{when(key.lastUsedAt, 'never')}</td>
          <td>{when(key.tokenLastIssuedAt)}</td>
          <td>{when(key.expiresAt, 'never')}</td>
          <td className="actions">
            {(['rotate', 'edit', 'delete'] as const).map((action) => (
              <button
                key={action}
                type="button"
                aria-label={`${action[0]?.toUpperCase()}${action.slice(1)} ${key.name}`}
                onClick={() => onSelect(key, action)}
              >
                {action[0]?.toUpperCase()}
                {action.slice(1)}
              </button>
            ))}
          </td>
        </tr>
      ))}
    </>
  );
}

export function KeysList({ session, powers }: { session: Session; powers: Powers }) {
  const [filters, setFilters] = useState<Filters>({ name: '', teamId: '', expiringSoon: false });
  // What the list shows: the filters last applied (as typed, and as sent), and the cursors of the pages
  // after the first.
  const [applied, setApplied] = useState(() => ({ filters, filter: filterOf(filters) }));
  const filter: Filter = applied.filter;
  const [cursors, setCursors] = useState<string[]>([]);
  const [selected, setSelected] = useState<{ key: Key; action: Action } | null>(null);

  // Typing in the search box applies the filters after a short pause, not on every key stroke; until
  // then the list is of the filters before, and offers no "Load more" of it.
  useEffect(() => {
    const timer = setTimeout(() => {
      setApplied({ filters, filter: filterOf(filters) });
      setCursors([]);
    }, 250);
    return () => clearTimeout(timer);
  }, [filters]);
  const pending = applied.filters !== filters;

  // The last page is queried here too, for the states below the table (urql sends one request for both).
  const after = cursors.at(-1) ?? null;
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: KeysQuery,
    variables: { first: PAGE_SIZE, after, filter },
  });
  const pageInfo = data?.apiKeys.pageInfo;
  const next = pageInfo?.hasNextPage ? (pageInfo.endCursor ?? null) : null;
  const empty = cursors.length === 0 && data?.apiKeys.edges.length === 0;
  const select = (key: Key, action: Action) => setSelected({ key, action });

  // After a change, back to the first page (the change may have moved keys between pages).
  const changed = () => {
    setSelected(null);
    setCursors([]);
  };

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <search>
        <form className="filters" onSubmit={(event) => event.preventDefault()}>
          <label>
            Name contains
            <input
              type="search"
              value={filters.name}
              maxLength={200}
              onChange={(event) => setFilters({ ...filters, name: event.target.value })}
            />
          </label>
          <label>
            Team
            <select value={filters.teamId} onChange={(event) => setFilters({ ...filters, teamId: event.target.value })}>
              <option value="">Any team</option>
              {session.teams.map((team) => (
                <option key={team.id} value={team.id}>
                  {team.name}
                </option>
              ))}
            </select>
          </label>
          <label className="inline">
            <input
              type="checkbox"
              checked={filters.expiringSoon}
              onChange={(event) => setFilters({ ...filters, expiringSoon: event.target.checked })}
            />
            Expiring within {SOON_DAYS} days
          </label>
        </form>
      </search>
      {error && (
        <ProblemMessage
          problem={problemOf(error, 'loading the keys', NOT_ALLOWED_TO_LIST)}
          onRetry={() => reexecute({ requestPolicy: 'network-only' })}
        />
      )}
      {!error && !fetching && empty && (
        <p className="empty" role="status">
          No keys match. {powers.accountManager || powers.teamManager ? 'Create one with "Create key".' : ''}
        </p>
      )}
      {!error && !empty && data && (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Roles</th>
                <th scope="col">Teams</th>
                <th scope="col">Team roles</th>
                <th scope="col">Creator</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Token issued</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {[null, ...cursors].map((page) => (
                <KeyRows key={page ?? ''} after={page} filter={filter} onSelect={select} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {fetching && <p role="status">Loading keys…</p>}
      {next && !fetching && !pending && (
        <button type="button" onClick={() => setCursors([...cursors, next])}>
          Load more
        </button>
      )}
      {selected && (
        <KeyActions
          key={`${selected.key.id}-${selected.action}`}
          session={session}
          powers={powers}
          target={selected.key}
          action={selected.action}
          onDone={changed}
          onClose={() => setSelected(null)}
        />
      )}
    </section>
  );
}
