// deleteApiKey (docs/rules.md "The operations", "Tokens" and "The administration path"): any visible key may
// be deleted, itself included, with no scope check; every one of its tokens stops working at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { expectAccepted, expectRejected } from '../helpers/authenticates.ts';
import { providers } from '../helpers/databases.ts';
import { CREATE_ID, DELETE, ROTATE_TOKEN, SHOW_KEY } from '../helpers/documents.ts';

const MINUTE = 60_000;
const MISSING_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

const LIST = '{ apiKeys(first: 250) { edges { node { id creator { apiKey { id name } user { id } } } } } }';

interface Listed {
  apiKeys: {
    edges: Array<{ node: { id: string; creator: { apiKey: { id: string; name: string } | null; user: unknown } } }>;
  };
}

describe.each(providers)('deleteApiKey on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  const remove = (token: string, id: string) =>
    t.gql<{ deleteApiKey: { deletedApiKeyId: string } }>(token, DELETE, { input: { id } });

  async function removed(token: string, id: string) {
    const response = await remove(token, id);
    expect(response.errors).toBeUndefined();
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ deleteApiKey: { deletedApiKeyId: id } });
  }

  async function listedIds(token: string): Promise<string[]> {
    const response = await t.gql<Listed>(token, LIST);
    expect(response.errors).toBeUndefined();
    return (response.data as Listed).apiKeys.edges.map((edge) => edge.node.id);
  }

  /** The key is still there: its token works and an account manager still sees it. */
  async function expectStillThere(adminToken: string, key: { id: string; token: string }) {
    await expectAccepted(t, key.token, key.id);
    const shown = await t.gql(adminToken, SHOW_KEY, { id: key.id });
    expect(shown.errors).toBeUndefined();
    expect(await listedIds(adminToken)).toContain(key.id);
  }

  describe('an account manager may delete any key of its organization', () => {
    it('deletes the key: it is no longer shown, listed, or able to authenticate', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const target = await org.key({ roles: ['viewer'], teams: [team], teamRoles: ['schedules_reader'] });
      expect(await listedIds(admin.token)).toContain(target.id);
      await removed(admin.token, target.id);
      expect(await listedIds(admin.token)).not.toContain(target.id);
      const shown = await t.gql(admin.token, SHOW_KEY, { id: target.id });
      expect(shown.code).toBe('NOT_FOUND');
      expect(shown.errors?.[0]?.message).toBe(`API key "${target.id}" was not found.`);
      await expectRejected(t, target.token);
      expect(await t.domain.db.apiKey.count({ where: { id: target.id } })).toBe(0);
      expect(await t.domain.db.apiKeyToken.count({ where: { apiKeyId: target.id } })).toBe(0);
    });

    it('answers NOT_FOUND when deleting the same key twice', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      await removed(admin.token, target.id);
      const again = await remove(admin.token, target.id);
      expect(again.code).toBe('NOT_FOUND');
      expect(again.data).toBeNull();
    });

    it('leaves the other keys of the organization alone', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const [doomed, kept] = [await org.key({}), await org.key({ roles: ['viewer'] })];
      await removed(admin.token, doomed.id);
      await expectStillThere(admin.token, kept);
      await expectAccepted(t, admin.token, admin.id);
    });
  });

  describe('no scope check: the caller need not cover the grants of the key it deletes', () => {
    it('lets an account manager with no other role delete a key holding roles it lacks', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const powerful = await org.key({
        roles: ['incident_editor', 'global_access', 'security_settings_editor'],
        teams: [team],
        teamRoles: ['on_call_editor'],
      });
      await removed(admin.token, powerful.id);
      await expectRejected(t, powerful.token);
    });

    it('lets a team manager delete a visible key holding team roles it does not hold', async () => {
      const org = await t.org();
      const team = await org.team();
      const manager = await org.key({ teams: [team], teamRoles: ['api_keys_manage'] });
      const target = await org.key({ teams: [team], teamRoles: ['schedules_editor', 'on_call_editor'] });
      await removed(manager.token, target.id);
      await expectRejected(t, target.token);
    });

    it('lets a manager delete another manager key', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const otherAdmin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      await removed(admin.token, otherAdmin.id);
      const manager = await org.key({ teams: [team], teamRoles: ['api_keys_manage'] });
      const otherManager = await org.key({ teams: [team], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      await removed(manager.token, otherManager.id);
      await expectRejected(t, otherAdmin.token);
      await expectRejected(t, otherManager.token);
    });
  });

  describe('the caller may delete itself', () => {
    it('deletes an account manager key through its own token, which is then rejected', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const witness = await org.key({ roles: ['api_keys_manage'] });
      await removed(admin.token, admin.id);
      await expectRejected(t, admin.token);
      expect((await remove(admin.token, admin.id)).status).toBe(401);
      expect(await listedIds(witness.token)).not.toContain(admin.id);
    });

    it('deletes a team manager key through its own token', async () => {
      const org = await t.org();
      const team = await org.team();
      const manager = await org.key({ teams: [team], teamRoles: ['api_keys_manage'] });
      await removed(manager.token, manager.id);
      await expectRejected(t, manager.token);
    });
  });

  describe('every token of the key stops working at once, grace periods included', () => {
    it('rejects the current token and the tokens still in their grace period', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const tokens = [target.token];
      for (const gracePeriodMinutes of [60, 30]) {
        const rotated = await t.gql<{ rotateApiKey: { token: string } }>(admin.token, ROTATE_TOKEN, {
          input: { id: target.id, gracePeriodMinutes },
        });
        expect(rotated.errors).toBeUndefined();
        tokens.push((rotated.data as { rotateApiKey: { token: string } }).rotateApiKey.token);
      }
      for (const token of tokens) await expectAccepted(t, token, target.id);
      await removed(admin.token, target.id);
      for (const token of tokens) await expectRejected(t, token);
      t.clock.advance(MINUTE);
      for (const token of tokens) await expectRejected(t, token);
    });

    it('rejects a key deleting itself while one of its old tokens is in a grace period', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const rotated = await t.gql<{ rotateApiKey: { token: string } }>(admin.token, ROTATE_TOKEN, {
        input: { id: admin.id, gracePeriodMinutes: 60 },
      });
      const fresh = (rotated.data as { rotateApiKey: { token: string } }).rotateApiKey.token;
      await removed(admin.token, admin.id);
      await expectRejected(t, admin.token);
      await expectRejected(t, fresh);
    });
  });

  describe("a key outside the caller's visibility answers NOT_FOUND, like a missing one", () => {
    it('answers NOT_FOUND to a team manager for keys that do not belong to its teams, and deletes nothing', async () => {
      const org = await t.org();
      const [mine, other] = [await org.team(), await org.team()];
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const manager = await org.key({ teams: [mine], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      const invisible = [
        await org.key({ roles: ['viewer'], teams: [mine], teamRoles: ['schedules_reader'] }),
        await org.key({ roles: ['viewer'] }),
        await org.key({ teams: [other], teamRoles: ['schedules_reader'] }),
        await org.key({ teams: [mine, other], teamRoles: ['schedules_reader'] }),
        await org.key({}),
        admin,
      ];
      for (const target of invisible) {
        const response = await remove(manager.token, target.id);
        expect(response.code).toBe('NOT_FOUND');
        expect(response.errors?.[0]?.message).toBe(`API key "${target.id}" was not found.`);
        expect(response.data).toBeNull();
      }
      for (const target of invisible) await expectStillThere(admin.token, target);
    });

    it("answers NOT_FOUND for another organization's key, with the same message as for a missing id", async () => {
      const org = await t.org();
      const other = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const otherAdmin = await other.key({ roles: ['api_keys_manage'] });
      const foreign = await other.key({ roles: ['viewer'] });
      const foreignResponse = await remove(admin.token, foreign.id);
      const missingResponse = await remove(admin.token, MISSING_ID);
      expect(foreignResponse.code).toBe('NOT_FOUND');
      expect(missingResponse.code).toBe('NOT_FOUND');
      expect(foreignResponse.errors?.[0]?.message).toBe(`API key "${foreign.id}" was not found.`);
      expect(missingResponse.errors?.[0]?.message).toBe(`API key "${MISSING_ID}" was not found.`);
      await expectStillThere(otherAdmin.token, foreign);
    });

    it('answers BAD_USER_INPUT for an id that is not a ULID', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const response = await remove(admin.token, 'not-a-key');
      expect(response.code).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toContain('is not an API key id');
    });

    it('answers FORBIDDEN to a key that is not a manager, whether the target exists or not', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const plain = await org.key({
        roles: ['viewer', 'incident_editor'],
        teams: [team],
        teamRoles: ['schedules_editor'],
      });
      const target = await org.key({});
      for (const id of [target.id, plain.id, MISSING_ID]) {
        const response = await remove(plain.token, id);
        expect(response.code).toBe('FORBIDDEN');
        expect(response.data).toBeNull();
      }
      await expectStillThere(admin.token, target);
      await expectStillThere(admin.token, plain);
    });
  });

  describe('the creator of a key stays readable after the creator key is deleted', () => {
    it('shows creator.apiKey with the id and name of the deleted key that created it', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const creator = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'Creator of keys');
      const created = await t.gql<{ createApiKey: { token: string; apiKey: { id: string } } }>(
        creator.token,
        CREATE_ID,
        {
          input: { name: 'child', roleNames: ['viewer'] },
        },
      );
      expect(created.errors).toBeUndefined();
      const child = created.data?.createApiKey as { token: string; apiKey: { id: string } };

      await removed(admin.token, creator.id);

      const shown = await t.gql<{ apiKey: { creator: unknown } }>(admin.token, SHOW_KEY, { id: child.apiKey.id });
      expect(shown.errors).toBeUndefined();
      expect(shown.data?.apiKey.creator).toEqual({ apiKey: { id: creator.id, name: 'Creator of keys' }, user: null });
      const listed = await t.gql<Listed>(admin.token, LIST);
      const node = listed.data?.apiKeys.edges.find((edge) => edge.node.id === child.apiKey.id)?.node;
      expect(node?.creator).toEqual({ apiKey: { id: creator.id, name: 'Creator of keys' }, user: null });
      await expectAccepted(t, child.token, child.apiKey.id);
    });

    it('a key created by a key that deleted itself keeps its creator', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const creator = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'Short-lived');
      const created = await t.gql<{ createApiKey: { apiKey: { id: string } } }>(creator.token, CREATE_ID, {
        input: { name: 'orphan', roleNames: ['viewer'] },
      });
      const childId = (created.data as { createApiKey: { apiKey: { id: string } } }).createApiKey.apiKey.id;
      await removed(creator.token, creator.id);
      const shown = await t.gql<{ apiKey: { creator: unknown } }>(admin.token, SHOW_KEY, { id: childId });
      expect(shown.data?.apiKey.creator).toEqual({ apiKey: { id: creator.id, name: 'Short-lived' }, user: null });
    });
  });
});
