// Input rules of docs/rules.md ("BAD_USER_INPUT, nothing written"). Pure: team existence is checked
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

const hex = (codePoint: number) => `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;

/** The first code point of `text` that matches `pattern` (without the g flag), and its 1-based position. */
function firstMatch(text: string, pattern: RegExp): { point: string; at: number } | null {
  const match = pattern.exec(text);
  if (!match) return null;
  return { point: hex(match[0].codePointAt(0) as number), at: [...text.slice(0, match.index)].length + 1 };
}

// In a `u` pattern a lone surrogate is a code point of its own (category Cs); a pair is one character.
const LONE_SURROGATE = /\p{Cs}/u;
// C0, DEL and C1, and the line and paragraph separators: a name is one line of text, without tabs.
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;
// Embeddings, overrides and isolates reorder what follows them ("Trojan Source"). The marks LRM, RLM and
// ALM only set the direction of neutral characters next to them: right-to-left names need them.
const BIDI_REORDERING = /[\u202A-\u202E\u2066-\u2069]/u;
// What a reader can see: a letter, digit, punctuation mark or symbol that is not default-ignorable
// (Hangul fillers are letters drawn as nothing), not the Braille pattern blank (a symbol drawn as an
// empty cell, the usual "invisible" name on chat platforms) and not the musical null notehead (U+1D159,
// a symbol drawn as nothing). A name needs one: made only of
// whitespace, zero-width and other format characters (U+200B, U+FFF9, the Egyptian hieroglyph format
// controls, …), marks with nothing to combine with, private-use, noncharacter or unassigned code points,
// it shows nothing.
const VISIBLE = /(?![\p{Default_Ignorable_Code_Point}\u2800\u{1D159}])[\p{L}\p{N}\p{P}\p{S}]/u;

/**
 * A name as it is stored and shown (docs/rules.md, Input rules): well-formed Unicode (no lone
 * surrogate, which neither database can store as sent: SQLite read one back as three U+FFFD); trimmed
 * and normalised to NFC, so one name has one spelling; no control characters or line breaks; no bidirectional
 * embedding, override or isolate; at least one visible character; 1 to 200 characters, counted in
 * code points after normalisation. Each refusal names the first offending code point and its position.
 */
export function parseName(name: string, field = 'name'): string {
  const surrogate = firstMatch(name, LONE_SURROGATE);
  if (surrogate) {
    throw badInput(
      `${field} is not well-formed Unicode: character ${surrogate.at} is a lone surrogate (${surrogate.point}), half of a UTF-16 pair.`,
    );
  }
  const normalized = name.trim().normalize('NFC');
  const control = firstMatch(normalized, CONTROL);
  if (control) {
    throw badInput(
      `${field} must not contain control characters or line breaks; character ${control.at} is ${control.point}.`,
    );
  }
  const bidi = firstMatch(normalized, BIDI_REORDERING);
  if (bidi) {
    throw badInput(
      `${field} must not contain bidirectional embedding, override or isolate characters (they reorder the text shown); character ${bidi.at} is ${bidi.point}.`,
    );
  }
  const length = [...normalized].length;
  if (length === 0) throw badInput(`${field} must not be empty.`);
  if (!VISIBLE.test(normalized)) {
    throw badInput(
      `${field} must contain a visible character (a letter, digit, punctuation mark or symbol); it has only invisible ones (spaces, zero-width, format or blank characters, marks with nothing to combine with, unassigned or private-use code points, and the like).`,
    );
  }
  if (length > NAME_MAX_LENGTH) {
    throw badInput(`${field} is ${length} characters long; the maximum is ${NAME_MAX_LENGTH}.`);
  }
  return normalized;
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
export function parseGrantsInput(catalogue: RoleCatalogue, input: GrantsInput): Grants {
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

/**
 * An expiresAt given on create or update (docs/rules.md, Expiry): a time in the future, or null
 * (never expires); undefined (absent) passes through.
 */
export function parseExpiresAt(value: Date | null | undefined, now: Date): Date | null | undefined {
  if (value == null) return value;
  if (Number.isNaN(value.getTime())) throw badInput('expiresAt is not a valid time.');
  if (value.getTime() <= now.getTime()) {
    throw badInput(`expiresAt must be in the future; got ${value.toISOString()}.`);
  }
  return value;
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
