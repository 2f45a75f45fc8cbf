// What can be done to one key from the list: rotate (new token shown once), update (a full form: every
// grant is replaced, so the change is listed before it is sent) and delete (after typing its name).
import { useEffect, useRef, useState } from 'react';
import { useMutation } from 'urql';
import { problemOf } from './errors.ts';
import type { Powers } from './grants.ts';
import { formProblem, GrantsFields, type GrantsValue, instantOf, localInput } from './grants-form.tsx';
import {
  DeleteKeyMutation,
  type ResultOf,
  RotateKeyMutation,
  type SessionQuery,
  UpdateKeyMutation,
} from './graphql.ts';
import type { Key } from './keys.tsx';
import { ProblemMessage, TokenReveal, when } from './parts.tsx';

type Session = ResultOf<typeof SessionQuery>;

interface Props {
  session: Session;
  powers: Powers;
  target: Key;
  action: 'rotate' | 'edit' | 'delete';
  onDone: () => void;
  onClose: () => void;
}

function Rotate({ target, onDone, onClose }: Props) {
  const [grace, setGrace] = useState(30);
  const [{ data, fetching, error }, rotate] = useMutation(RotateKeyMutation);
  const rotated = data?.rotateApiKey;
  if (rotated) {
    return (
      <TokenReveal token={rotated.token}>
        <p data-testid="old-token-stops">
          The previous token of "{target.name}" stops working at {when(rotated.previousTokenExpiresAt)}.
        </p>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </TokenReveal>
    );
  }
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    void rotate({ input: { id: target.id, gracePeriodMinutes: grace } });
  };
  return (
    <form onSubmit={submit}>
      <label htmlFor="grace">Grace period for the current token, in minutes (0 to 60)</label>
      <input
        id="grace"
        type="number"
        min={0}
        max={60}
        step={1}
        required
        value={grace}
        onChange={(event) => setGrace(Number(event.target.value))}
      />
      <p className="hint">0 stops the current token at once; services using it must switch to the new one within it.</p>
      <button type="submit" disabled={fetching}>
        {fetching ? 'Rotating…' : `Rotate ${target.name}`}
      </button>{' '}
      <button type="button" onClick={onClose}>
        Cancel
      </button>
      {error && <ProblemMessage problem={problemOf(error, 'rotating the key')} />}
    </form>
  );
}

function Delete({ target, onDone, onClose }: Props) {
  const [typed, setTyped] = useState('');
  const [{ fetching, error }, remove] = useMutation(DeleteKeyMutation);
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!(await remove({ input: { id: target.id } })).error) onDone();
  };
  return (
    <form onSubmit={submit}>
      <p>Deleting "{target.name}" refuses its tokens at once, for every service using it. This cannot be undone.</p>
      <label htmlFor="confirm-name">Type the key's name to confirm</label>
      <input id="confirm-name" autoComplete="off" value={typed} onChange={(event) => setTyped(event.target.value)} />
      <button type="submit" className="danger" disabled={fetching || typed !== target.name}>
        {fetching ? 'Deleting…' : `Delete ${target.name}`}
      </button>{' '}
      <button type="button" onClick={onClose}>
        Cancel
      </button>
      {error && <ProblemMessage problem={problemOf(error, 'deleting the key')} />}
    </form>
  );
}

const sorted = (list: readonly string[]) => [...list].sort().join(', ') || 'none';

function Edit({ powers, target, onDone, onClose }: Props) {
  const initial: GrantsValue = {
    name: target.name,
    roleNames: target.roles.map((role) => role.name),
    teamIds: [...target.teamIds],
    teamRoleNames: target.teamRoles.map((role) => role.name),
    expiresAt: target.expiresAt ? localInput(new Date(target.expiresAt)) : '',
  };
  const [value, setValue] = useState(initial);
  const [{ fetching, error }, update] = useMutation(UpdateKeyMutation);
  const [invalid, setInvalid] = useState<string | null>(null);
  const teamName = (id: string) => powers.allTeams.find((team) => team.id === id)?.name ?? id;
  // PUT semantics made visible: everything below is what the key will have.
  const changes = [
    value.name.trim() !== initial.name && `name: ${initial.name} → ${value.name.trim()}`,
    sorted(value.roleNames) !== sorted(initial.roleNames) &&
      `account roles: ${sorted(initial.roleNames)} → ${sorted(value.roleNames)}`,
    sorted(value.teamIds) !== sorted(initial.teamIds) &&
      `teams: ${sorted(initial.teamIds.map(teamName))} → ${sorted(value.teamIds.map(teamName))}`,
    sorted(value.teamRoleNames) !== sorted(initial.teamRoleNames) &&
      `team roles: ${sorted(initial.teamRoleNames)} → ${sorted(value.teamRoleNames)}`,
    value.expiresAt !== initial.expiresAt &&
      `expiry: ${initial.expiresAt || 'never'} → ${value.expiresAt || 'never (no expiry)'}`,
  ].filter((change): change is string => typeof change === 'string');
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const why = formProblem(value);
    setInvalid(why);
    if (why) return;
    const result = await update({
      input: {
        id: target.id,
        name: value.name.trim(),
        roleNames: value.roleNames,
        teamIds: value.teamIds,
        teamRoleNames: value.teamRoleNames,
        ...(value.expiresAt !== initial.expiresAt
          ? { expiresAt: value.expiresAt ? instantOf(value.expiresAt) : null }
          : {}),
      },
    });
    if (!result.error) onDone();
  };
  return (
    <form className="grants" onSubmit={submit}>
      <p className="hint">An update replaces the name and every grant with what this form shows.</p>
      <GrantsFields
        value={value}
        onChange={setValue}
        powers={powers}
        idPrefix="edit"
        keep={{ roleNames: initial.roleNames, teamIds: initial.teamIds, teamRoleNames: initial.teamRoleNames }}
      />
      <div role="status" className="changes">
        {changes.length === 0 ? (
          'No change yet.'
        ) : (
          <ul>
            {changes.map((change) => (
              <li key={change}>{change}</li>
            ))}
          </ul>
        )}
      </div>
      <button type="submit" disabled={fetching || changes.length === 0}>
        {fetching ? 'Saving…' : 'Save changes'}
      </button>{' '}
      <button type="button" onClick={onClose}>
        Cancel
      </button>
      {invalid && <ProblemMessage problem={{ sentence: invalid, retry: false }} />}
      {error && <ProblemMessage problem={problemOf(error, 'updating the key')} />}
    </form>
  );
}

export function KeyActions(props: Props) {
  const title = { rotate: 'Rotate', edit: 'Update', delete: 'Delete' }[props.action];
  // The panel opens below a possibly long list: it is brought into view, and the keyboard moves to it.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.scrollIntoView({ block: 'start' });
    heading.current?.focus();
  }, []);
  return (
    <section className="panel" aria-labelledby="action-title">
      <h2 id="action-title" ref={heading} tabIndex={-1}>
        {title} "{props.target.name}"
      </h2>
      {props.action === 'rotate' && <Rotate {...props} />}
      {props.action === 'delete' && <Delete {...props} />}
      {props.action === 'edit' && <Edit {...props} />}
    </section>
  );
}
