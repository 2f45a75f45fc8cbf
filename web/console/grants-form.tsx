// The fields of a key's grants (create and update): account roles, teams, team roles and expiry.
// Only what the signed-in key may hand out is offered (./grants.ts).
import type { Powers } from './grants.ts';

export interface GrantsValue {
  name: string;
  roleNames: string[];
  teamIds: string[];
  teamRoleNames: string[];
  /** A datetime-local value; '' for no expiry. */
  expiresAt: string;
}

const toggle = (list: string[], item: string, on: boolean) =>
  on ? [...new Set([...list, item])] : list.filter((x) => x !== item);

/** datetime-local works in local time without zone: the ISO instant of such a value and back. */
export const localInput = (date: Date) =>
  new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
export const instantOf = (local: string) => new Date(local).toISOString();

export function GrantsFields({
  value,
  onChange,
  powers,
  idPrefix,
  keep = { roleNames: [], teamIds: [], teamRoleNames: [] },
}: {
  value: GrantsValue;
  onChange: (value: GrantsValue) => void;
  powers: Powers;
  idPrefix: string;
  /** Grants the target already has: shown even when the caller could not grant them anew. */
  keep?: Pick<GrantsValue, 'roleNames' | 'teamIds' | 'teamRoleNames'>;
}) {
  const teamRoles = powers.teamRolesFor(value.teamIds);
  const offered = <T extends { name: string }>(list: T[], kept: string[], all: T[]) => [
    ...list,
    ...all.filter((item) => kept.includes(item.name) && !list.some((x) => x.name === item.name)),
  ];
  const accountRoles = offered(powers.accountRoles, keep.roleNames, powers.allRoles);
  const teamRoleChoices = value.teamIds.length ? offered(teamRoles, keep.teamRoleNames, powers.allRoles) : [];
  const teams = [
    ...powers.teams,
    ...powers.allTeams.filter((t) => keep.teamIds.includes(t.id) && !powers.teams.some((x) => x.id === t.id)),
  ];
  const latest = powers.latestExpiry;
  return (
    <>
      <label htmlFor={`${idPrefix}-name`}>Name</label>
      <input
        id={`${idPrefix}-name`}
        required
        maxLength={200}
        value={value.name}
        onChange={(event) => onChange({ ...value, name: event.target.value })}
      />
      <fieldset>
        <legend>Account roles</legend>
        {accountRoles.length === 0 && <p className="hint">This key may grant no account-level role.</p>}
        {accountRoles.map((role) => (
          <label key={role.name} className="inline" title={role.description}>
            <input
              type="checkbox"
              checked={value.roleNames.includes(role.name)}
              onChange={(event) =>
                onChange({ ...value, roleNames: toggle(value.roleNames, role.name, event.target.checked) })
              }
            />
            {role.name} <span className="hint">({role.scopes.join(', ')})</span>
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Teams</legend>
        {teams.length === 0 && <p className="hint">This key may put keys in no team.</p>}
        {teams.map((team) => (
          <label key={team.id} className="inline">
            <input
              type="checkbox"
              checked={value.teamIds.includes(team.id)}
              onChange={(event) => {
                const teamIds = toggle(value.teamIds, team.id, event.target.checked);
                onChange({ ...value, teamIds, teamRoleNames: teamIds.length ? value.teamRoleNames : [] });
              }}
            />
            {team.name}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Team roles (apply in every chosen team)</legend>
        {value.teamIds.length === 0 && <p className="hint">Choose a team first.</p>}
        {value.teamIds.length > 0 && teamRoleChoices.length === 0 && (
          <p className="hint">This key may grant no team role in all of these teams.</p>
        )}
        {teamRoleChoices.map((role) => (
          <label key={role.name} className="inline" title={role.description}>
            <input
              type="checkbox"
              checked={value.teamRoleNames.includes(role.name)}
              onChange={(event) =>
                onChange({ ...value, teamRoleNames: toggle(value.teamRoleNames, role.name, event.target.checked) })
              }
            />
            {role.name} <span className="hint">({role.scopes.join(', ')})</span>
          </label>
        ))}
      </fieldset>
      <label htmlFor={`${idPrefix}-expires`}>
        Expires {latest ? `(required: no later than this key, ${latest.toLocaleString()})` : '(optional)'}
      </label>
      <input
        id={`${idPrefix}-expires`}
        type="datetime-local"
        required={latest !== null}
        min={localInput(new Date())}
        max={latest ? localInput(latest) : undefined}
        value={value.expiresAt}
        onChange={(event) => onChange({ ...value, expiresAt: event.target.value })}
      />
    </>
  );
}

/** Why the form cannot be sent yet, or null. */
export function formProblem(value: GrantsValue): string | null {
  if (!value.name.trim()) return 'Give the key a name.';
  if (value.teamIds.length > 0 && value.teamRoleNames.length === 0) return 'Choose a team role for the chosen teams.';
  return null;
}
