// An independent model of docs/rules.md, written from its text alone: nothing here is imported from src/
// (the role catalogue is the hand-written one of test/helpers/catalogue.ts).
// It holds the keys, grants and tokens that the API should have after each operation, and decides
// what each operation should answer (allowed, UNAUTHENTICATED, BAD_USER_INPUT, FORBIDDEN, NOT_FOUND).
// Time is counted in whole minutes from the start of a run (the test app's clock is frozen and moved
// only in whole minutes), so token expiry is exact.

import { CATALOGUE_SCOPES, MANAGER_ROLE_NAME, TEAM_ASSIGNABLE_ROLES } from '../helpers/catalogue.ts';

export type Outcome = 'ok' | 'UNAUTHENTICATED' | 'BAD_USER_INPUT' | 'FORBIDDEN' | 'NOT_FOUND';

export const MANAGE = 'api_keys_manage';

interface RoleRow {
  scopes: readonly string[];
  /** Also assignable as a team role. */
  team: boolean;
  /** May be granted through the API (api_keys_manage may not). */
  viaApi: boolean;
}

/** docs/rules.md "Role catalogue" (test/helpers/catalogue.ts, transcribed by hand). */
export const CATALOGUE: ReadonlyMap<string, RoleRow> = new Map(
  Object.entries(CATALOGUE_SCOPES).map(([name, scopes]) => [
    name,
    { scopes, team: TEAM_ASSIGNABLE_ROLES.includes(name), viaApi: name !== MANAGER_ROLE_NAME },
  ]),
);

export const ACCOUNT_ROLES: readonly string[] = [...CATALOGUE.keys()];
export const TEAM_ROLES: readonly string[] = ACCOUNT_ROLES.filter((name) => CATALOGUE.get(name)?.team);

export interface Grants {
  roles: string[];
  teams: string[];
  teamRoles: string[];
}

export type CreatorState = { kind: 'user'; userId: string } | { kind: 'key'; id: string; name: string };

export interface TokenState {
  value: string;
  keyId: string;
  /** Model minute from which the token no longer works; null while it is the current token. */
  expiresAt: number | null;
}

export interface KeyState {
  id: string;
  orgId: string;
  name: string;
  grants: Grants;
  creator: CreatorState;
  createdAt: number;
  tokenLastIssuedAt: number;
  deleted: boolean;
  /** Never used as a caller or a target: it reads the organization's keys for the comparison. */
  observer: boolean;
  /** A label for failure reports (the role the key plays in the scenario). */
  label: string;
}

/** What the model expects from one operation. */
export interface Decision {
  outcome: Outcome;
  /** Which rule decided a FORBIDDEN (for the statistics). */
  reason?: string;
  /** For BAD_USER_INPUT and NOT_FOUND: words one of which the error message should contain. */
  hints?: string[];
  caller?: KeyState;
  target?: KeyState;
  name?: string;
  grants?: Grants;
  gracePeriodMinutes?: number;
  visibleIds?: string[];
}

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const INT32_MAX = 2 ** 31 - 1;

const dedupe = (values: readonly string[]) => [...new Set(values)];
const isSubset = (small: Iterable<string>, big: ReadonlySet<string>) => [...small].every((item) => big.has(item));

function scopesOf(roleNames: readonly string[]): Set<string> {
  const scopes = new Set<string>();
  for (const name of roleNames) for (const scope of CATALOGUE.get(name)?.scopes ?? []) scopes.add(scope);
  return scopes;
}

/** docs/rules.md "Managers". */
export function isAccountManager(grants: Grants): boolean {
  return grants.roles.includes(MANAGE);
}

export function isTeamManager(grants: Grants): boolean {
  return !isAccountManager(grants) && grants.teamRoles.includes(MANAGE);
}

export function isManager(grants: Grants): boolean {
  return isAccountManager(grants) || isTeamManager(grants);
}

/** docs/rules.md "Visibility": whether a key with `target` grants in the caller's organization is visible. */
export function sees(caller: Grants, target: Grants): boolean {
  if (isAccountManager(caller)) return true;
  if (!isTeamManager(caller)) return false;
  return target.roles.length === 0 && target.teams.length > 0 && isSubset(target.teams, new Set(caller.teams));
}

