// The Keygate console (served at /console by src/http/console.ts, bundled by scripts/build-console.ts).
// It talks only to this origin's /graphql with the token pasted at sign-in, which is kept in
// sessionStorage (this tab only, gone when it closes) and removed by "Sign out".
import './console.css';
import { useCallback, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { request } from './api.ts';
import { AuditLog } from './audit.tsx';
import { CreateKey } from './create.tsx';
import { problemOf } from './errors.ts';
import { describePowers, powersOf } from './grants.ts';
import { type ResultOf, SessionQuery } from './graphql.ts';
import { KeysList } from './keys.tsx';
import { ProblemMessage } from './parts.tsx';

const TOKEN_KEY = 'keygate.console.token';
type Session = ResultOf<typeof SessionQuery>;
type View = 'keys' | 'create' | 'audit';

function SignIn({ onSignedIn }: { onSignedIn: (token: string, session: Session) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ReturnType<typeof problemOf> | null>(null);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const trimmed = token.trim();
      onSignedIn(trimmed, await request(trimmed, SessionQuery, {}));
    } catch (error) {
      setProblem(problemOf(error, 'signing in'));
    } finally {
      setBusy(false);
    }
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

function Console({ token, session, onSignOut }: { token: string; session: Session; onSignOut: () => void }) {
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
        {view === 'keys' && <KeysList token={token} session={session} powers={powers} />}
        {view === 'create' && <CreateKey token={token} session={session} powers={powers} />}
        {view === 'audit' && <AuditLog token={token} session={session} />}
      </main>
    </>
  );
}

function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY));
  const [session, setSession] = useState<Session | null>(null);
  const [problem, setProblem] = useState<ReturnType<typeof problemOf> | null>(null);
  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setSession(null);
    setProblem(null);
  }, []);
  const restore = useCallback(() => {
    if (!token || session) return;
    setProblem(null);
    request(token, SessionQuery, {}).then(setSession, (error) => setProblem(problemOf(error, 'signing in')));
  }, [token, session]);
  useEffect(restore, [restore]);
  if (!token) {
    return (
      <SignIn
        onSignedIn={(newToken, newSession) => {
          sessionStorage.setItem(TOKEN_KEY, newToken);
          setSession(newSession);
          setToken(newToken);
        }}
      />
    );
  }
  if (!session) {
    return (
      <main className="sign-in">
        {problem ? (
          <>
            <ProblemMessage problem={problem} onRetry={restore} />
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </>
        ) : (
          <p role="status">Signing in…</p>
        )}
      </main>
    );
  }
  return <Console token={token} session={session} onSignOut={signOut} />;
}

createRoot(document.getElementById('console') as HTMLElement).render(<App />);
