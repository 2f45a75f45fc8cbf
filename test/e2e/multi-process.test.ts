// Many processes, one PostgreSQL: a change made through one Keygate process reaches the token caches
// of the others within a second (LISTEN/NOTIFY), and the HTTP layer's early 401 matches Yoga's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../helpers/app.ts';
import { createEmptyDatabase } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const CURRENT = '{ currentApiKey { id name roles { name } } }';

async function eventually(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > withinMs) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('two server processes on one PostgreSQL database', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let remove: () => Promise<void>;
  let admin: string;

  beforeAll(async () => {
    const db = await createEmptyDatabase('postgresql');
    remove = db.remove;
    if (db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
    // Both start at once on the empty database: exactly one of them bootstraps it.
    const [first, second] = await Promise.all([
      startServer({ DATABASE_URL: db.config.url }),
      startServer({ DATABASE_URL: db.config.url }),
    ]);
    const tokens = [first.bootstrapToken(), second.bootstrapToken()];
    expect(tokens.filter((token) => token !== null)).toHaveLength(1);
    [a, b] = tokens[0] ? [first, second] : [second, first];
    admin = a.bootstrapToken() as string;
    expect(admin).toMatch(/^keygate_/);
  }, 60_000);

  afterAll(async () => {
    expect(await a?.stop()).toBe(0);
    expect(await b?.stop()).toBe(0);
    await remove?.();
  });

  async function createKey(name: string): Promise<{ id: string; token: string }> {
    const created = await graphql(
      a.url,
      admin,
      'mutation($n: String!) { createApiKey(input: { name: $n, roleNames: ["viewer"] }) { token apiKey { id } } }',
      { n: name },
    );
    const payload = created.body.data?.createApiKey as { token: string; apiKey: { id: string } };
    return { id: payload.apiKey.id, token: payload.token };
  }

  it('a key deleted through one process is rejected by the other within 1 second', async () => {
    const key = await createKey('to delete');
    // B verifies (and caches) the token first.
    for (let i = 0; i < 3; i++) expect((await graphql(b.url, key.token, CURRENT)).status).toBe(200);
    const deleted = await graphql(
      a.url,
      admin,
      `mutation { deleteApiKey(input: { id: "${key.id}" }) { deletedApiKeyId } }`,
    );
    expect(deleted.body.errors).toBeUndefined();
    const took = await eventually(async () => (await graphql(b.url, key.token, CURRENT)).status === 401, 1_000);
    expect(took).toBeLessThan(1_000);
  });

  it('a rotation with no grace period through one process ends the old token in the other', async () => {
    const key = await createKey('to rotate');
    expect((await graphql(b.url, key.token, CURRENT)).status).toBe(200);
    const rotated = await graphql(
      a.url,
      admin,
      `mutation { rotateApiKey(input: { id: "${key.id}", gracePeriodMinutes: 0 }) { token } }`,
    );
    const fresh = (rotated.body.data?.rotateApiKey as { token: string } | undefined)?.token as string;
    await eventually(async () => (await graphql(b.url, key.token, CURRENT)).status === 401, 1_000);
    expect((await graphql(b.url, fresh, CURRENT)).status).toBe(200);
  });

  it('new grants made through one process are what the other process sees', async () => {
    const key = await createKey('to update');
    expect((await graphql(b.url, key.token, CURRENT)).body.data).toMatchObject({
      currentApiKey: { roles: [{ name: 'viewer' }] },
    });
    const updated = await graphql(
      a.url,
      admin,
      `mutation { updateApiKey(input: { id: "${key.id}", name: "updated", roleNames: ["catalog_viewer"], teamIds: [], teamRoleNames: [] }) { apiKey { id } } }`,
    );
    expect(updated.body.errors).toBeUndefined();
    await eventually(async () => {
      const seen = await graphql(b.url, key.token, CURRENT);
      return (seen.body.data?.currentApiKey as { name: string } | undefined)?.name === 'updated';
    }, 1_000);
    expect((await graphql(b.url, key.token, CURRENT)).body.data).toMatchObject({
      currentApiKey: { name: 'updated', roles: [{ name: 'catalog_viewer' }] },
    });
  });

  it("what one process changes is in the other's very next apiKeys and apiKey, with no delay", async () => {
    const LIST = '{ apiKeys(first: 5) { edges { node { id name } } } }';
    const SHOW = 'query($id: ID!) { apiKey(id: $id) { id name } }';
    const listed = async () => {
      const response = await graphql(b.url, admin, LIST);
      expect(response.body.errors).toBeUndefined();
      const page = response.body.data?.apiKeys as { edges: Array<{ node: { id: string; name: string } }> };
      return page.edges.map((edge) => edge.node);
    };
    const shown = async (id: string) => (await graphql(b.url, admin, SHOW, { id })).body;
    await listed(); // B reads the page and keeps it
    await listed();
    const key = await createKey('made by A');
    expect((await listed())[0]).toEqual({ id: key.id, name: 'made by A' });
    expect((await shown(key.id)).data).toEqual({ apiKey: { id: key.id, name: 'made by A' } });
    const renamed = await graphql(
      a.url,
      admin,
      `mutation { updateApiKey(input: { id: "${key.id}", name: "renamed by A", roleNames: ["viewer"], teamIds: [], teamRoleNames: [] }) { apiKey { id } } }`,
    );
    expect(renamed.body.errors).toBeUndefined();
    expect((await listed())[0]).toEqual({ id: key.id, name: 'renamed by A' });
    expect((await shown(key.id)).data).toEqual({ apiKey: { id: key.id, name: 'renamed by A' } });
    const deleted = await graphql(
      a.url,
      admin,
      `mutation { deleteApiKey(input: { id: "${key.id}" }) { deletedApiKeyId } }`,
    );
    expect(deleted.body.errors).toBeUndefined();
    expect((await listed()).map((node) => node.id)).not.toContain(key.id);
    expect((await shown(key.id)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it("the HTTP layer's early 401 is the same answer Yoga gives", async () => {
    const request = {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer keygate_not-a-token' },
      body: JSON.stringify({ query: CURRENT }),
    };
    const early = await fetch(`${a.url}/graphql`, request);
    const t = await createTestApp('sqlite');
    try {
      const yoga = await t.app.fetch('http://keygate.test/graphql', request);
      expect(early.status).toBe(401);
      expect(early.status).toBe(yoga.status);
      expect(early.headers.get('www-authenticate')).toBe(yoga.headers.get('www-authenticate'));
      expect(early.headers.get('content-type')).toBe(yoga.headers.get('content-type'));
      expect(await early.json()).toEqual(await yoga.json());
    } finally {
      await t.close();
    }
  });
});
