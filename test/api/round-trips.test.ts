// On PostgreSQL a change's transaction does not wait for the answers to its BEGIN and its writes: they
// are pipelined with the statement after them (src/db/pg-round-trips.ts). Each statement whose answer is
// waited for is a round trip, waited for while the change holds its locks and its connection. Counted
// here through the public interface, statement by statement, with what each change did checked through
// the API afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { CREATE_ID, DELETE_BY_ID, ROTATE_TOKEN, UPDATE_NAME, WHOAMI } from '../helpers/documents.ts';

describe.skipIf(!providers.includes('postgresql'))('round trips of a change on PostgreSQL', () => {
  /** The statements sent, in order: [text, whether its answer was waited for before the next was sent]. */
  let sent: Array<[string, boolean]> = [];
  const listen = { onStatement: (text: string, awaited: boolean) => sent.push([text, awaited]) };
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

  /** What one request sent, its caller's token warm in the cache first: round trips, and what was not waited for. */
  async function sentBy(query: string, variables?: Record<string, unknown>, app = t, caller = token) {
    expect((await app.gql(caller, WHOAMI)).errors).toBeUndefined();
    sent = [];
    const response = await app.gql<Record<string, unknown>>(caller, query, variables);
    expect(response.errors).toBeUndefined();
    const awaited = sent.filter(([, waited]) => waited).map(([text]) => text);
    const notAwaited = sent.filter(([, waited]) => !waited).map(([text]) => text);
    return {
      data: response.data,
      awaited,
      notAwaited,
      listed: sent.map(([text, w]) => `${w} ${text.slice(0, 70)}`).join('\n'),
    };
  }

  /** The writes of a change: one statement, sent unread with the notification for other processes. */
  const isWrites = (text: string | undefined) => /^\/\*[^*]*\*\/ WITH w0 AS/.test(text ?? '');

  it('a creation is two: the caller and its token re-read (BEGIN before it, unread), COMMIT (the writes before it, unread)', async () => {
    const input = { name: 'two trips', roleNames: ['viewer'] };
    const { data, awaited, notAwaited, listed } = await sentBy(CREATE_ID, { input }, unlimited, unlimitedToken);
    expect(awaited, listed).toHaveLength(2);
    expect(awaited[0], listed).toMatch(/JOIN "ApiKeyToken" t/);
    expect(awaited[1]).toBe('COMMIT');
    expect(notAwaited, listed).toHaveLength(2);
    expect(notAwaited[0]).toBe('BEGIN');
    expect(isWrites(notAwaited[1]), listed).toBe(true);
    const created = (data as { createApiKey: { apiKey: { id: string } } }).createApiKey.apiKey.id;
    const shown = await unlimited.gql<{ apiKey: { name: string } }>(
      unlimitedToken,
      'query($id: ID!) { apiKey(id: $id) { name } }',
      { id: created },
    );
    expect(shown.data?.apiKey.name).toBe('two trips');
  });

  it("with a limit of keys, one more: the organization's lock is sent unread before the count", async () => {
    const { awaited, notAwaited, listed } = await sentBy(CREATE_ID, {
      input: { name: 'three trips', roleNames: ['viewer'] },
    });
    expect(awaited, listed).toHaveLength(3);
    expect(awaited[1]).toMatch(/SELECT \(SELECT COUNT/);
    expect(notAwaited[1], listed).toMatch(/SELECT 1 FROM "Organization" [^;]+FOR KEY SHARE/);
  });

  it('a rotation, an update and a deletion are three: the target is locked before the writes', async () => {
    const target = await org.key({ roles: ['viewer'] }, 'rotated');
    const rotated = await sentBy(ROTATE_TOKEN, { input: { id: target.id, gracePeriodMinutes: 0 } });
    expect(rotated.awaited, rotated.listed).toHaveLength(3);
    expect(rotated.awaited[2]).toBe('COMMIT');
    expect(isWrites(rotated.notAwaited[1]), rotated.listed).toBe(true);
    // The old token stopped at once, the new one works.
    expect((await t.gql(target.token, WHOAMI)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const newToken = (rotated.data as { rotateApiKey: { token: string } }).rotateApiKey.token;
    expect((await t.gql(newToken, WHOAMI)).errors).toBeUndefined();

    const updated = await sentBy(UPDATE_NAME, {
      input: { id: target.id, name: 'renamed', roleNames: ['viewer'], teamIds: [], teamRoleNames: [] },
    });
    expect(updated.awaited, updated.listed).toHaveLength(3);
    expect((updated.data as { updateApiKey: { apiKey: { name: string } } }).updateApiKey.apiKey.name).toBe('renamed');

    const deleted = await sentBy(DELETE_BY_ID, { id: target.id });
    expect(deleted.awaited, deleted.listed).toHaveLength(3);
    expect((await t.gql(newToken, WHOAMI)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a refused change sends no writes, and its transaction is rolled back', async () => {
    expect((await t.gql(token, WHOAMI)).errors).toBeUndefined();
    sent = [];
    const refused = await t.gql(token, CREATE_ID, { input: { name: 'too much', roleNames: ['manage_settings'] } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(sent.some(([text]) => /INSERT/.test(text))).toBe(false);
    expect(sent.at(-1)).toEqual(['ROLLBACK', true]);
    const listed = await t.gql<{ apiKeys: { edges: Array<{ node: { name: string } }> } }>(
      token,
      '{ apiKeys(first: 50) { edges { node { name } } } }',
    );
    expect(listed.data?.apiKeys.edges.map((edge) => edge.node.name)).not.toContain('too much');
  });
});
