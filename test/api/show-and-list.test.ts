// docs/rules.md "The operations": show `apiKey(id)` and list `apiKeys`, and the `first`/cursor input rules,
// through GraphQL over app.fetch.
import { ulid } from 'ulidx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import {
  API_KEY_FIELDS,
  type ApiKeyView,
  CREATE_KEY,
  DELETE_BY_ID,
  type RoleView,
  SHOW_KEY,
} from '../helpers/documents.ts';

const LIST = `query($first: Int, $after: String) {
  apiKeys(first: $first, after: $after) {
    edges { cursor node { id createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const MINUTE = 60_000;

interface Page {
  edges: Array<{ cursor: string; node: { id: string; createdAt: string } }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
const sorted = (values: Iterable<string>) => [...values].sort();

describe.each(providers)('show and list on %s', (provider) => {
  let t: TestApp;
  let catalogue: Map<string, RoleView>;

  beforeAll(async () => {
    t = await createTestApp(provider);
    const org = await t.org();
    const roles = await t.gql<{ roles: RoleView[] }>(
      (await org.key({})).token,
      '{ roles { name description scopes } }',
    );
    catalogue = new Map((roles.data?.roles ?? []).map((role) => [role.name, role]));
  });
  afterAll(() => t.close());

  const show = (token: string, id: string) => t.gql<{ apiKey: ApiKeyView }>(token, SHOW_KEY, { id });

  async function page(token: string, variables: { first?: number; after?: string | null }): Promise<Page> {
    const response = await t.gql<{ apiKeys: Page }>(token, LIST, variables);
    expect(response.errors).toBeUndefined();
    if (!response.data) throw new Error('no data');
    return response.data.apiKeys;
  }

  /** Walks every page of `size`, checking each page's pageInfo; returns the ids in order. */
  async function walk(token: string, size: number): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const current = await page(token, { first: size, after });
      const { edges, pageInfo } = current;
      expect(edges.length).toBeLessThanOrEqual(size);
      expect(pageInfo.hasPreviousPage).toBe(false);
      expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      if (pageInfo.hasNextPage) expect(edges).toHaveLength(size);
      // hasNextPage is exact: following it never leads to an empty page.
      if (pages > 0) expect(edges.length).toBeGreaterThan(0);
      ids.push(...edges.map((edge) => edge.node.id));
      if (!pageInfo.hasNextPage) return ids;
      after = pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  /** Roles as the API must show them: name, the catalogue's description and scopes. */
  const rolesNamed = (...names: string[]) =>
    names.map((name) => {
      const role = catalogue.get(name);
      if (!role) throw new Error(`no role ${name} in the catalogue`);
      return { name, description: role.description, scopes: sorted(role.scopes) };
    });
  const normalizeRoles = (roles: RoleView[]) =>
    roles.map((role) => ({ ...role, scopes: sorted(role.scopes) })).sort(byName);

  describe('show apiKey(id): a visible key is shown with every field', () => {
    it('shows name, grants with role descriptions and scopes, teams with names, creator and times', async () => {
      const org = await t.org();
      const alpha = await org.team('Alpha');
      const beta = await org.team('Beta');
      const manager = await org.key(
        { roles: ['api_keys_manage', 'viewer', 'incident_creator', 'schedules_editor', 'on_call_editor'] },
        'deploy manager',
      );
      t.clock.advance(10 * MINUTE);
      const before = t.clock.now().getTime();
      const created = await t.gql<{ createApiKey: { token: string; apiKey: ApiKeyView } }>(manager.token, CREATE_KEY, {
        input: {
          name: 'deploy bot',
          roleNames: ['viewer', 'incident_creator'],
          teamIds: [beta, alpha],
          teamRoleNames: ['on_call_editor', 'schedules_editor'],
        },
      });
      const after = t.clock.now().getTime();
      expect(created.errors).toBeUndefined();
      const id = created.data?.createApiKey.apiKey.id ?? '';

      const response = await show(manager.token, id);
      expect(response.errors).toBeUndefined();
      const key = response.data?.apiKey as ApiKeyView;
      expect(key.id).toBe(id);
      expect(key.name).toBe('deploy bot');
      expect(normalizeRoles(key.roles)).toEqual(rolesNamed('incident_creator', 'viewer'));
      expect(normalizeRoles(key.teamRoles)).toEqual(rolesNamed('on_call_editor', 'schedules_editor'));
      expect(sorted(key.teamIds)).toEqual(sorted([alpha, beta]));
      expect([...key.teams].sort(byId)).toEqual(
        [
          { id: alpha, name: 'Alpha' },
          { id: beta, name: 'Beta' },
        ].sort(byId),
      );
      expect(key.creator).toEqual({ apiKey: { id: manager.id, name: 'deploy manager' }, user: null });
      expect(key.createdAt).toMatch(RFC3339_UTC);
      expect(Date.parse(key.createdAt)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(key.createdAt)).toBeLessThanOrEqual(after);
      expect(key.tokenLastIssuedAt).toBe(key.createdAt);
      expect(key.lastUsedAt).toBeNull();
      // The payload of create showed the same key.
      expect(created.data?.createApiKey.apiKey).toEqual(key);
    });

    it('shows the user of the administration CLI as creator of a key it made', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({}, 'made by the CLI');
      const key = (await show(manager.token, target.id)).data?.apiKey;
      expect(key?.name).toBe('made by the CLI');
      expect(key?.creator.apiKey).toBeNull();
      expect(key?.creator.user).toMatchObject({ id: org.userId, name: 'Admin', slackUserId: null });
      expect(key?.creator.user?.email).toMatch(/@example\.com$/);
      expect(key).toMatchObject({ roles: [], teamIds: [], teams: [], teamRoles: [] });
    });

    it('shows team names exactly as given, whatever they hold, in apiKey, apiKeys and currentApiKey alike', async () => {
      // Grants travel from the database as JSON text: names that are JSON, SQL or separators must survive.
      const names = [
        'say "hi"',
        'back\\slash',
        '["x", "y"]',
        'a,b;c',
        "it's",
        'über 团队 🚀',
        'tab\there',
        'ctl\u0001',
      ];
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      // Names with control characters are refused as input now (issue 12, item 9), but a database may
      // hold them from before: they are written straight to it, and must still read back exactly.
      const refusedNow = new Set(['tab\there', 'ctl\u0001']);
      const teamIds = [];
      for (const name of names) {
        if (!refusedNow.has(name)) teamIds.push(await org.team(name));
        else teamIds.push((await t.domain.db.team.create({ data: { id: ulid(), organizationId: org.id, name } })).id);
      }
      const target = await org.key({ teams: teamIds, teamRoles: ['schedules_editor'] }, 'odd team names');
      const expected = teamIds.map((id, i) => ({ id, name: names[i] })).sort(byId);

      const shown = (await show(manager.token, target.id)).data?.apiKey;
      expect(shown?.teams).toEqual(expected);
      const listed = await t.gql<{ apiKeys: { edges: Array<{ node: ApiKeyView }> } }>(
        manager.token,
        `{ apiKeys(first: 250) { edges { node { ${API_KEY_FIELDS} } } } }`,
      );
      expect(listed.errors).toBeUndefined();
      expect(listed.data?.apiKeys.edges.find((edge) => edge.node.id === target.id)?.node).toEqual(shown);
      const current = await t.gql<{ currentApiKey: ApiKeyView }>(
        target.token,
        `{ currentApiKey { ${API_KEY_FIELDS} } }`,
      );
      expect(current.data?.currentApiKey).toEqual(shown);
    });

    it('reads every time back to the millisecond, in apiKey and apiKeys alike (PostgreSQL sessions here are not in UTC)', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      t.clock.freeze(); // only advance() moves it
      try {
        await timesReadBack(manager);
      } finally {
        t.clock.real();
      }
    });

    async function timesReadBack(manager: { token: string }) {
      t.clock.advance(1_234); // not on a whole second
      const created = await t.gql<{ createApiKey: { token: string; apiKey: ApiKeyView } }>(manager.token, CREATE_KEY, {
        input: { name: 'timed', roleNames: ['viewer'] },
      });
      const key = created.data?.createApiKey.apiKey;
      if (!key) throw new Error(`create failed: ${JSON.stringify(created.errors)}`);
      t.clock.advance(MINUTE + 567);
      const rotated = await t.gql<{ rotateApiKey: { token: string; apiKey: { tokenLastIssuedAt: string } } }>(
        manager.token,
        'mutation($id: ID!) { rotateApiKey(input: { id: $id }) { token apiKey { tokenLastIssuedAt } } }',
        { id: key.id },
      );
      const rotation = rotated.data?.rotateApiKey;
      if (!rotation) throw new Error(`rotate failed: ${JSON.stringify(rotated.errors)}`);
      t.clock.advance(MINUTE + 89);
      const usedAt = t.clock.now().toISOString();
      expect((await t.gql(rotation.token, '{ currentApiKey { id } }')).errors).toBeUndefined();
      await t.lastUsed.flush();
      const expected = {
        createdAt: key.createdAt,
        tokenLastIssuedAt: rotation.apiKey.tokenLastIssuedAt,
        lastUsedAt: usedAt,
      };
      expect(Date.parse(expected.tokenLastIssuedAt) - Date.parse(expected.createdAt)).toBe(MINUTE + 567);

      const shown = (await show(manager.token, key.id)).data?.apiKey;
      expect(
        shown && {
          createdAt: shown.createdAt,
          tokenLastIssuedAt: shown.tokenLastIssuedAt,
          lastUsedAt: shown.lastUsedAt,
        },
      ).toEqual(expected);
      const listed = await t.gql<{ apiKeys: { edges: Array<{ node: ApiKeyView }> } }>(
        manager.token,
        `{ apiKeys(first: 250) { edges { node { ${API_KEY_FIELDS} } } } }`,
      );
      const node = listed.data?.apiKeys.edges.find((edge) => edge.node.id === key.id)?.node;
      expect(
        node && { createdAt: node.createdAt, tokenLastIssuedAt: node.tokenLastIssuedAt, lastUsedAt: node.lastUsedAt },
      ).toEqual(expected);
    }

    it('lastUsedAt is null until the key is used, then the time of its last authentication once flushed', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({ roles: ['viewer'] });
      await t.lastUsed.flush();
      expect((await show(manager.token, target.id)).data?.apiKey.lastUsedAt).toBeNull();

      t.clock.advance(5 * MINUTE);
      const firstUse = t.clock.now().getTime();
      expect((await t.gql(target.token, '{ currentApiKey { id } }')).errors).toBeUndefined();
      await t.lastUsed.flush();
      const first = (await show(manager.token, target.id)).data?.apiKey.lastUsedAt ?? null;
      expect(first).toMatch(RFC3339_UTC);
      expect(Date.parse(first ?? '')).toBeGreaterThanOrEqual(firstUse);
      expect(Date.parse(first ?? '')).toBeLessThanOrEqual(t.clock.now().getTime());

      t.clock.advance(5 * MINUTE);
      const secondUse = t.clock.now().getTime();
      await t.gql(target.token, '{ roles { name } }');
      await t.lastUsed.flush();
      const second = (await show(manager.token, target.id)).data?.apiKey.lastUsedAt ?? '';
      expect(Date.parse(second)).toBeGreaterThanOrEqual(secondUse);
      expect(Date.parse(second)).toBeGreaterThan(Date.parse(first ?? ''));
    });
  });

  describe('show apiKey(id): NOT_FOUND when the key does not exist or is not visible', () => {
    it('a missing key, an invisible key and another organization’s key answer alike', async () => {
      const org = await t.org();
      const other = await t.org();
      const [a, b] = [await org.team(), await org.team()];
      const teamManager = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      const invisible = await org.key({ teams: [b], teamRoles: ['schedules_reader'] });
      const foreign = await other.key({});
      const missing = ulid();
      for (const id of [missing, invisible.id, foreign.id]) {
        const response = await show(teamManager.token, id);
        expect(response.code, id).toBe('NOT_FOUND');
        expect(response.data).toBeNull();
        expect(response.errors?.map((error) => error.message)).toEqual([`API key "${id}" was not found.`]);
      }
      const accountManager = await org.key({ roles: ['api_keys_manage'] });
      for (const id of [missing, foreign.id]) {
        expect((await show(accountManager.token, id)).errors?.[0]?.message).toBe(`API key "${id}" was not found.`);
      }
    });

    it('an id that is not a ULID is BAD_USER_INPUT naming the value', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      for (const id of ['nope', '', `${ulid()}X`, `U${ulid().slice(1)}`]) {
        const response = await show(manager.token, id);
        expect(response.code, id).toBe('BAD_USER_INPUT');
        expect(response.errors?.[0]?.message).toContain(`"${id}"`);
      }
    });
  });

  describe('list apiKeys: visible keys only, newest first', () => {
    it('a team manager lists the keys of its teams and an account manager every key of its organization', async () => {
      const org = await t.org();
      const other = await t.org();
      const [a, b] = [await org.team(), await org.team()];
      const accountManager = await org.key({ roles: ['api_keys_manage'] });
      const teamManager = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      const inA = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
      const inB = await org.key({ teams: [b], teamRoles: ['schedules_reader'] });
      const inAB = await org.key({ teams: [a, b], teamRoles: ['schedules_reader'] });
      const account = await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_reader'] });
      const bare = await org.key({});
      await other.key({ roles: ['viewer'] });
      const all = [accountManager, teamManager, inA, inB, inAB, account, bare].map((key) => key.id);
      expect(await walk(teamManager.token, 250)).toEqual([inA.id, teamManager.id]);
      expect(await walk(accountManager.token, 250)).toEqual([...all].reverse());
    });

    it('orders keys newest first: ids and creation times descending', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const ids = [manager.id];
      for (let i = 0; i < 4; i++) {
        t.clock.advance(MINUTE);
        const created = await t.gql<{ createApiKey: { apiKey: { id: string } } }>(manager.token, CREATE_KEY, {
          input: { name: `key ${i}` },
        });
        ids.push(created.data?.createApiKey.apiKey.id ?? '');
      }
      const { edges } = await page(manager.token, {});
      expect(edges.map((edge) => edge.node.id)).toEqual([...ids].reverse());
      const times = edges.map((edge) => Date.parse(edge.node.createdAt));
      for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThan(times[i - 1] as number);
    });
  });

  describe('list apiKeys: first is 1 to 250, default 25; after walks every visible key exactly once', () => {
    let org: Org;
    let manager: { id: string; token: string };
    /** Every key of the organization, newest first. */
    let newestFirst: string[];

    beforeAll(async () => {
      org = await t.org();
      manager = await org.key({ roles: ['api_keys_manage'] });
      const ids = [manager.id];
      for (let i = 0; i < 30; i++) ids.push((await org.key({}, `bulk ${i}`)).id);
      newestFirst = ids.reverse();
    });

    it('without first, a page holds 25 keys, the newest', async () => {
      const response = await t.gql<{ apiKeys: Page }>(
        manager.token,
        '{ apiKeys { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }',
      );
      expect(response.errors).toBeUndefined();
      if (!response.data) throw new Error('no data');
      const { edges, pageInfo } = response.data.apiKeys;
      expect(edges.map((edge) => edge.node.id)).toEqual(newestFirst.slice(0, 25));
      expect(pageInfo).toEqual({
        hasNextPage: true,
        hasPreviousPage: false,
        startCursor: edges[0]?.cursor,
        endCursor: edges[24]?.cursor,
      });
    });

    it('first: 1 and first: 250 are accepted', async () => {
      const one = await page(manager.token, { first: 1 });
      expect(one.edges.map((edge) => edge.node.id)).toEqual([newestFirst[0]]);
      expect(one.pageInfo.hasNextPage).toBe(true);
      const most = await page(manager.token, { first: 250 });
      expect(most.edges.map((edge) => edge.node.id)).toEqual(newestFirst);
      expect(most.pageInfo.hasNextPage).toBe(false);
    });

    it('hasNextPage is false when a page ends exactly at the oldest key, true when one key is left', async () => {
      const exact = await page(manager.token, { first: newestFirst.length });
      expect(exact.edges).toHaveLength(newestFirst.length);
      expect(exact.pageInfo.hasNextPage).toBe(false);
      const almost = await page(manager.token, { first: newestFirst.length - 1 });
      expect(almost.pageInfo.hasNextPage).toBe(true);
      const rest = await page(manager.token, { first: 1, after: almost.pageInfo.endCursor });
      expect(rest.edges.map((edge) => edge.node.id)).toEqual([newestFirst.at(-1)]);
      expect(rest.pageInfo.hasNextPage).toBe(false);
    });

    it('first: 0, 251 and -1 are BAD_USER_INPUT naming first', async () => {
      for (const first of [0, 251, -1]) {
        const response = await t.gql(manager.token, LIST, { first });
        expect(response.code, String(first)).toBe('BAD_USER_INPUT');
        expect(response.data).toBeNull();
        expect(response.errors?.[0]?.message).toMatch(/first/);
        expect(response.errors?.[0]?.message).toContain(String(first));
      }
    });

    it('following endCursor returns every key exactly once, in order, whatever the page size', async () => {
      for (const size of [1, 7, 30, 31, 32]) {
        const ids = await walk(manager.token, size);
        expect(ids, `pages of ${size}`).toEqual(newestFirst);
        expect(new Set(ids).size).toBe(ids.length);
      }
    });

    it('an edge cursor continues right after that edge', async () => {
      const { edges } = await page(manager.token, { first: 10 });
      const middle = edges[4];
      const rest = await page(manager.token, { first: 3, after: middle?.cursor });
      expect(rest.edges.map((edge) => edge.node.id)).toEqual(newestFirst.slice(5, 8));
    });

    it('after the oldest key the page is empty, with null cursors and no next page', async () => {
      const all = await page(manager.token, { first: 250 });
      const last = await page(manager.token, { after: all.pageInfo.endCursor });
      expect(last).toEqual({
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      });
    });

    it('a malformed cursor is BAD_USER_INPUT', async () => {
      const { edges } = await page(manager.token, { first: 1 });
      const good = edges[0]?.cursor ?? '';
      const cursors = [
        'not a cursor',
        '',
        '!!!!',
        Buffer.from('hello').toString('base64url'),
        Buffer.from('apikey:123').toString('base64url'),
        good.slice(0, -3),
        manager.id,
      ];
      for (const after of cursors) {
        const response = await t.gql(manager.token, LIST, { after });
        expect(response.code, after).toBe('BAD_USER_INPUT');
        expect(response.data).toBeNull();
        expect(response.errors?.[0]?.message).toMatch(/cursor/);
      }
    });
  });

  describe('list apiKeys: pagination of a team manager walks only its visible keys', () => {
    it('pages skip invisible keys created in between, and hold full pages of visible ones', async () => {
      const org = await t.org();
      const [a, b] = [await org.team(), await org.team()];
      const manager = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
      const visible = [manager.id];
      for (let i = 0; i < 12; i++) {
        visible.push((await org.key({ teams: [a], teamRoles: ['schedules_reader'] })).id);
        await org.key({ teams: [b], teamRoles: ['schedules_reader'] });
        await org.key({ roles: ['viewer'], teams: [a], teamRoles: ['schedules_reader'] });
      }
      const expected = [...visible].reverse();
      for (const size of [1, 4, 5, 13]) expect(await walk(manager.token, size), `pages of ${size}`).toEqual(expected);
    });
  });

  describe('list apiKeys: a cursor stays valid after its key is deleted', () => {
    it('continues with the keys that came after the deleted one', async () => {
      const org = await t.org();
      const manager = await org.key({ roles: ['api_keys_manage'] });
      const ids = [manager.id];
      for (let i = 0; i < 12; i++) ids.push((await org.key({})).id);
      const newestFirst = [...ids].reverse();
      const first = await page(manager.token, { first: 5 });
      const cursor = first.pageInfo.endCursor;
      const deletedId = first.edges[4]?.node.id ?? '';
      expect(deletedId).toBe(newestFirst[4]);
      const deleted = await t.gql(manager.token, DELETE_BY_ID, { id: deletedId });
      expect(deleted.errors).toBeUndefined();
      const next = await page(manager.token, { first: 5, after: cursor });
      expect(next.edges.map((edge) => edge.node.id)).toEqual(newestFirst.slice(5, 10));
      expect(next.pageInfo.hasNextPage).toBe(true);
      // And from the start again, the deleted key is gone.
      expect(await walk(manager.token, 4)).toEqual(newestFirst.filter((id) => id !== deletedId));
    });
  });
});
