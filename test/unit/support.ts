// Shared fixtures for the domain unit tests: team ids, grant builders and an error matcher.
import { expect } from 'vitest';
import type { Grants } from '../../src/domain/access.ts';
import { type ErrorCode, KeygateError } from '../../src/domain/errors.ts';

export const TEAM_A = '01HV0000000000000000000AAA';
export const TEAM_B = '01HV0000000000000000000BBB';
export const TEAM_C = '01HV0000000000000000000CCC';

/** Grants with every field defaulted to empty, so tables only spell out what matters. */
export const grants = (g: Partial<Grants> = {}): Grants => ({
  roleNames: g.roleNames ?? [],
  teamIds: g.teamIds ?? [],
  teamRoleNames: g.teamRoleNames ?? [],
});

/** Runs `fn`, expects a KeygateError with `code` whose message contains every fragment. */
export function expectKeygateError(fn: () => unknown, code: ErrorCode, ...fragments: string[]): KeygateError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a KeygateError to be thrown').toBeInstanceOf(KeygateError);
  const error = thrown as KeygateError;
  expect(error.code).toBe(code);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}
