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
});