/** docs/rules.md "Covering". */
export function covers(caller: Grants, grants: Grants): boolean {
  const accountScopes = scopesOf(caller.roles);
  for (const role of grants.roles) if (!isSubset(scopesOf([role]), accountScopes)) return false;
  for (const team of grants.teams) {
    const inTeam = caller.teams.includes(team)
      ? new Set([...accountScopes, ...scopesOf(caller.teamRoles)])
      : accountScopes;
    for (const role of grants.teamRoles) if (!isSubset(scopesOf([role]), inTeam)) return false;
  }
  return true;
}

/** Where grants hand out roles that only the administration CLI may grant: "role@account", "role@team". */
function adminOnlyPlaces(grants: Grants): Set<string> {
  const places = new Set<string>();
  for (const role of grants.roles) if (CATALOGUE.get(role)?.viaApi === false) places.add(`${role}@account`);
  for (const role of grants.teamRoles) {
    if (CATALOGUE.get(role)?.viaApi === false) for (const team of grants.teams) places.add(`${role}@${team}`);
  }
  return places;
}

/** Collects every input problem of a request, each named by words its error message may contain. */
class Problems {
  readonly hints: string[] = [];

  add(...hints: string[]): void {
    this.hints.push(...hints);
  }
}

function stringList(problems: Problems, raw: unknown, field: string, required: boolean): string[] {
  if (raw === undefined || raw === null) {
    if (required) problems.add(field);
    return [];
  }
  if (!Array.isArray(raw) || raw.some((item) => typeof item !== 'string')) {
    problems.add(field);
    return [];
  }
  return raw as string[];
}

/**
 * Trimmed, NFC, 1 to 200 characters (code points). Refused: a lone surrogate, a control character or
 * line break (PostgreSQL cannot store U+0000 at all), a bidirectional embedding, override or isolate,
 * and a name of nothing but invisible characters (issue 12, item 9). Written by code point ranges, apart
 * from the implementation's Unicode property classes.
 */
function parseName(problems: Problems, raw: unknown): string {
  const text = typeof raw === 'string' ? raw : '';
  const trimmed = text.trim().normalize('NFC');
  const points = [...trimmed].map((c) => c.codePointAt(0) as number);
  const lone = [...text].some((c) => c.length === 1 && c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff);
  const control = points.some((p) => p < 0x20 || (p >= 0x7f && p <= 0x9f) || p === 0x2028 || p === 0x2029);
  const bidi = points.some((p) => (p >= 0x202a && p <= 0x202e) || (p >= 0x2066 && p <= 0x2069));
  const invisible = (p: number) =>
    /\s/u.test(String.fromCodePoint(p)) ||
    [0xad, 0x34f, 0x61c, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x3164, 0xfeff, 0xffa0].includes(p) ||
    (p >= 0x180b && p <= 0x180f) ||
    (p >= 0x200b && p <= 0x200f) ||
    (p >= 0x202a && p <= 0x202e) ||
    (p >= 0x2060 && p <= 0x206f) ||
    (p >= 0xfe00 && p <= 0xfe0f) ||
    (p >= 0xfff0 && p <= 0xfff8) ||
    (p >= 0x1bca0 && p <= 0x1bca3) ||
    (p >= 0x1d173 && p <= 0x1d17a) ||
    (p >= 0xe0000 && p <= 0xe0fff) ||
    // Marks with nothing to combine with, the Braille blank, format characters that are not
    // default-ignorable, private use and noncharacters (docs/rules.md, Input rules).
    (p >= 0x300 && p <= 0x36f) ||
    (p >= 0x20d0 && p <= 0x20ff) ||
    p === 0x2800 ||
    p === 0x1d159 ||
    (p >= 0xfff9 && p <= 0xfffb) ||
    (p >= 0x13430 && p <= 0x1343f) ||
    (p >= 0xe000 && p <= 0xf8ff) ||
    (p >= 0xfdd0 && p <= 0xfdef) ||
    p === 0xfffe ||
    p === 0xffff;
  const blank = points.length > 0 && points.every(invisible);
  if (lone || control || bidi || blank || points.length < 1 || points.length > 200) problems.add('name');
  return trimmed;
}

function parseId(problems: Problems, raw: unknown): string {
  if (typeof raw !== 'string' || !ULID.test(raw)) problems.add('id');
  return String(raw);
}

function parseGrace(problems: Problems, raw: unknown): number {
  if (raw === undefined || raw === null) return 30;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || Math.abs(raw) > INT32_MAX || raw < 0 || raw > 60) {
    problems.add('gracePeriodMinutes');
  }
  return Number(raw);
}

