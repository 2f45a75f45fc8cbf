// Create a key: the grants form, then the new token, shown once.
import { useState } from 'react';
import { request } from './api.ts';
import { type Problem, problemOf } from './errors.ts';
import type { Powers } from './grants.ts';
import { formProblem, GrantsFields, type GrantsValue, instantOf } from './grants-form.tsx';
import { CreateKeyMutation, type ResultOf, type SessionQuery } from './graphql.ts';
import { ProblemMessage, TokenReveal } from './parts.tsx';

type Session = ResultOf<typeof SessionQuery>;
const EMPTY: GrantsValue = { name: '', roleNames: [], teamIds: [], teamRoleNames: [], expiresAt: '' };

export function CreateKey({ token, powers }: { token: string; session: Session; powers: Powers }) {
  const [value, setValue] = useState(EMPTY);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  if (!powers.accountManager && !powers.teamManager) {
    return (
      <p className="problem" role="alert">
        This key is not allowed to create keys: only a key holding api_keys_manage may. Sign in with a manager key.
      </p>
    );
  }
  if (created) {
    return (
      <section aria-labelledby="created-title">
        <h1 id="created-title">Key "{created.name}" created</h1>
        <TokenReveal token={created.token}>
          <p>
            <button type="button" onClick={() => setCreated(null)}>
              Done, create another
            </button>
          </p>
        </TokenReveal>
      </section>
    );
  }
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const invalid = formProblem(value);
    if (invalid) return setProblem({ sentence: invalid, retry: false });
    setBusy(true);
    setProblem(null);
    try {
      const data = await request(token, CreateKeyMutation, {
        input: {
          name: value.name.trim(),
          roleNames: value.roleNames,
          teamIds: value.teamIds,
          teamRoleNames: value.teamRoleNames,
          ...(value.expiresAt ? { expiresAt: instantOf(value.expiresAt) } : {}),
        },
      });
      setCreated({ name: data.createApiKey.apiKey.name, token: data.createApiKey.token });
      setValue(EMPTY);
    } catch (error) {
      setProblem(problemOf(error, 'creating the key'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">Create a key</h1>
      <form className="grants" onSubmit={submit}>
        <GrantsFields value={value} onChange={setValue} powers={powers} idPrefix="create" />
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create key'}
        </button>
      </form>
      {problem && <ProblemMessage problem={problem} />}
    </section>
  );
}
