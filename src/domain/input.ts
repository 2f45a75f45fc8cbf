// Input rules of RULES.md ("BAD_USER_INPUT, nothing written"). Pure: team existence is checked
// against the database by the operations, with the same messages.
import type { Grants } from './access.ts';
import { badInput } from './errors.ts';
import type { RoleCatalogue } from './roles.ts';

export const NAME_MAX_LENGTH = 200;
export const GRACE_PERIOD = { min: 0, max: 60, default: 30 } as const;
export const PAGE_SIZE = { min: 1, max: 250, default: 25 } as const;

const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

export function isUlid(value: string): boolean {
  return ULID_PATTERN.test(value);
}

/** Trimmed; 1 to 200 characters (Unicode code points). */
export function parseName(name: string, field = 'name'): string {
  const trimmed = name.trim();
  const length = [...trimmed].length;
  if (length === 0) throw badInput(`${field} must not be empty.`);
  // PostgreSQL text cannot hold U+0000 (it would fail as an unexpected error there); refuse it everywhere.
  if (trimmed.includes('\u0000')) throw badInput(`${field} must not contain the NUL character (U+0000).`);
  if (length > NAME_MAX_LENGTH) {
    throw badInput(`${field} is ${length} characters long; the maximum is ${NAME_MAX_LENGTH}.`);
  }
  return trimmed;
}

export function parseId(id: string, field = 'id', what = 'an API key'): string {
  if (!isUlid(id)) throw badInput(`${field}: ${JSON.stringify(id)} is not ${what} id (expected a 26-character ULID).`);
  return id;
}

export interface GrantsInput {
  roleNames?: readonly string[] | null;
  teamIds?: readonly string[] | null;
  teamRoleNames?: readonly string[] | null;
}

const unique = (values: readonly string[] | null | undefined) => [...new Set(values ?? [])];

/**
 * Deduplicates, checks each role exists and may be granted at its level, checks team ids are ids and
 * that teams and team roles come together. Returns grants in a canonical order (roles in catalogue
 * order, teams by id) so that stored and returned grants are stable.
 */
export function parseGrants(catalogue: RoleCatalogue, input: GrantsInput): Grants {
  const roleNames = unique(input.roleNames);
  const teamIds = unique(input.teamIds);
  const teamRoleNames = unique(input.teamRoleNames);

  for (const name of roleNames) {
    const role = catalogue.get(name);
    if (!role) throw badInput(`roleNames: unknown role ${JSON.stringify(name)}.`);
    if (!role.accountLevel) throw badInput(`roleNames: role "${name}" cannot be granted at account level.`);
  }
  for (const name of teamRoleNames) {
    const role = catalogue.get(name);
    if (!role) throw badInput(`teamRoleNames: unknown role ${JSON.stringify(name)}.`);
    if (!role.teamLevel) throw badInput(`teamRoleNames: role "${name}" cannot be granted as a team role.`);
  }
  for (const teamId of teamIds) {
    if (!isUlid(teamId)) throw badInput(`teamIds: unknown team ${JSON.stringify(teamId)}.`);
  }
  if ((teamIds.length === 0) !== (teamRoleNames.length === 0)) {
    throw badInput(
      teamIds.length === 0
        ? 'teamRoleNames were given without teamIds: give both, or neither.'
        : 'teamIds were given without teamRoleNames: give both, or neither.',
    );
  }
  return {
    roleNames: roleNames.sort(catalogue.compare),
    teamIds: teamIds.sort(),
    teamRoleNames: teamRoleNames.sort(catalogue.compare),
  };
}

export function parseGracePeriod(minutes: number | null | undefined): number {
  const value = minutes ?? GRACE_PERIOD.default;
  if (!Number.isInteger(value) || value < GRACE_PERIOD.min || value > GRACE_PERIOD.max) {
    throw badInput(
      `gracePeriodMinutes must be a whole number from ${GRACE_PERIOD.min} to ${GRACE_PERIOD.max}; got ${value}.`,
    );
  }
  return value;
}

export function parsePageSize(first: number | null | undefined): number {
  const value = first ?? PAGE_SIZE.default;
  if (!Number.isInteger(value) || value < PAGE_SIZE.min || value > PAGE_SIZE.max) {
    throw badInput(`first must be a whole number from ${PAGE_SIZE.min} to ${PAGE_SIZE.max}; got ${value}.`);
  }
  return value;
}

const CURSOR_PREFIX = 'apikey:';

/**
 * Cursors are opaque to clients: base64url of a versioned key id, followed, for a page read under a
 * filter, by the filter's key (src/domain/list-filter.ts): a cursor continues only the listing it came from.
 */
export function encodeCursor(id: string, filterKey = ''): string {
  return Buffer.from(`${CURSOR_PREFIX}${id}${filterKey === '' ? '' : `:${filterKey}`}`).toString('base64url');
}

/** The key id of a cursor issued under the filter of `filterKey` ('' for none). */
export function decodeCursor(cursor: string, filterKey = ''): string {
  const decoded = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  const rest = decoded.startsWith(CURSOR_PREFIX) ? decoded.slice(CURSOR_PREFIX.length) : '';
  const id = rest.slice(0, 26);
  const bound = rest.slice(26);
  if (!isUlid(id) || !(bound === '' || /^:[A-Za-z0-9_-]+$/.test(bound))) {
    throw badInput('after: malformed cursor; pass an endCursor or edge cursor returned by apiKeys.');
  }
  if (bound !== (filterKey === '' ? '' : `:${filterKey}`)) {
    throw badInput(
      'after: this cursor was issued under another filter; pass the filter of the page it came from, or leave out after.',
    );
  }
  return id;
}
