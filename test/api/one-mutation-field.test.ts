// At most one root mutation field per request (issue 12, finding 3). A mutation's root fields run one
// after the other, each committing on its own: a failing second field left the first one's change
// committed with `data: null`, its new token never delivered. Such a document is refused with
// BAD_USER_INPUT before anything runs, whatever the aliases and fragments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { WHOAMI } from '../helpers/documents.ts';

describe.each(providers)('one root field per mutation, on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let admin: { id: string; token: string };

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    admin = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'admin');
  });
  afterAll(() => t.close());

  const keysNamed = (name: string) => t.domain.db.apiKey.count({ where: { name } });
  const auditEvents = () => t.domain.db.auditEvent.count();

  function expectRefused(answer: Awaited<ReturnType<TestApp['gql']>>, fields: number) {
    expect(answer.data).toBeNull();
    expect(answer.errors).toHaveLength(1);
    expect(answer.code).toBe('BAD_USER_INPUT');
    expect(answer.errors?.[0]?.message).toMatch(
      new RegExp(`at most one mutation field; this one selects ${fields}\\b`),
    );
  }

  it('a valid create and an invalid one: refused, and the valid one was not written', async () => {
    const events = await auditEvents();
    const answer = await t.gql(
      admin.token,
      `mutation {
        a: createApiKey(input: { name: "half-done a", roleNames: ["viewer"] }) { token }
        b: createApiKey(input: { name: "" }) { token }
      }`,
    );
    expectRefused(answer, 2);
    expect(await keysNamed('half-done a')).toBe(0);
    expect(await auditEvents()).toBe(events);
  });

  it('a rotation without grace period and a failing field: refused, the token still works', async () => {
    const target = await org.key({ roles: ['viewer'] }, 'rotated in a half-done document');
    const before = await t.domain.db.apiKey.findUniqueOrThrow({ where: { id: target.id } });
    const answer = await t.gql(
      admin.token,
      `mutation($id: ID!) {
        a: rotateApiKey(input: { id: $id, gracePeriodMinutes: 0 }) { token }
        b: deleteApiKey(input: { id: "not-an-id" }) { deletedApiKeyId }
      }`,
      { id: target.id },
    );
    expectRefused(answer, 2);
    expect((await t.gql(target.token, WHOAMI)).data).toEqual({ currentApiKey: { id: target.id } });
    const after = await t.domain.db.apiKey.findUniqueOrThrow({ where: { id: target.id } });
    expect(after.tokenLastIssuedAt).toEqual(before.tokenLastIssuedAt);
    expect(await t.domain.db.apiKeyToken.count({ where: { apiKeyId: target.id } })).toBe(1);
  });

  it('a key that deletes itself, then creates, in one document: refused, the key is still there', async () => {
    const self = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'deletes itself in one document');
    const answer = await t.gql(
      self.token,
      `mutation($id: ID!) {
        deleteApiKey(input: { id: $id }) { deletedApiKeyId }
        createApiKey(input: { name: "made after self-deletion", roleNames: ["viewer"] }) { token }
      }`,
      { id: self.id },
    );
    expectRefused(answer, 2);
    expect(await keysNamed('made after self-deletion')).toBe(0);
    expect((await t.gql(self.token, WHOAMI)).data).toEqual({ currentApiKey: { id: self.id } });
  });

  it('counts the fields of fragments on Mutation, spread or inline', async () => {
    const spread = await t.gql(
      admin.token,
      `mutation { ...Two }
       fragment Two on Mutation {
         a: createApiKey(input: { name: "via fragment a", roleNames: ["viewer"] }) { token }
         b: createApiKey(input: { name: "via fragment b", roleNames: ["viewer"] }) { token }
       }`,
    );
    expectRefused(spread, 2);
    const inline = await t.gql(
      admin.token,
      `mutation {
         a: createApiKey(input: { name: "via fragment a", roleNames: ["viewer"] }) { token }
         ... on Mutation { b: createApiKey(input: { name: "via fragment b", roleNames: ["viewer"] }) { token } }
       }`,
    );
    expectRefused(inline, 2);
    expect(await keysNamed('via fragment a')).toBe(0);
    expect(await keysNamed('via fragment b')).toBe(0);
  });

  it('fifteen aliased creates: refused, none written (no alias amplification of writes)', async () => {
    const fields = Array.from(
      { length: 15 },
      (_, i) => `c${i}: createApiKey(input: { name: "amplified", roleNames: ["viewer"] }) { token }`,
    );
    expectRefused(await t.gql(admin.token, `mutation { ${fields.join('\n')} }`), 15);
    expect(await keysNamed('amplified')).toBe(0);
  });

  it('serves one field, also selected twice under one name (it runs once), with __typename beside it', async () => {
    const answer = await t.gql<{ createApiKey: { token: string; apiKey: { id: string } }; __typename: string }>(
      admin.token,
      `mutation {
        __typename
        createApiKey(input: { name: "single", roleNames: ["viewer"] }) { token }
        createApiKey(input: { name: "single", roleNames: ["viewer"] }) { apiKey { id } }
      }`,
    );
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.createApiKey.token).toMatch(/./);
    expect(await keysNamed('single')).toBe(1);
  });

  it('judges the selected operation: a query beside a two-field mutation is served; queries may have many fields', async () => {
    const document = `
      query Who { currentApiKey { id } apiKeys(first: 1) { edges { node { id } } } }
      mutation Two {
        a: createApiKey(input: { name: "not selected a", roleNames: ["viewer"] }) { token }
        b: createApiKey(input: { name: "not selected b", roleNames: ["viewer"] }) { token }
      }`;
    const response = await t.app.fetch('http://keygate.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({ query: document, operationName: 'Who' }),
    });
    const body = (await response.json()) as { data?: { currentApiKey: { id: string } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data?.currentApiKey.id).toBe(admin.id);
    const refused = await t.app.fetch('http://keygate.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
      body: JSON.stringify({ query: document, operationName: 'Two' }),
    });
    const refusal = (await refused.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(refusal.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await keysNamed('not selected a')).toBe(0);
  });
});
