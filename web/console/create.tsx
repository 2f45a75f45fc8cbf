// Create a key: the grants form, then the new token, shown once.
import { useState } from 'react';
import { useMutation } from 'urql';
import { problemOf } from './errors.ts';
import type { Powers } from './grants.ts';
import { formProblem, GrantsFields, type GrantsValue, instantOf } from './grants-form.tsx';
import { CreateKeyMutation } from './graphql.ts';
import { ProblemMessage, TokenReveal } from './parts.tsx';

const EMPTY: GrantsValue = { name: '', roleNames: [], teamIds: [], teamRoleNames: [], expiresAt: '' };

export function CreateKey({ powers }: { powers: Powers }) {
  const [value, setValue] = useState(EMPTY);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [{ fetching, error }, create] = useMutation(CreateKeyMutation);
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
    const why = formProblem(value);
    setInvalid(why);
    if (why) return;
    const result = await create({
      input: {
        name: value.name.trim(),
        roleNames: value.roleNames,
        teamIds: value.teamIds,
        teamRoleNames: value.teamRoleNames,
        ...(value.expiresAt ? { expiresAt: instantOf(value.expiresAt) } : {}),
      },
    });
    if (result.data) {
      setCreated({ name: result.data.createApiKey.apiKey.name, token: result.data.createApiKey.token });
      setValue(EMPTY);
    }
  };
  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">Create a key</h1>
      <form className="grants" onSubmit={submit}>
        <GrantsFields value={value} onChange={setValue} powers={powers} idPrefix="create" />
        <button type="submit" disabled={fetching}>
          {fetching ? 'Creating…' : 'Create key'}
        </button>
      </form>
      {invalid && <ProblemMessage problem={{ sentence: invalid, retry: false }} />}
      {error && <ProblemMessage problem={problemOf(error, 'creating the key')} />}
    </section>
  );
}