export interface RawKeyInput {
  id?: unknown;
  name?: unknown;
  roleNames?: unknown;
  teamIds?: unknown;
  teamRoleNames?: unknown;
}

export class RulesModel {
  /** Model minutes since the start of the run. */
  now = 0;
  readonly keys = new Map<string, KeyState>();
  readonly tokens: TokenState[] = [];
  /** team id → organization id */
  readonly teams = new Map<string, string>();

  addTeam(orgId: string, teamId: string): void {
    this.teams.set(teamId, orgId);
  }

  teamsOf(orgId: string): string[] {
    return [...this.teams].filter(([, org]) => org === orgId).map(([team]) => team);
  }

  addKey(key: Omit<KeyState, 'deleted' | 'createdAt' | 'tokenLastIssuedAt'>, token: string): KeyState {
    const state: KeyState = { ...key, deleted: false, createdAt: this.now, tokenLastIssuedAt: this.now };
    this.keys.set(key.id, state);
    this.tokens.push({ value: token, keyId: key.id, expiresAt: null });
    return state;
  }

  tokenWorks(token: TokenState): boolean {
    const key = this.keys.get(token.keyId);
    return key !== undefined && !key.deleted && (token.expiresAt === null || token.expiresAt > this.now);
  }

  /** docs/rules.md "Tokens": the key a token authenticates, or null (401). */
  authenticate(value: string): KeyState | null {
    const token = this.tokens.find((candidate) => candidate.value === value);
    return token && this.tokenWorks(token) ? (this.keys.get(token.keyId) ?? null) : null;
  }

