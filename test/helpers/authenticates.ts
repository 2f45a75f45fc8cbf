// Whether a token authenticates, asked the cheapest way (WHOAMI): what tests of tokens, rotation,
// deletion and expiry check after each step.
import { expect } from 'vitest';
import type { TestApp } from './app.ts';
import { WHOAMI } from './documents.ts';

/** The token authenticates (as the key `id`, when given). */
export async function expectAccepted(t: Pick<TestApp, 'gql'>, token: string, id?: string): Promise<void> {
  const response = await t.gql<{ currentApiKey: { id: string } }>(token, WHOAMI);
  expect(response.errors).toBeUndefined();
  expect(response.status).toBe(200);
  if (id !== undefined) expect(response.data?.currentApiKey.id).toBe(id);
}

/** The token is refused like an unknown one: 401, UNAUTHENTICATED, no data. */
export async function expectRejected(t: Pick<TestApp, 'gql'>, token: string): Promise<void> {
  const response = await t.gql(token, WHOAMI);
  expect(response.status).toBe(401);
  expect(response.code).toBe('UNAUTHENTICATED');
  expect(response.data).toBeNull();
}
