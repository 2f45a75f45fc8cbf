// The list of keys (`apiKeys`): a page of the keys visible to the caller that meet the filter, newest
// first, in one statement whatever the page size and filter (src/store/key-page.ts).
import { readPage } from '../store/key-page.ts';
import { visibleKeysSql } from './access.ts';
import { decodeCursor, parsePageSize } from './input.ts';
import { type ListFilter, type ListFilterInput, parseListFilter } from './list-filter.ts';
import { managerGate, requireManager } from './manager-gate.ts';
import type { Page } from './records.ts';
import type { Caller, Domain } from './types.ts';

export type { Page };

export interface ListArgs {
  first?: number | null;
  after?: string | null;
  filter?: ListFilterInput | null;
}

export interface ParsedListArgs {
  first: number;
  afterId: string | null;
  filter: ListFilter;
}

/** Page size, filter and cursor checked, in that order (a cursor is checked against its filter). */
export function parseListArgs(args: ListArgs): ParsedListArgs {
  const first = parsePageSize(args.first);
  const filter = parseListFilter(args.filter);
  const afterId = args.after == null ? null : decodeCursor(args.after, filter.key);
  return { first, afterId, filter };
}

/** The gate of apiKeys (see managerGate): a manager passes; listApiKeys parses its arguments, once. */
export const mayListApiKeys = (caller: Caller, args: ListArgs): true | Promise<true> =>
  managerGate(caller, () => parseListArgs(args));

/**
 * A page of the keys visible to the caller, newest first, with their grants and the users who created
 * them: one statement whatever the page size.
 */
export async function listApiKeys(domain: Domain, caller: Caller, args: ListArgs): Promise<Page> {
  const { first, afterId, filter } = parseListArgs(args);
  requireManager(caller);
  const access = caller.access;
  const organizationId = caller.key.organizationId;
  // Callers who see the same keys share the page (docs/rules.md, Visibility).
  const visibility = access.isAccountManager ? '*' : access.managedTeamIds.join(',');
  const key = `page\0${organizationId}\0${visibility}\0${afterId ?? ''}\0${first}\0${filter.key}`;
  return domain.reads.read(
    key,
    () => readPage(domain, { organizationId, visible: visibleKeysSql(access), first, afterId, filter }),
    (page) => page.keys.length + 1,
  );
}
