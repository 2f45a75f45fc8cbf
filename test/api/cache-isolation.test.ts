// Second, independent checks of two cache guarantees (each also has a test of its own elsewhere):
// - docs/rules.md "Words" and "Visibility": nothing crosses organizations, and a caller sees only its
//   visible keys, also when the answer comes from the read cache that another caller's identical read
//   filled a moment before (same arguments, no write in between, so the cache is warm).
// - docs/rules.md "Tokens": a token in its rotation grace period stops at the end of that period even
//   while the token cache holds it (the cached entry carries its own deadline).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { WHOAMI } from '../helpers/documents.ts';

const LIST = '{ apiKeys(first: 50) { edges { node { id name } } } }';
const SHOW = 'query($id: ID!) { apiKey(id: $id) { id name } }';
const ROTATE = `mutation($id: ID!, $grace: Int) {
  rotateApiKey(input: { id: $id, gracePeriodMinutes: $grace }) { token previousTokenExpiresAt }
}`;

type List = { apiKeys: { edges: Array<{ node: { id: string; name: string } }> } };
const idsOf = (data: List | null) => (data?.apiKeys.edges ?? []).map((edge) => edge.node.id).sort();

describe.each(providers)('cache isolation on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  it('an identical read by another organization right after a warm one shows only its own keys', async () => {
    const [orgA, orgB] = [await t.org(), await t.org()];
    const adminA = await orgA.key({ roles: ['api_keys_manage'] }, 'admin A');
    const keyA = await orgA.key({ roles: ['viewer'] }, 'only in A');
    const adminB = await orgB.key({ roles: ['api_keys_manage'] }, 'admin B');
    const keyB = await orgB.key({ roles: ['viewer'] }, 'only in B');

    for (let round = 0; round < 3; round++) {
      const listA = await t.gql<List>(adminA.token, LIST);
      const listB = await t.gql<List>(adminB.token, LIST);
      expect(idsOf(listA.data)).toEqual([adminA.id, keyA.id].sort());
      expect(idsOf(listB.data)).toEqual([adminB.id, keyB.id].sort());
      expect((await t.gql(adminA.token, SHOW, { id: keyA.id })).errors).toBeUndefined();
      expect((await t.gql(adminB.token, SHOW, { id: keyA.id })).code).toBe('NOT_FOUND');
    }
  });

  it("a team manager's identical read right after an account manager's shows only its teams' keys", async () => {
    const org = await t.org();
    const [a, b] = [await org.team('A'), await org.team('B')];
    const admin = await org.key({ roles: ['api_keys_manage'] });
    const manager = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] });
    const inA = await org.key({ teams: [a], teamRoles: ['schedules_reader'] });
    const inB = await org.key({ teams: [b], teamRoles: ['schedules_reader'] });

    expect(idsOf((await t.gql<List>(admin.token, LIST)).data)).toHaveLength(4);
    expect(idsOf((await t.gql<List>(manager.token, LIST)).data)).toEqual([manager.id, inA.id].sort());
    expect((await t.gql(admin.token, SHOW, { id: inB.id })).errors).toBeUndefined();
    expect((await t.gql(manager.token, SHOW, { id: inB.id })).code).toBe('NOT_FOUND');
  });

  it('a cached grace token stops at the end of its grace period, to the millisecond', async () => {
    t.clock.freeze();
    try {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const target = await org.key({ roles: ['viewer'] });
      const rotated = await t.gql<{ rotateApiKey: { token: string; previousTokenExpiresAt: string } }>(
        admin.token,
        ROTATE,
        { id: target.id, grace: 1 },
      );
      expect(rotated.errors).toBeUndefined();
      // The old token is looked up once, then served from the cache.
      expect((await t.gql(target.token, WHOAMI)).errors).toBeUndefined();
      const lookups = t.lookups.count;
      expect((await t.gql(target.token, WHOAMI)).errors).toBeUndefined();
      expect(t.lookups.count).toBe(lookups);

      const graceEnd = Date.parse(rotated.data?.rotateApiKey.previousTokenExpiresAt ?? '');
      t.clock.advance(graceEnd - t.clock.now().getTime() - 1);
      expect((await t.gql(target.token, WHOAMI)).errors).toBeUndefined();
      t.clock.advance(1);
      const refused = await t.gql(target.token, WHOAMI);
      expect(refused.status).toBe(401);
      expect(refused.code).toBe('UNAUTHENTICATED');
      expect((await t.gql(rotated.data?.rotateApiKey.token ?? '', WHOAMI)).errors).toBeUndefined();
    } finally {
      t.clock.real();
    }
  });
});
