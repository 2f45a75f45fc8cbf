// Pages and shown keys are kept between changes (src/domain/read-cache.ts) only once they are asked for
// a second time: a read that is never repeated (a script paging through every key) holds no memory. A
// page or key once kept is kept at its first read after each change: polled, it costs one read a change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type GraphQLResponse, isStamp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

const PAGE = '{ apiKeys(first: 5) { edges { node { id name } } pageInfo { hasNextPage endCursor } } }';
const SHOW = 'query ($id: ID!) { apiKey(id: $id) { id name } }';
const CREATE = 'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }';

describe.each(providers)('reads kept between changes on %s', (provider) => {
  let t: TestApp;
  let statements: string[] = [];
  let token: string;
  let shown: string;

  beforeAll(async () => {
    t = await createTestApp(provider, { onQuery: (sql) => statements.push(sql) });
    const org = await t.org();
    ({ token } = await org.key({ roles: ['api_keys_manage', 'viewer'] }));
    for (let i = 0; i < 8; i++) shown = (await org.key({ roles: ['viewer'] })).id;
    await t.gql(token, '{ currentApiKey { id } }'); // the token cached: reads below cost their own statements only
  });
  afterAll(() => t.close());

  /** Statements of the page's (or key's) own read: those with its SELECT. */
  async function reads(query: string, variables?: Record<string, unknown>): Promise<number> {
    statements = [];
    const response = await t.gql(token, query, variables);
    expect(response.errors).toBeUndefined();
    return statements.filter(isRead).length;
  }

  const isRead = (sql: string) => /"ApiKey"/.test(sql) && /^\s*(SELECT|WITH)/i.test(sql);

  it('a page is read from the database twice, then served while nothing changes', async () => {
    expect([await reads(PAGE), await reads(PAGE), await reads(PAGE), await reads(PAGE)]).toEqual([1, 1, 0, 0]);
  });

  it('a shown key likewise', async () => {
    const show = () => reads(SHOW, { id: shown });
    expect([await show(), await show(), await show()]).toEqual([1, 1, 0]);
  });

  it('after a change, a page kept before is read once more and kept at once; so is a shown key', async () => {
    expect(await reads(PAGE)).toBe(0); // kept by the first test
    for (const name of ['changed', 'changed again']) {
      const created = await t.gql(token, CREATE, { input: { name, roleNames: ['viewer'] } });
      expect(created.errors).toBeUndefined();
      expect([await reads(PAGE), await reads(PAGE), await reads(PAGE)]).toEqual([1, 0, 0]);
    }
    const show = () => reads(SHOW, { id: shown });
    expect([await show(), await show()]).toEqual([1, 0]);
    // What is read after the change is what the change made.
    const page = await t.gql<{ apiKeys: { edges: Array<{ node: { name: string } }> } }>(token, PAGE);
    expect(page.data?.apiKeys.edges[0]?.node.name).toBe('changed again');
  });

  it('a page read once after a change is not kept when it was never kept before', async () => {
    const other = '{ apiKeys(first: 4) { edges { node { id name } } } }';
    expect(await reads(other)).toBe(1);
    const created = await t.gql(token, CREATE, { input: { name: 'changed once more', roleNames: ['viewer'] } });
    expect(created.errors).toBeUndefined();
    expect([await reads(other), await reads(other), await reads(other)]).toEqual([1, 1, 0]);
  });

  it('pages read once each, as when paging through every key, are not kept: asked again, each is read again', async () => {
    type Page = { apiKeys: { pageInfo: { endCursor: string } } };
    const walk =
      'query ($after: String) { apiKeys(first: 3, after: $after) { edges { node { id } } pageInfo { endCursor } } }';
    const cursors: Array<string | null> = [null];
    const first = await t.gql<Page>(token, walk, { after: null });
    cursors.push(first.data?.apiKeys.pageInfo.endCursor ?? null);
    await t.gql<Page>(token, walk, { after: cursors[1] });
    const again = async (cursor: string | null) =>
      reads('query ($after: String) { apiKeys(first: 3, after: $after) { edges { node { id } } } }', {
        after: cursor,
      });
    // The walk read each page once; another selection of the same page is the same read.
    expect([await again(cursors[0] ?? null), await again(cursors[1] ?? null)]).toEqual([1, 1]);
    expect([await again(cursors[0] ?? null), await again(cursors[1] ?? null)]).toEqual([0, 0]);
  });

  it('a page read for the first time costs its statement alone: no reading of the stamp before it', async () => {
    type Page = { apiKeys: { pageInfo: { endCursor: string } } };
    const walk =
      'query ($after: String) { apiKeys(first: 2, after: $after) { edges { node { id } } pageInfo { endCursor } } }';
    let after: string | null = null;
    let last: string | null = null;
    for (let page = 0; page < 3; page++) {
      // A change first: the stamp has moved (on the embedded database it would be asked again).
      const created = await t.gql(token, CREATE, { input: { name: `walked past ${page}`, roleNames: ['viewer'] } });
      expect(created.errors).toBeUndefined();
      statements = [];
      const read: GraphQLResponse<Page> = await t.gql<Page>(token, walk, { after });
      expect(read.errors).toBeUndefined();
      expect(statements.filter(isStamp)).toEqual([]);
      expect(statements.filter(isRead)).toHaveLength(1);
      last = after;
      after = read.data?.apiKeys.pageInfo.endCursor ?? null;
    }
    // Asked again, a page takes the stamp first: a value is kept only by a read that took it.
    statements = [];
    expect((await t.gql(token, walk, { after: last })).errors).toBeUndefined();
    expect(statements.filter(isStamp)).toHaveLength(1);
  });
});
