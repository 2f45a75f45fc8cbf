// The keys list: Relay pages of `apiKeys` (newest first), filtered by name, team and "expiring soon",
// with rotate, edit and delete on each key.
import { useCallback, useEffect, useState } from 'react';
import { KeyActions } from './actions.tsx';
import { request } from './api.ts';
import { NOT_ALLOWED_TO_LIST, type Problem, problemOf } from './errors.ts';
import type { Powers } from './grants.ts';
import { KeysQuery, type ResultOf, type SessionQuery } from './graphql.ts';
import { ProblemMessage, when } from './parts.tsx';

export type Key = ResultOf<typeof KeysQuery>['apiKeys']['edges'][number]['node'];
type Session = ResultOf<typeof SessionQuery>;

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

export function KeysList({ token, session, powers }: { token: string; session: Session; powers: Powers }) {
  const [filters, setFilters] = useState<Filters>({ name: '', teamId: '', expiringSoon: false });
  const [keys, setKeys] = useState<Key[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [selected, setSelected] = useState<{ key: Key; action: 'rotate' | 'edit' | 'delete' } | null>(null);
  const [generation, setGeneration] = useState(0);

  const load = useCallback(
    async (after: string | null, replace: boolean) => {
      setLoading(true);
      setProblem(null);
      try {
        const filter = filterOf(filters);
        const data = await request(token, KeysQuery, { first: PAGE_SIZE, after, filter });
        const page = data.apiKeys.edges.map((edge) => edge.node);
        setKeys((known) => (replace ? page : [...known, ...page]));
        setNext(data.apiKeys.pageInfo.hasNextPage ? (data.apiKeys.pageInfo.endCursor ?? null) : null);
      } catch (error) {
        const found = problemOf(error, 'loading the keys');
        setProblem(
          error instanceof Error && 'code' in error && error.code === 'FORBIDDEN'
            ? { sentence: NOT_ALLOWED_TO_LIST, retry: false }
            : found,
        );
        if (replace) setKeys([]);
      } finally {
        setLoading(false);
      }
    },
    [token, filters],
  );

  // Typing in the search box reloads after a short pause, not on every key stroke; `generation`
  // reloads after a change.
  useEffect(() => {
    const timer = setTimeout(() => void load(null, true), 250);
    return () => clearTimeout(timer);
  }, [load, generation]);

  const changed = () => {
    setSelected(null);
    setGeneration((g) => g + 1);
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
      {problem && <ProblemMessage problem={problem} onRetry={() => void load(null, true)} />}
      {!problem && !loading && keys.length === 0 && (
        <p className="empty" role="status">
          No keys match. {powers.accountManager || powers.teamManager ? 'Create one with "Create key".' : ''}
        </p>
      )}
      {keys.length > 0 && (
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
              {keys.map((key) => (
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
                        onClick={() => setSelected({ key, action })}
                      >
                        {action[0]?.toUpperCase()}
                        {action.slice(1)}
                      </button>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {loading && <p role="status">Loading keys…</p>}
      {next && !loading && (
        <button type="button" onClick={() => void load(next, false)}>
          Load more
        </button>
      )}
      {selected && (
        <KeyActions
          key={`${selected.key.id}-${selected.action}`}
          token={token}
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
