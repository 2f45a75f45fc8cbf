// rotateApiKey (docs/rules.md "The operations" and "Tokens"): who may rotate which key, the grace period of
// the token that was current, and the fate of tokens from earlier rotations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { expectAccepted, expectRejected } from '../helpers/authenticates.ts';
import { providers } from '../helpers/databases.ts';
import { API_KEY_FIELDS } from '../helpers/documents.ts';

const MINUTE = 60_000;
const MISSING_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

const ROTATE = `mutation($input: RotateApiKeyInput!) {
  rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { ${API_KEY_FIELDS} } }
}`;
const SHOW = 'query($id: ID!) { apiKey(id: $id) { id tokenLastIssuedAt } }';

interface Rotated {
  rotateApiKey: {
    token: string;
    previousTokenExpiresAt: string;
    apiKey: { id: string; name: string; tokenLastIssuedAt: string; roles: Array<{ name: string }> };
  };
}

describe.each(providers)('rotateApiKey on %s', (provider) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(provider);
  });
  afterAll(() => t.close());

  const rotate = (token: string, input: { id: string; gracePeriodMinutes?: number }) =>
    t.gql<Rotated>(token, ROTATE, { input });

  /** Rotates and insists it worked; returns the payload. */
  async function rotated(token: string, input: { id: string; gracePeriodMinutes?: number }) {
    const response = await rotate(token, input);
    expect(response.errors).toBeUndefined();
    expect(response.status).toBe(200);
    return (response.data as Rotated).rotateApiKey;
  }

  async function tokenLastIssuedAt(adminToken: string, id: string): Promise<string> {
    const response = await t.gql<{ apiKey: { tokenLastIssuedAt: string } }>(adminToken, SHOW, { id });
    expect(response.errors).toBeUndefined();
    return (response.data as { apiKey: { tokenLastIssuedAt: string } }).apiKey.tokenLastIssuedAt;
  }

  /** A failed rotation wrote nothing: same tokenLastIssuedAt, the token still has no expiry. */
  async function expectUnrotated(adminToken: string, target: { id: string; token: string }, issuedAt: string) {
    expect(await tokenLastIssuedAt(adminToken, target.id)).toBe(issuedAt);
    expect(await t.domain.db.apiKeyToken.count({ where: { apiKeyId: target.id } })).toBe(1);
    expect(await t.domain.db.apiKeyToken.count({ where: { apiKeyId: target.id, expiresAt: null } })).toBe(1);
    await expectAccepted(t, target.token, target.id);
  }

  describe('visibility: the target must be visible to the caller', () => {
    it('lets an account manager rotate any key of its organization', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer', 'schedules_editor'] });
      const target = await org.key({ roles: ['viewer'], teams: [team], teamRoles: ['schedules_editor'] });
      const payload = await rotated(admin.token, { id: target.id });
      expect(payload.apiKey.id).toBe(target.id);
      expect(payload.apiKey.roles.map((role) => role.name)).toEqual(['viewer']);
    });

    it('lets a team manager rotate a key that belongs to its teams', async () => {
      const org = await t.org();
      const team = await org.team();
      const manager = await org.key({ teams: [team], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      const target = await org.key({ teams: [team], teamRoles: ['schedules_reader'] });
      expect((await rotated(manager.token, { id: target.id })).apiKey.id).toBe(target.id);
    });

    it('answers NOT_FOUND to a team manager for a key with account-level roles, and rotates nothing', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const manager = await org.key({ roles: [], teams: [team], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      const target = await org.key({ roles: ['viewer'], teams: [team], teamRoles: ['schedules_reader'] });
      const issuedAt = await tokenLastIssuedAt(admin.token, target.id);
      const response = await rotate(manager.token, { id: target.id });
      expect(response.code).toBe('NOT_FOUND');
      expect(response.errors?.[0]?.message).toBe(`API key "${target.id}" was not found.`);
      expect(response.data).toBeNull();
      await expectUnrotated(admin.token, target, issuedAt);
    });

    it('answers NOT_FOUND to a team manager for a key in a team it does not manage', async () => {
      const org = await t.org();
      const [mine, other] = [await org.team(), await org.team()];
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const manager = await org.key({ teams: [mine], teamRoles: ['api_keys_manage', 'schedules_editor'] });
      const elsewhere = await org.key({ teams: [other], teamRoles: ['schedules_reader'] });
      const straddling = await org.key({ teams: [mine, other], teamRoles: ['schedules_reader'] });
      const teamless = await org.key({});
      for (const target of [elsewhere, straddling, teamless]) {
        const issuedAt = await tokenLastIssuedAt(admin.token, target.id);
        const response = await rotate(manager.token, { id: target.id });
        expect(response.code).toBe('NOT_FOUND');
        expect(response.errors?.[0]?.message).toBe(`API key "${target.id}" was not found.`);
        await expectUnrotated(admin.token, target, issuedAt);
      }
    });

    it("answers NOT_FOUND for another organization's key, exactly as for a missing one", async () => {
      const org = await t.org();
      const other = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const otherAdmin = await other.key({ roles: ['api_keys_manage'] });
      const foreign = await other.key({ roles: ['viewer'] });
      const issuedAt = await tokenLastIssuedAt(otherAdmin.token, foreign.id);
      const foreignResponse = await rotate(admin.token, { id: foreign.id });
      const missingResponse = await rotate(admin.token, { id: MISSING_ID });
      expect(foreignResponse.code).toBe('NOT_FOUND');
      expect(missingResponse.code).toBe('NOT_FOUND');
      expect(foreignResponse.errors?.[0]?.message).toBe(`API key "${foreign.id}" was not found.`);
      expect(missingResponse.errors?.[0]?.message).toBe(`API key "${MISSING_ID}" was not found.`);
      await expectUnrotated(otherAdmin.token, foreign, issuedAt);
    });

    it('answers BAD_USER_INPUT for an id that is not a ULID', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const response = await rotate(admin.token, { id: 'not-a-key' });
      expect(response.code).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toContain('is not an API key id');
    });

    it('answers FORBIDDEN to a key that is not a manager, even for itself or a missing key', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const plain = await org.key({ roles: ['viewer'] });
      const issuedAt = await tokenLastIssuedAt(admin.token, plain.id);
      expect((await rotate(plain.token, { id: plain.id })).code).toBe('FORBIDDEN');
      expect((await rotate(plain.token, { id: MISSING_ID })).code).toBe('FORBIDDEN');
      await expectUnrotated(admin.token, plain, issuedAt);
    });
  });

  describe('the caller may rotate itself', () => {
    it('lets an account manager rotate its own key; the new token authenticates as the same key', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const payload = await rotated(admin.token, { id: admin.id, gracePeriodMinutes: 5 });
      expect(payload.apiKey.id).toBe(admin.id);
      await expectAccepted(t, payload.token, admin.id);
      await expectAccepted(t, admin.token, admin.id);
    });

    it('lets a team manager rotate its own key', async () => {
      const org = await t.org();
      const team = await org.team();
      const manager = await org.key({ teams: [team], teamRoles: ['api_keys_manage'] });
      const payload = await rotated(manager.token, { id: manager.id, gracePeriodMinutes: 0 });
      await expectAccepted(t, payload.token, manager.id);
      await expectRejected(t, manager.token);
    });
  });

  describe("covering: the caller must cover the target's grants", () => {
    it('answers FORBIDDEN when the target holds an account role with scopes the caller lacks', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] });
      const target = await org.key({ roles: ['incident_editor'] });
      const issuedAt = await tokenLastIssuedAt(admin.token, target.id);
      const response = await rotate(admin.token, { id: target.id });
      expect(response.code).toBe('FORBIDDEN');
      expect(response.errors?.[0]?.message).toContain('incident_editor');
      expect(response.data).toBeNull();
      await expectUnrotated(admin.token, target, issuedAt);
    });

    it('answers FORBIDDEN to a team manager when the target holds a team role with more scopes', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const manager = await org.key({ teams: [team], teamRoles: ['api_keys_manage', 'schedules_reader'] });
      const target = await org.key({ teams: [team], teamRoles: ['schedules_editor'] });
      const issuedAt = await tokenLastIssuedAt(admin.token, target.id);
      const response = await rotate(manager.token, { id: target.id });
      expect(response.code).toBe('FORBIDDEN');
      expect(response.errors?.[0]?.message).toContain('schedules_editor');
      await expectUnrotated(admin.token, target, issuedAt);
    });

    it('lets an account-level role cover the same role held in any team', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage', 'schedules_editor'] });
      const target = await org.key({ teams: [team], teamRoles: ['schedules_editor', 'schedules_reader'] });
      await rotated(admin.token, { id: target.id });
    });

    it('lets a manager rotate another key holding api_keys_manage, which it covers', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      const otherAdmin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
      await rotated(admin.token, { id: otherAdmin.id });
      const manager = await org.key({ teams: [team], teamRoles: ['api_keys_manage'] });
      const otherManager = await org.key({ teams: [team], teamRoles: ['api_keys_manage'] });
      await rotated(manager.token, { id: otherManager.id });
    });
  });

  describe('gracePeriodMinutes: a whole number from 0 to 60, default 30', () => {
    it.each([
      [undefined, 30],
      [0, 0],
      [60, 60],
      [1, 1],
    ])('accepts %s and sets previousTokenExpiresAt to now + %i minutes', async (given, minutes) => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const before = t.clock.now().getTime();
      const payload = await rotated(
        admin.token,
        given === undefined ? { id: target.id } : { id: target.id, gracePeriodMinutes: given },
      );
      const after = t.clock.now().getTime();
      const issuedAt = Date.parse(payload.apiKey.tokenLastIssuedAt);
      expect(issuedAt).toBeGreaterThanOrEqual(before);
      expect(issuedAt).toBeLessThanOrEqual(after);
      expect(Date.parse(payload.previousTokenExpiresAt) - issuedAt).toBe(minutes * MINUTE);
    });

    it.each([-1, 61, 1440])(
      'rejects %i with BAD_USER_INPUT naming gracePeriodMinutes, and rotates nothing',
      async (minutes) => {
        const org = await t.org();
        const admin = await org.key({ roles: ['api_keys_manage'] });
        const target = await org.key({});
        const issuedAt = await tokenLastIssuedAt(admin.token, target.id);
        const response = await rotate(admin.token, { id: target.id, gracePeriodMinutes: minutes });
        expect(response.code).toBe('BAD_USER_INPUT');
        expect(response.errors?.[0]?.message).toContain('gracePeriodMinutes');
        expect(response.data).toBeNull();
        await expectUnrotated(admin.token, target, issuedAt);
      },
    );

    it('checks input before permission: a non-manager with a bad grace period gets BAD_USER_INPUT', async () => {
      const org = await t.org();
      const plain = await org.key({ roles: ['viewer'] });
      expect((await rotate(plain.token, { id: plain.id, gracePeriodMinutes: 61 })).code).toBe('BAD_USER_INPUT');
    });
  });

  describe('rotation issues a new token and sets tokenLastIssuedAt', () => {
    it('returns a new, well-formed token that authenticates as the key', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const payload = await rotated(admin.token, { id: target.id });
      expect(payload.token).not.toBe(target.token);
      expect(payload.token).toMatch(/^keygate_[0-9A-Za-z]+$/);
      await expectAccepted(t, payload.token, target.id);
    });

    it('updates tokenLastIssuedAt to the time of the rotation', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const created = Date.parse(await tokenLastIssuedAt(admin.token, target.id));
      t.clock.advance(7 * MINUTE);
      const before = t.clock.now().getTime();
      const payload = await rotated(admin.token, { id: target.id });
      const issued = Date.parse(payload.apiKey.tokenLastIssuedAt);
      expect(issued).toBeGreaterThanOrEqual(before);
      expect(issued - created).toBeGreaterThanOrEqual(7 * MINUTE);
      expect(await tokenLastIssuedAt(admin.token, target.id)).toBe(payload.apiKey.tokenLastIssuedAt);
    });

    it('does not change the key otherwise (name, grants, creator)', async () => {
      const org = await t.org();
      const team = await org.team();
      const admin = await org.key({ roles: ['api_keys_manage', 'viewer', 'schedules_editor'] });
      const target = await org.key({ roles: ['viewer'], teams: [team], teamRoles: ['schedules_editor'] }, 'steady');
      const show = `query($id: ID!) { apiKey(id: $id) { ${API_KEY_FIELDS} } }`;
      const before = await t.gql<{ apiKey: Record<string, unknown> }>(admin.token, show, { id: target.id });
      await rotated(admin.token, { id: target.id });
      const after = await t.gql<{ apiKey: Record<string, unknown> }>(admin.token, show, { id: target.id });
      const { tokenLastIssuedAt: _a, lastUsedAt: _b, ...steadyBefore } = before.data?.apiKey ?? {};
      const { tokenLastIssuedAt: _c, lastUsedAt: _d, ...steadyAfter } = after.data?.apiKey ?? {};
      expect(steadyAfter).toEqual(steadyBefore);
      expect(steadyAfter.name).toBe('steady');
    });
  });

  describe('the token that was current keeps working until now + grace period', () => {
    it('accepts the old token until the grace period ends and rejects it afterwards', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      await expectAccepted(t, target.token, target.id);
      const payload = await rotated(admin.token, { id: target.id, gracePeriodMinutes: 30 });
      await expectAccepted(t, target.token, target.id);
      t.clock.advance(29 * MINUTE);
      await expectAccepted(t, target.token, target.id);
      t.clock.advance(1 * MINUTE + 1_000);
      await expectRejected(t, target.token);
      await expectAccepted(t, payload.token, target.id);
    });

    it('uses the default of 30 minutes when no grace period is given', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      await rotated(admin.token, { id: target.id });
      t.clock.advance(29 * MINUTE);
      await expectAccepted(t, target.token, target.id);
      t.clock.advance(1 * MINUTE + 1_000);
      await expectRejected(t, target.token);
    });

    it('rejects the old token at once with a grace period of 0', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      await expectAccepted(t, target.token, target.id); // verified (and possibly cached) before the rotation
      const payload = await rotated(admin.token, { id: target.id, gracePeriodMinutes: 0 });
      await expectRejected(t, target.token);
      await expectAccepted(t, payload.token, target.id);
    });

    it('keeps the new token working with no expiry', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const payload = await rotated(admin.token, { id: target.id, gracePeriodMinutes: 1 });
      t.clock.advance(24 * 60 * MINUTE);
      await expectAccepted(t, payload.token, target.id);
    });
  });

  describe('tokens from earlier rotations keep their own earlier expiry (never extended)', () => {
    it('rotate with 60 then with 10: the first token lasts 60 minutes, the second 10', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const first = target.token;
      const second = (await rotated(admin.token, { id: target.id, gracePeriodMinutes: 60 })).token;
      const third = (await rotated(admin.token, { id: target.id, gracePeriodMinutes: 10 })).token;
      t.clock.advance(10 * MINUTE + 1_000);
      await expectRejected(t, second);
      await expectAccepted(t, first, target.id);
      t.clock.advance(20 * MINUTE);
      await expectAccepted(t, first, target.id);
      t.clock.advance(30 * MINUTE);
      await expectRejected(t, first);
      await expectAccepted(t, third, target.id);
    });

    it('rotate with 60 then with 0: the first token is not shortened', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const first = target.token;
      const second = (await rotated(admin.token, { id: target.id, gracePeriodMinutes: 60 })).token;
      const third = (await rotated(admin.token, { id: target.id, gracePeriodMinutes: 0 })).token;
      await expectRejected(t, second);
      t.clock.advance(30 * MINUTE);
      await expectAccepted(t, first, target.id);
      await expectAccepted(t, third, target.id);
      t.clock.advance(30 * MINUTE + 1_000);
      await expectRejected(t, first);
    });

    it('rotate with 10, then 5 minutes later with 60: the first token is not extended', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const first = target.token;
      const second = (await rotated(admin.token, { id: target.id, gracePeriodMinutes: 10 })).token;
      t.clock.advance(5 * MINUTE);
      const third = (await rotated(admin.token, { id: target.id, gracePeriodMinutes: 60 })).token;
      t.clock.advance(5 * MINUTE + 1_000);
      await expectRejected(t, first);
      await expectAccepted(t, second, target.id);
      await expectAccepted(t, third, target.id);
      t.clock.advance(55 * MINUTE);
      await expectRejected(t, second);
      await expectAccepted(t, third, target.id);
    });

    it('a rotation reports only the expiry of the token that was current, not of older ones', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      await rotated(admin.token, { id: target.id, gracePeriodMinutes: 60 });
      const payload = await rotated(admin.token, { id: target.id, gracePeriodMinutes: 10 });
      const issuedAt = Date.parse(payload.apiKey.tokenLastIssuedAt);
      expect(Date.parse(payload.previousTokenExpiresAt) - issuedAt).toBe(10 * MINUTE);
    });
  });

  describe('a key has exactly one current token', () => {
    it('after several rotations and every grace period, only the newest token works', async () => {
      const org = await t.org();
      const admin = await org.key({ roles: ['api_keys_manage'] });
      const target = await org.key({});
      const tokens = [target.token];
      for (const minutes of [60, 30, 60]) {
        tokens.push((await rotated(admin.token, { id: target.id, gracePeriodMinutes: minutes })).token);
      }
      expect(new Set(tokens).size).toBe(4);
      expect(await t.domain.db.apiKeyToken.count({ where: { apiKeyId: target.id, expiresAt: null } })).toBe(1);
      t.clock.advance(60 * MINUTE + 1_000);
      const newest = tokens.pop() as string;
      for (const token of tokens) await expectRejected(t, token);
      await expectAccepted(t, newest, target.id);
    });
  });
});
