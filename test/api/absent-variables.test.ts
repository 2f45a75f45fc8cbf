// A variable that is declared but not given is absent, as the GraphQL spec says, also inside an input
// object: `updateApiKey(input: { …, expiresAt: $e })` with no $e leaves the expiry as it was (docs/api.md,
// UpdateApiKeyInput.expiresAt: "absent: unchanged"). A compiled executor that turned it into null would
// silently make the key live for ever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

const UPDATE = `mutation($id: ID!, $e: DateTime) {
  updateApiKey(input: { id: $id, name: "renamed", roleNames: ["viewer"], teamIds: [], teamRoleNames: [], expiresAt: $e }) {
    apiKey { name expiresAt }
  }
}`;
const SHOW = 'query($id: ID!) { apiKey(id: $id) { expiresAt } }';

describe.each(providers)('declared but absent variables on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  it('an absent $expiresAt inside the update input leaves the expiry unchanged; null removes it', async () => {
    const org = await t.org();
    const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const expiresAt = new Date(Date.now() + 30 * 86_400_000);
    const target = await org.key({ roles: ['viewer'] }, 'expiring', expiresAt);

    for (let round = 0; round < 2; round++) {
      const absent = await t.gql<{ updateApiKey: { apiKey: { expiresAt: string | null } } }>(admin.token, UPDATE, {
        id: target.id,
      });
      expect(absent.errors).toBeUndefined();
      expect(absent.data?.updateApiKey.apiKey.expiresAt).toBe(expiresAt.toISOString());
      const shown = await t.gql<{ apiKey: { expiresAt: string | null } }>(admin.token, SHOW, { id: target.id });
      expect(shown.data?.apiKey.expiresAt).toBe(expiresAt.toISOString());
    }

    const cleared = await t.gql<{ updateApiKey: { apiKey: { expiresAt: string | null } } }>(admin.token, UPDATE, {
      id: target.id,
      e: null,
    });
    expect(cleared.data?.updateApiKey.apiKey.expiresAt).toBeNull();
  });

  // createApiKey, rotateApiKey and deleteApiKey run compiled (src/app.ts, `compiled`): for each, absent
  // and null mean the same, and this holds it.
  it('absent variables inside the create input mean their defaults: no grants, never expires', async () => {
    const org = await t.org();
    const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const CREATE = `mutation($roles: [String!], $teams: [ID!], $teamRoles: [String!], $e: DateTime) {
      createApiKey(input: { name: "defaults", roleNames: $roles, teamIds: $teams, teamRoleNames: $teamRoles, expiresAt: $e }) {
        apiKey { roles { name } teamIds teamRoles { name } expiresAt }
      }
    }`;
    for (const variables of [{}, { roles: null, teams: null, teamRoles: null, e: null }]) {
      const created = await t.gql<{
        createApiKey: { apiKey: { roles: unknown[]; teamIds: unknown[]; teamRoles: unknown[]; expiresAt: unknown } };
      }>(admin.token, CREATE, variables);
      expect(created.errors).toBeUndefined();
      expect(created.data?.createApiKey.apiKey).toEqual({ roles: [], teamIds: [], teamRoles: [], expiresAt: null });
    }
  });

  it('an absent $gracePeriodMinutes inside the rotate input means the default of 30 minutes, as null does', async () => {
    const org = await t.org();
    const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const target = await org.key({ roles: ['viewer'] });
    const ROTATE = `mutation($id: ID!, $g: Int) {
      rotateApiKey(input: { id: $id, gracePeriodMinutes: $g }) { previousTokenExpiresAt }
    }`;
    for (const variables of [{ id: target.id }, { id: target.id, g: null }]) {
      const before = t.clock.now().getTime();
      const rotated = await t.gql<{ rotateApiKey: { previousTokenExpiresAt: string } }>(admin.token, ROTATE, variables);
      expect(rotated.errors).toBeUndefined();
      const graceEnd = Date.parse(rotated.data?.rotateApiKey.previousTokenExpiresAt ?? '');
      expect(graceEnd - before).toBeGreaterThanOrEqual(30 * 60_000);
      expect(graceEnd - before).toBeLessThan(31 * 60_000);
    }
  });
});
