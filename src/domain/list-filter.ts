// The filter of `apiKeys` (docs/api.md, ApiKeyFilter): parsed once, and turned into a key that binds
// cursors and kept pages to it. Every given condition must hold.
import { createHash } from 'node:crypto';
import { badInput } from './errors.ts';
import { NAME_MAX_LENGTH, parseId } from './input.ts';

export interface ListFilterInput {
  nameContains?: string | null;
  teamId?: string | null;
  expiringBefore?: Date | null;
}

export interface ListFilter {
  /**
   * The substring, ASCII letters in lower case. Names are compared with their ASCII letters in lower
   * case and every other character as it is: PostgreSQL's lower() folds other letters by the database's
   * locale and SQLite's not at all, so only ASCII folding answers alike on both databases.
   */
  nameContains?: string;
  teamId?: string;
  expiringBefore?: Date;
  /**
   * '' without a condition; otherwise a digest of the conditions as parsed, the same for every
   * spelling of the same filter ("Prod" and "prod"). Cursors and kept pages carry it.
   */
  key: string;
}

export const NO_FILTER: ListFilter = { key: '' };

const ASCII_UPPER = /[A-Z]+/g;

/** `text` with its ASCII letters in lower case, the rest as it is (see ListFilter.nameContains). */
export const foldAscii = (text: string): string => text.replace(ASCII_UPPER, (letters) => letters.toLowerCase());

/** Checks and normalises a filter; absent or null conditions do not count. */
export function parseListFilter(input: ListFilterInput | null | undefined): ListFilter {
  if (!input) return NO_FILTER;
  const filter: Omit<ListFilter, 'key'> = {};
  if (input.nameContains != null) {
    const text = input.nameContains;
    const length = [...text].length;
    if (length === 0 || length > NAME_MAX_LENGTH) {
      throw badInput(`filter.nameContains must be 1 to ${NAME_MAX_LENGTH} characters long; got ${length}.`);
    }
    if (text.includes('\u0000')) throw badInput('filter.nameContains must not contain the NUL character (U+0000).');
    filter.nameContains = foldAscii(text);
  }
  if (input.teamId != null) filter.teamId = parseId(input.teamId, 'filter.teamId', 'a team');
  if (input.expiringBefore != null) filter.expiringBefore = input.expiringBefore;
  const parts = [filter.nameContains ?? null, filter.teamId ?? null, filter.expiringBefore?.getTime() ?? null];
  if (parts.every((part) => part === null)) return NO_FILTER;
  const key = createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 16);
  return { ...filter, key };
}
