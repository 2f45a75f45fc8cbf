// What the signed-in key may hand out, computed as the server checks it (docs/rules.md, Covering and
// Visibility), so the create form offers nothing the server would refuse. The server still decides.
import type { ResultOf, SessionQuery } from './graphql.ts';

type Session = ResultOf<typeof SessionQuery>;
type Role = Session['roles'][number];

export const MANAGE = 'api_keys_manage';

export interface Powers {
  accountManager: boolean;
  teamManager: boolean;
  /** Account-level roles a new key may get. */
  accountRoles: Role[];
  /** Teams a new key may be put in. */
  teams: Session['teams'];
  /** Team roles a new key may get when it is in all of `teamIds`. */
  teamRolesFor(teamIds: readonly string[]): Role[];
  /** The latest expiry a new key may have; null: any (or none). */
  latestExpiry: Date | null;
  /** The whole catalogue and every team, to show grants a key already has. */
  allRoles: Role[];
  allTeams: Session['teams'];
}

const scopesOf = (roles: readonly { scopes: readonly string[] }[]) => new Set(roles.flatMap((role) => role.scopes));
const within = (role: Role, scopes: Set<string>) => role.scopes.every((scope) => scopes.has(scope));

export function powersOf(session: Session): Powers {
  const me = session.currentApiKey;
  const accountManager = me.roles.some((role) => role.name === MANAGE);
  const teamManager = !accountManager && me.teamRoles.some((role) => role.name === MANAGE);
  const accountScopes = scopesOf(me.roles);
  const teamScopes = new Set([...accountScopes, ...scopesOf(me.teamRoles)]);
  const grantable = session.roles.filter((role) => role.name !== MANAGE);
  // A team manager's new key must be visible to it: no account-level role, only its own teams.
  const accountRoles = accountManager ? grantable.filter((role) => within(role, accountScopes)) : [];
  const myTeams = new Set(me.teamIds);
  const teams = accountManager ? session.teams : teamManager ? session.teams.filter((t) => myTeams.has(t.id)) : [];
  return {
    accountManager,
    teamManager,
    accountRoles,
    teams,
    teamRolesFor(teamIds) {
      const assignable = grantable.filter((role) => role.teamAssignable);
      // A team role applies in every team of the key: it must be covered in each of them.
      const allMine = teamIds.every((id) => myTeams.has(id));
      return assignable.filter((role) => within(role, allMine && teamIds.length > 0 ? teamScopes : accountScopes));
    },
    latestExpiry: me.expiresAt ? new Date(me.expiresAt) : null,
    allRoles: session.roles,
    allTeams: session.teams,
  };
}

/** What the key may do, in a sentence (shown under who is signed in). */
export function describePowers(powers: Powers, teamNames: string[]): string {
  if (powers.accountManager) return 'Manages every API key of the organization.';
  if (powers.teamManager) return `Manages the API keys of its teams (${teamNames.join(', ')}).`;
  return 'Manages no API keys: it can read who it is, the roles and the teams, nothing more.';
}
