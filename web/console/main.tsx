// The Keygate console (served at /console by src/http/console.ts, bundled by scripts/build-console.ts).
// It talks only to this origin's /graphql, through urql (./client.ts), with the token pasted at sign-in,
// which is kept in sessionStorage (this tab only, gone when it closes) and removed by "Sign out". Each
// sign-in gets a client of its own; sign-out drops it with its cache.
import './console.css';
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { type Client, Provider, useQuery } from 'urql';
import { AuditLog } from './audit.tsx';
import { consoleClient } from './client.ts';
import { CreateKey } from './create.tsx';
import { type Problem, problemOf } from './errors.ts';
import { describePowers, powersOf } from './grants.ts';
import { type ResultOf, SessionQuery } from './graphql.ts';
import { KeysList } from './keys.tsx';
import { ProblemMessage } from './parts.tsx';

const TOKEN_KEY = 'keygate.console.token';
type Session = ResultOf<typeof SessionQuery>;
type View = 'keys' | 'create' | 'audit';

function SignIn({ onSignedIn }: { onSignedIn: (token: string, client: Client) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  // The token is tried with a client of its own; once it is accepted, that client (its cache holding the
  // session already) becomes the console's.
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    const trimmed = token.trim();
    const client = consoleClient(trimmed);
    const result = await client.query(SessionQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    setBusy(false);
    if (result.error) setProblem(problemOf(result.error, 'signing in'));
    else onSignedIn(trimmed, client);
  };
  return (
    <main className="sign-in">
      <h1>Keygate console</h1>
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="keygate_…"
          value={token}
          onChange={(event) => setToken(event.target.value)}
          required
        />
        <p className="hint">Kept in this browser tab only, until you sign out or close the tab.</p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {problem && <ProblemMessage problem={problem} />}
      <p className="hint">
        Prefer raw GraphQL? Open <a href="graphql">GraphiQL</a>.
      </p>
    </main>
  );
}

function Console({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const [view, setView] = useState<View>('keys');
  const me = session.currentApiKey;
  const powers = powersOf(session);
  const grants = [
    ...me.roles.map((role) => role.name),
    ...me.teamRoles.map((role) => `${role.name} in ${me.teams.map((team) => team.name).join(', ')}`),
  ];
  const tab = (name: View, label: string) => (
    <button type="button" aria-current={view === name ? 'page' : undefined} onClick={() => setView(name)}>
      {label}
    </button>
  );
  return (
    <>
      <header>
        <div>
          <strong>Keygate console</strong>
          <p className="whoami">
            Signed in as <span data-testid="signed-in-as">{me.name}</span>
            {me.expiresAt && ` (expires ${new Date(me.expiresAt).toLocaleString()})`}.{' '}
            <span data-testid="powers">
              {describePowers(
                powers,
                me.teams.map((team) => team.name),
              )}
            </span>{' '}
            Grants: {grants.length ? grants.join('; ') : 'none'}.
          </p>
        </div>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav aria-label="Console">
        {tab('keys', 'Keys')}
        {tab('create', 'Create key')}
        {tab('audit', 'Audit log')}
        <a href="graphql">GraphiQL</a>
      </nav>
      <main>
        {view === 'keys' && <KeysList session={session} powers={powers} />}
        {view === 'create' && <CreateKey powers={powers} />}
        {view === 'audit' && <AuditLog session={session} />}
      </main>
    </>
  );
}

/** The signed-in console: the session (who is signed in, the roles, the teams) comes first. */
function SignedIn({ onSignOut }: { onSignOut: () => void }) {
  // Sign-in has just fetched it (or, after a reload, nothing is cached yet): the cache is enough.
  const [{ data, error }, reexecute] = useQuery({ query: SessionQuery, requestPolicy: 'cache-first' });
  if (data) return <Console session={data} onSignOut={onSignOut} />;
  return (
    <main className="sign-in">
      {error ? (
        <>
          <ProblemMessage
            problem={problemOf(error, 'signing in')}
            onRetry={() => reexecute({ requestPolicy: 'network-only' })}
          />
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </>
      ) : (
        <p role="status">Signing in…</p>
      )}
    </main>
  );
}

function App() {
  const [client, setClient] = useState<Client | null>(() => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? consoleClient(token) : null;
  });
  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setClient(null);
  };
  if (!client) {
    return (
      <SignIn
        onSignedIn={(token, signedIn) => {
          sessionStorage.setItem(TOKEN_KEY, token);
          setClient(signedIn);
        }}
      />
    );
  }
  return (
    <Provider value={client}>
      <SignedIn onSignOut={signOut} />
    </Provider>
  );
}

createRoot(document.getElementById('console') as HTMLElement).render(<App />);
