// On PostgreSQL a change's transaction sends its BEGIN with its first statement and its writes with
// COMMIT (src/db/pg-round-trips.ts): each message is a round trip, waited for while the change holds
// its locks and its connection. Counted here through the public interface, message by message, with
// what each change did checked through the API afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { CREATE_ID, DELETE_BY_ID, ROTATE_TOKEN, UPDATE_NAME, WHOAMI } from '../helpers/documents.ts';

describe.skipIf(!providers.includes('postgresql'))('round trips of a change on PostgreSQL', () => {
  let messages: string[] = [];
  const listen = { onMessage: (text: string) => messages.push(text) };
  let t: TestApp;
  let org: Org;
  let token: string;
  // KEYGATE_MAX_KEYS_PER_ORG=0: no key count before a creation.
  let unlimited: TestApp;
  let unlimitedToken: string;

  beforeAll(async () => {
    t = await createTestApp('postgresql', listen);
    org = await t.org();
    ({ token } = await org.key({ roles: ['api_keys_manage', 'viewer'] }));
    unlimited = await createTestApp('postgresql', { ...listen, maxKeysPerOrganization: 0 });
    ({ token: unlimitedToken } = await (await unlimited.org()).key({ roles: ['api_keys_manage', 'viewer'] }));
  });
  afterAll(async () => {
    await t.close();
    await unlimited.close();
  });

  /** The messages one request sends, its caller's token warm in the cache first. */
  async function messagesOf(query: string, variables?: Record<string, unknown>, app = t, caller = token) {
    expect((await app.gql(caller, WHOAMI)).errors).toBeUndefined();
    messages = [];
    const response = await app.gql<Record<string, unknown>>(caller, query, variables);
    expect(response.errors).toBeUndefined();
    return { data: response.data, sent: messages, listed: messages.map((text) => text.slice(0, 80)).join('\n') };
  }

  const isBegin = (text: string | undefined) => /^BEGIN;/.test(text ?? '');
  const endsInCommit = (text: string | undefined) => /;\s*COMMIT$/.test(text ?? '');

  it('a creation is two: BEGIN with the caller and its token re-read, the writes with COMMIT', async () => {
    const input = { name: 'three trips', roleNames: ['viewer'] };
    const { data, sent, listed } = await messagesOf(CREATE_ID, { input }, unlimited, unlimitedToken);
    expect(sent, listed).toHaveLength(2);
    expect(isBegin(sent[0])).toBe(true);
    expect(endsInCommit(sent[1])).toBe(true);
    expect(sent.filter((text) => /\bBEGIN\b/.test(text))).toHaveLength(1);
    const created = (data as { createApiKey: { apiKey: { id: string } } }).createApiKey.apiKey.id;
    const shown = await unlimited.gql<{ apiKey: { name: string } }>(
      unlimitedToken,
      'query($id: ID!) { apiKey(id: $id) { name } }',
      { id: created },
    );
    expect(shown.data?.apiKey.name).toBe('three trips');
  });

  it("with a limit of keys, one more: the organization's lock goes with the count", async () => {
    const { sent, listed } = await messagesOf(CREATE_ID, { input: { name: 'four trips', roleNames: ['viewer'] } });
    expect(sent, listed).toHaveLength(3);
    expect(sent[1]).toMatch(/^\/\*[^*]*\*\/ SELECT 1 FROM "Organization" [^;]+FOR KEY SHARE;\s*SELECT \(SELECT COUNT/);
    expect(endsInCommit(sent[2])).toBe(true);
  });

  it('a rotation, an update and a deletion are three: the target is locked before the writes', async () => {
    const target = await org.key({ roles: ['viewer'] }, 'rotated');
    const rotated = await messagesOf(ROTATE_TOKEN, { input: { id: target.id, gracePeriodMinutes: 0 } });
    expect(rotated.sent, rotated.listed).toHaveLength(3);
    expect(endsInCommit(rotated.sent[2])).toBe(true);
    // The old token stopped at once, the new one works.
    expect((await t.gql(target.token, WHOAMI)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const newToken = (rotated.data as { rotateApiKey: { token: string } }).rotateApiKey.token;
    expect((await t.gql(newToken, WHOAMI)).errors).toBeUndefined();

    const updated = await messagesOf(UPDATE_NAME, {
      input: { id: target.id, name: 'renamed', roleNames: ['viewer'], teamIds: [], teamRoleNames: [] },
    });
    expect(updated.sent, updated.listed).toHaveLength(3);
    expect((updated.data as { updateApiKey: { apiKey: { name: string } } }).updateApiKey.apiKey.name).toBe('renamed');

    const deleted = await messagesOf(DELETE_BY_ID, { id: target.id });
    expect(deleted.sent, deleted.listed).toHaveLength(3);
    expect((await t.gql(newToken, WHOAMI)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a refused change sends no writes, and its transaction is rolled back', async () => {
    expect((await t.gql(token, WHOAMI)).errors).toBeUndefined();
    messages = [];
    const refused = await t.gql(token, CREATE_ID, { input: { name: 'too much', roleNames: ['manage_settings'] } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(messages.some((text) => /INSERT/.test(text))).toBe(false);
    expect(messages.at(-1)).toBe('ROLLBACK');
    const listed = await t.gql<{ apiKeys: { edges: Array<{ node: { name: string } }> } }>(
      token,
      '{ apiKeys(first: 50) { edges { node { name } } } }',
    );
    expect(listed.data?.apiKeys.edges.map((edge) => edge.node.name)).not.toContain('too much');
  });
});
