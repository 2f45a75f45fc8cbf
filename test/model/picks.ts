// How a command's random choices become a caller, a target and an input at run time, against the keys
// and tokens the model holds at that moment (commands are generated before the run, so they carry
// indexes and kinds, not ids).
import { isManager, type KeyState, MANAGE, type RawKeyInput, type RulesModel, sees } from './model.ts';
import type { World } from './world.ts';

export type CallerPick = { kind: 'manager' | 'live' | 'any' | 'corrupted' | 'garbage'; n: number };
export type TargetPick = {
  kind: 'visible' | 'sameOrg' | 'any' | 'self' | 'missing' | 'garbage';
  n: number;
  raw: string;
};
export type TeamPick = { kind: 'own'; n: number } | { kind: 'foreign'; n: number } | { kind: 'unknown'; id: string };
export type GrantsPick =
  | { from: 'random'; roles: unknown[]; teams: TeamPick[]; teamRoles: unknown[]; lists: 'given' | 'omitted' | 'null' }
  | {
      from: 'caller' | 'target';
      keep: number;
      withManage: boolean;
      addRoles: string[];
      addTeams: TeamPick[];
      addTeamRoles: string[];
    };

export interface Caller {
  token: string;
  key: KeyState | null;
  label: string;
}

export const nth = <T>(items: readonly T[], n: number): T | undefined => items[n % Math.max(items.length, 1)];

export function pickCaller(model: RulesModel, pick: CallerPick): Caller {
  const candidates = model.tokens.filter((token) => !model.keys.get(token.keyId)?.observer);
  const live = candidates.filter((token) => model.tokenWorks(token));
  const managers = live.filter((token) => isManager((model.keys.get(token.keyId) as KeyState).grants));
  const chosen =
    pick.kind === 'manager'
      ? (nth(managers, pick.n) ?? nth(live, pick.n))
      : pick.kind === 'live' || pick.kind === 'corrupted'
        ? nth(live, pick.n)
        : pick.kind === 'any'
          ? nth(candidates, pick.n)
          : undefined;
  if (!chosen) {
    const garbage = [
      '',
      'not-a-token',
      'kg_',
      `Bearer ${'x'.repeat(40)}`,
      'kg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ];
    return { token: nth(garbage, pick.n) as string, key: null, label: 'garbage token' };
  }
  const key = model.keys.get(chosen.keyId) as KeyState;
  if (pick.kind === 'corrupted') {
    // One character changed: the checksum no longer matches.
    const at = 4 + (pick.n % (chosen.value.length - 4));
    const replacement = chosen.value[at] === 'A' ? 'B' : 'A';
    const token = chosen.value.slice(0, at) + replacement + chosen.value.slice(at + 1);
    return { token, key: null, label: `corrupted token of ${key.label}` };
  }
  const state = model.tokenWorks(chosen) ? '' : ' (dead token)';
  return { token: chosen.value, key, label: `${key.label}${state}` };
}

export function callerOrg(world: World, caller: Caller): string {
  return caller.key?.orgId ?? world.orgIds.A;
}

export function pickTarget(
  model: RulesModel,
  world: World,
  caller: Caller,
  pick: TargetPick,
): { id: string; label: string } {
  const keys = [...model.keys.values()].filter((key) => !key.observer);
  const orgId = callerOrg(world, caller);
  const liveInOrg = keys.filter((key) => !key.deleted && key.orgId === orgId);
  const visible = liveInOrg.filter((key) => caller.key && key !== caller.key && sees(caller.key.grants, key.grants));
  let chosen: KeyState | undefined;
  if (pick.kind === 'visible') chosen = nth(visible, pick.n) ?? nth(liveInOrg, pick.n);
  else if (pick.kind === 'sameOrg') chosen = nth(liveInOrg, pick.n);
  else if (pick.kind === 'any') chosen = nth(keys, pick.n);
  else if (pick.kind === 'self') chosen = caller.key ?? undefined;
  if (chosen) return { id: chosen.id, label: `${chosen.label}${chosen.deleted ? ' (deleted)' : ''}` };
  return { id: pick.raw, label: pick.kind === 'garbage' ? `garbage id ${JSON.stringify(pick.raw)}` : 'missing id' };
}

export function pickTeam(model: RulesModel, world: World, orgId: string, pick: TeamPick): string {
  if (pick.kind === 'unknown') return pick.id;
  const otherOrg = orgId === world.orgIds.A ? world.orgIds.B : world.orgIds.A;
  return nth(model.teamsOf(pick.kind === 'own' ? orgId : otherOrg), pick.n) as string;
}

export function grantsInput(
  model: RulesModel,
  world: World,
  caller: Caller,
  target: KeyState | undefined,
  pick: GrantsPick,
): RawKeyInput {
  const orgId = callerOrg(world, caller);
  if (pick.from === 'random') {
    if (pick.lists !== 'given') {
      const value = pick.lists === 'null' ? null : undefined;
      return { roleNames: value, teamIds: value, teamRoleNames: value };
    }
    return {
      roleNames: pick.roles,
      teamIds: pick.teams.map((team) => pickTeam(model, world, orgId, team)),
      teamRoleNames: pick.teamRoles,
    };
  }
  const base = (pick.from === 'caller' ? caller.key?.grants : target?.grants) ?? {
    roles: [],
    teams: [],
    teamRoles: [],
  };
  let bit = 0;
  const keep = <T>(items: readonly T[]) => items.filter(() => (pick.keep >> (bit++ % 31)) & 1);
  const dropManage = (roles: string[]) => (pick.withManage ? roles : roles.filter((role) => role !== MANAGE));
  const roleNames = [...dropManage(keep(base.roles)), ...pick.addRoles];
  const teamIds = [...keep(base.teams), ...pick.addTeams.map((team) => pickTeam(model, world, orgId, team))];
  const teamRoleNames = [...dropManage(keep(base.teamRoles)), ...pick.addTeamRoles];
  // Derived grants keep teams and team roles together (random grants cover the mismatch).
  const together = teamIds.length > 0 && teamRoleNames.length > 0;
  return { roleNames, teamIds: together ? teamIds : [], teamRoleNames: together ? teamRoleNames : [] };
}