  /**
   * docs/rules.md "Lifetime is part of covering": a token in its grace period (one a rotation replaced)
   * is held to its grace end. The keys of this model never expire, so whatever such a token creates,
   * updates or rotates would outlive it.
   */
  #inGracePeriod(value: string): boolean {
    const token = this.tokens.find((candidate) => candidate.value === value);
    return token !== undefined && token.expiresAt !== null;
  }

  liveKeys(orgId?: string): KeyState[] {
    return [...this.keys.values()].filter((key) => !key.deleted && (orgId === undefined || key.orgId === orgId));
  }

  #parseGrants(problems: Problems, orgId: string, raw: RawKeyInput, required: boolean): Grants {
    const roles = dedupe(stringList(problems, raw.roleNames, 'roleNames', required));
    const teams = dedupe(stringList(problems, raw.teamIds, 'teamIds', required));
    const teamRoles = dedupe(stringList(problems, raw.teamRoleNames, 'teamRoleNames', required));
    for (const role of roles) if (!CATALOGUE.has(role)) problems.add(role);
    for (const role of teamRoles) if (!CATALOGUE.get(role)?.team) problems.add(role);
    for (const team of teams) if (this.teams.get(team) !== orgId) problems.add(team);
    if ((teams.length === 0) !== (teamRoles.length === 0)) problems.add('teamIds', 'teamRoleNames');
    return { roles, teams, teamRoles };
  }

  /**
   * Runs the checks in docs/rules.md's order: authentication, then input validity (`input` returns the
   * parsed input and records problems), then the manager, visibility and permission checks of `rules`.
   */
  #decide<T>(
    token: string,
    input: (problems: Problems, caller: KeyState) => T,
    rules: (caller: KeyState, parsed: T) => Decision,
  ): Decision {
    const caller = this.authenticate(token);
    if (!caller) return { outcome: 'UNAUTHENTICATED' };
    const problems = new Problems();
    const parsed = input(problems, caller);
    if (problems.hints.length > 0) return { outcome: 'BAD_USER_INPUT', hints: problems.hints, caller };
    if (!isManager(caller.grants)) return { outcome: 'FORBIDDEN', reason: 'not a manager', caller };
    return { caller, ...rules(caller, parsed) };
  }

  #visibleTarget(caller: KeyState, id: string): KeyState | null {
    const target = this.keys.get(id);
    if (!target || target.deleted || target.orgId !== caller.orgId) return null;
    return sees(caller.grants, target.grants) ? target : null;
  }

  decideShow(token: string, rawId: unknown): Decision {
    return this.#decide(
      token,
      (problems) => parseId(problems, rawId),
      (caller, id) => {
        const target = this.#visibleTarget(caller, id);
        return target ? { outcome: 'ok', target } : { outcome: 'NOT_FOUND', hints: [id] };
      },
    );
  }

  decideList(token: string): Decision {
    return this.#decide(
      token,
      () => null,
      (caller) => ({
        outcome: 'ok',
        visibleIds: this.liveKeys(caller.orgId)
          .filter((key) => sees(caller.grants, key.grants))
          .map((key) => key.id),
      }),
    );
  }

  /** currentApiKey: any valid key. */
  decideCurrent(token: string): Decision {
    const caller = this.authenticate(token);
    return caller ? { outcome: 'ok', caller, target: caller } : { outcome: 'UNAUTHENTICATED' };
  }

  decideCreate(token: string, raw: RawKeyInput): Decision {
    return this.#decide(
      token,
      (problems, caller) => ({
        name: parseName(problems, raw.name),
        grants: this.#parseGrants(problems, caller.orgId, raw, false),
      }),
      (caller, { name, grants }) => {
        if (adminOnlyPlaces(grants).size > 0) return { outcome: 'FORBIDDEN', reason: 'grants api_keys_manage' };
        if (!sees(caller.grants, grants)) return { outcome: 'FORBIDDEN', reason: 'new key not visible' };
        if (!covers(caller.grants, grants)) return { outcome: 'FORBIDDEN', reason: 'grants not covered' };
        if (this.#inGracePeriod(token)) return { outcome: 'FORBIDDEN', reason: 'outlives a grace token' };
        return { outcome: 'ok', name, grants };
      },
    );
  }

  decideUpdate(token: string, raw: RawKeyInput): Decision {
    return this.#decide(
      token,
      (problems, caller) => ({
        id: parseId(problems, raw.id),
        name: parseName(problems, raw.name),
        grants: this.#parseGrants(problems, caller.orgId, raw, true),
      }),
      (caller, { id, name, grants }) => {
        const target = this.#visibleTarget(caller, id);
        if (!target) return { outcome: 'NOT_FOUND', hints: [id] };
        if (target.id === caller.id) return { outcome: 'FORBIDDEN', reason: 'updates itself' };
        if (!sees(caller.grants, grants)) return { outcome: 'FORBIDDEN', reason: 'result not visible' };
        const before = adminOnlyPlaces(target.grants);
        if ([...adminOnlyPlaces(grants)].some((place) => !before.has(place))) {
          return { outcome: 'FORBIDDEN', reason: 'adds api_keys_manage' };
        }
        if (!covers(caller.grants, grants)) return { outcome: 'FORBIDDEN', reason: 'grants not covered' };
        if (this.#inGracePeriod(token)) return { outcome: 'FORBIDDEN', reason: 'outlives a grace token' };
        return { outcome: 'ok', target, name, grants };
      },
    );
  }

  decideRotate(token: string, rawId: unknown, rawGrace: unknown): Decision {
    return this.#decide(
      token,
      (problems) => ({ id: parseId(problems, rawId), gracePeriodMinutes: parseGrace(problems, rawGrace) }),
      (caller, { id, gracePeriodMinutes }) => {
        const target = this.#visibleTarget(caller, id);
        if (!target) return { outcome: 'NOT_FOUND', hints: [id] };
        const graceToken = this.#inGracePeriod(token);
        if (graceToken && target.id === caller.id)
          return { outcome: 'FORBIDDEN', reason: 'grace token rotates its key' };
        if (!covers(caller.grants, target.grants)) return { outcome: 'FORBIDDEN', reason: 'target not covered' };
        if (graceToken) return { outcome: 'FORBIDDEN', reason: 'outlives a grace token' };
        return { outcome: 'ok', target, gracePeriodMinutes };
      },
    );
  }

  decideDelete(token: string, rawId: unknown): Decision {
    return this.decideShow(token, rawId);
  }

  // ---- effects of allowed operations --------------------------------------------------------------

  applyUpdate(target: KeyState, name: string, grants: Grants): void {
    target.name = name;
    target.grants = grants;
  }

  /** The current token expires after the grace period; earlier ones keep their expiry. */
  applyRotate(target: KeyState, token: string, gracePeriodMinutes: number): void {
    for (const old of this.tokens) {
      if (old.keyId === target.id && old.expiresAt === null) old.expiresAt = this.now + gracePeriodMinutes;
    }
    this.tokens.push({ value: token, keyId: target.id, expiresAt: null });
    target.tokenLastIssuedAt = this.now;
  }

  applyDelete(target: KeyState): void {
    target.deleted = true;
  }

  advance(minutes: number): void {
    this.now += minutes;
  }
}
