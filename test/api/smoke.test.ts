import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { API_KEY_FIELDS } from '../helpers/documents.ts';

describe.each(providers)('smoke on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  it('creates, lists, rotates and deletes', async () => {
    const org = await t.org();
    const team = await org.team();
    const admin = await org.key({ roles: ['api_keys_manage', 'viewer', 'schedules_editor'] });
    const created = await t.gql<{ createApiKey: { apiKey: { id: string }; token: string } }>(
      admin.token,
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { ${API_KEY_FIELDS} } } }`,
      { input: { name: 'k', roleNames: ['viewer'], teamIds: [team], teamRoleNames: ['schedules_editor'] } },
    );
    expect(created.errors).toBeUndefined();
    const list = await t.gql(
      admin.token,
      `{ apiKeys(first: 10) { edges { cursor node { ${API_KEY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
    );
    expect(list.errors).toBeUndefined();
    const id = created.data?.createApiKey.apiKey.id;
    const rotated = await t.gql(
      admin.token,
      `mutation { rotateApiKey(input: { id: "${id}", gracePeriodMinutes: 0 }) { token previousTokenExpiresAt } }`,
    );
    expect(rotated.errors).toBeUndefined();
    const deleted = await t.gql(admin.token, `mutation { deleteApiKey(input: { id: "${id}" }) { deletedApiKeyId } }`);
    expect(deleted.data).toEqual({ deleteApiKey: { deletedApiKeyId: id } });
  });
});
