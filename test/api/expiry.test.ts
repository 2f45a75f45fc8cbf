// docs/rules.md "Expiry": expiresAt on create and update (future only; absent keeps it on update, null
// clears it), expired keys refused like unknown tokens while they stay visible and editable, the
// lifetime rule, rotation keeping the expiry, grace tokens stopping at the earlier of grace end and
// expiry, and audit details. Through GraphQL over app.fetch, on both databases.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { expectAccepted, expectRejected } from '../helpers/authenticates.ts';
import { providers } from '../helpers/databases.ts';
import { CREATE_KEY } from '../helpers/documents.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const UPDATE = `mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id name expiresAt } } }`;
const ROTATE = `mutation($input: RotateApiKeyInput!) {
  rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { id expiresAt } }
}`;
const SHOW = 'query($id: ID!) { apiKey(id: $id) { id expiresAt } }';
const LIST = '{ apiKeys(first: 250) { edges { node { id expiresAt } } } }';
const WHOAMI = '{ currentApiKey { id expiresAt } }';
const AUDIT = `{ auditEvents(first: 50) { edges { node {
  action target { id } details { previousName expiresAt previousExpiresAt }
} } } }`;

interface Created {
  createApiKey: { token: string; apiKey: { id: string; expiresAt: string | null } };
}

describe.each(providers)('expiry on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let admin: { id: string; token: string };
  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    admin = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator'] });
  });
  afterAll(() => t.close());
  beforeEach(() => t.clock.real());

  const iso = (ms: number) => new Date(ms).toISOString();

  async function create(token: string, input: Record<string, unknown>) {
    return t.gql<Created>(token, CREATE_KEY, { input: { name: 'k', roleNames: ['viewer'], ...input } });
  }

  async function created(token: string, input: Record<string, unknown>) {
    const response = await create(token, input);
    expect(response.errors).toBeUndefined();
    return (response.data as Created).createApiKey;
  }

  async function update(token: string, id: string, extra: Record<string, unknown>) {
    return t.gql<{ updateApiKey: { apiKey: { id: string; expiresAt: string | null } } }>(token, UPDATE, {
      input: { id, name: 'k', roleNames: ['viewer'], teamIds: [], teamRoleNames: [], ...extra },
    });
  }

  async function shownExpiry(id: string): Promise<string | null> {
    const response = await t.gql<{ apiKey: { expiresAt: string | null } }>(admin.token, SHOW, { id });
    expect(response.errors).toBeUndefined();
    return (response.data as { apiKey: { expiresAt: string | null } }).apiKey.expiresAt;
  }

  describe('expiresAt on create', () => {
    it('is stored, shown and returned; absent means never', async () => {
      const at = iso(Date.now() + 90 * DAY);
      const key = await created(admin.token, { expiresAt: at });
      expect(key.apiKey.expiresAt).toBe(at);
      expect(await shownExpiry(key.apiKey.id)).toBe(at);
      const current = await t.gql<{ currentApiKey: { expiresAt: string } }>(key.token, WHOAMI);
      expect(current.data?.currentApiKey.expiresAt).toBe(at);

      const forever = await created(admin.token, {});
      expect(forever.apiKey.expiresAt).toBeNull();
      const explicitNull = await created(admin.token, { expiresAt: null });
      expect(explicitNull.apiKey.expiresAt).toBeNull();
    });

    it('reads back to the millisecond in a shown key and a page, up to the last instant of the range', async () => {
      // The reads carry times as milliseconds computed by the database (src/store/dialect.ts,
      // Dialect.timestamp): far times and odd milliseconds must survive it exactly.
      for (const at of ['9999-12-31T23:59:59.999Z', '2999-06-15T12:34:56.789Z', iso(Date.now() + DAY + 1)]) {
        const key = await created(admin.token, { expiresAt: at });
        expect(await shownExpiry(key.apiKey.id)).toBe(at);
        const page = await t.gql<{ apiKeys: { edges: Array<{ node: { id: string; expiresAt: string } }> } }>(
          admin.token,
          LIST,
        );
        expect(page.data?.apiKeys.edges.find((edge) => edge.node.id === key.apiKey.id)?.node.expiresAt).toBe(at);
      }
    });

    it('must lie in the future: BAD_USER_INPUT naming expiresAt, nothing written', async () => {
      const before = await t.gql<{ apiKeys: { edges: unknown[] } }>(admin.token, LIST);
      for (const at of [iso(Date.now() - MINUTE), iso(Date.now() - 1000 * DAY)]) {
        const response = await create(admin.token, { expiresAt: at });
        expect(response.code).toBe('BAD_USER_INPUT');
        expect(response.errors?.[0]?.message).toMatch(/expiresAt must be in the future/);
      }
      const after = await t.gql<{ apiKeys: { edges: unknown[] } }>(admin.token, LIST);
      expect(after.data?.apiKeys.edges.length).toBe(before.data?.apiKeys.edges.length);
    });

    it('a malformed time is refused by the DateTime scalar', async () => {
      const response = await create(admin.token, { expiresAt: 'next tuesday' });
      expect(response.errors?.[0]?.message).toMatch(/expiresAt/);
    });
  });

  describe('an expired key', () => {
    it('is refused like an unknown token from the instant of expiry, even while its token is cached', async () => {
      t.clock.freeze();
      const expiresAt = t.clock.now().getTime() + HOUR;
      const key = await created(admin.token, { expiresAt: iso(expiresAt) });
      t.clock.advance(HOUR - 3000);
      await expectAccepted(t, key.token); // now cached (for a few seconds)
      const lookups = t.lookups.count;
      t.clock.advance(2999);
      await expectAccepted(t, key.token);
      expect(t.lookups.count).toBe(lookups); // served by the cache
      t.clock.advance(1);
      await expectRejected(t, key.token);
      t.clock.advance(DAY);
      await expectRejected(t, key.token);
    });

    it('stays visible, listed and editable; extending it makes its token work again, and null clears it', async () => {
      t.clock.freeze();
      const key = await created(admin.token, { expiresAt: iso(t.clock.now().getTime() + MINUTE) });
      t.clock.advance(2 * MINUTE);
      await expectRejected(t, key.token);
      expect(await shownExpiry(key.apiKey.id)).not.toBeNull();
      const list = await t.gql<{ apiKeys: { edges: Array<{ node: { id: string } }> } }>(admin.token, LIST);
      expect(list.data?.apiKeys.edges.map((e) => e.node.id)).toContain(key.apiKey.id);

      const later = iso(t.clock.now().getTime() + DAY);
      const extended = await update(admin.token, key.apiKey.id, { expiresAt: later });
      expect(extended.errors).toBeUndefined();
      expect(extended.data?.updateApiKey.apiKey.expiresAt).toBe(later);
      await expectAccepted(t, key.token);

      const cleared = await update(admin.token, key.apiKey.id, { expiresAt: null });
      expect(cleared.data?.updateApiKey.apiKey.expiresAt).toBeNull();
      t.clock.advance(1000 * DAY);
      await expectAccepted(t, key.token);
    });

    it('can be deleted', async () => {
      t.clock.freeze();
      const key = await created(admin.token, { expiresAt: iso(t.clock.now().getTime() + MINUTE) });
      t.clock.advance(MINUTE);
      const response = await t.gql(
        admin.token,
        'mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }',
        {
          id: key.apiKey.id,
        },
      );
      expect(response.errors).toBeUndefined();
    });
  });

  describe('expiresAt on update', () => {
    it('absent keeps it; a time sets it; it must lie in the future', async () => {
      const at = iso(Date.now() + 10 * DAY);
      const key = await created(admin.token, { expiresAt: at });
      const renamed = await update(admin.token, key.apiKey.id, { name: 'renamed' });
      expect(renamed.errors).toBeUndefined();
      expect(renamed.data?.updateApiKey.apiKey.expiresAt).toBe(at);
      expect(await shownExpiry(key.apiKey.id)).toBe(at);

      const past = await update(admin.token, key.apiKey.id, { name: 'changed', expiresAt: iso(Date.now() - MINUTE) });
      expect(past.code).toBe('BAD_USER_INPUT');
      expect(past.errors?.[0]?.message).toMatch(/expiresAt must be in the future/);
      expect(await shownExpiry(key.apiKey.id)).toBe(at);

      const sooner = iso(Date.now() + DAY);
      const set = await update(admin.token, key.apiKey.id, { expiresAt: sooner });
      expect(set.data?.updateApiKey.apiKey.expiresAt).toBe(sooner);
      expect(await shownExpiry(key.apiKey.id)).toBe(sooner);
    });

    it('a shortened expiry takes effect on a cached token at once', async () => {
      t.clock.freeze();
      const key = await created(admin.token, {});
      await expectAccepted(t, key.token);
      const response = await update(admin.token, key.apiKey.id, { expiresAt: iso(t.clock.now().getTime() + MINUTE) });
      expect(response.errors).toBeUndefined();
      await expectAccepted(t, key.token);
      t.clock.advance(MINUTE);
      await expectRejected(t, key.token);
    });
  });

  describe('the lifetime rule: no key hands out a longer life than its own', () => {
    it('a caller with an expiry cannot create a key that never expires or expires later (FORBIDDEN naming its expiry)', async () => {
      const ownMs = Date.now() + 7 * DAY;
      const own = new Date(ownMs);
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'expiring manager', own);
      for (const expiresAt of [undefined, null, iso(ownMs + 1)]) {
        const response = await create(manager.token, expiresAt === undefined ? {} : { expiresAt });
        expect(response.code).toBe('FORBIDDEN');
        expect(response.errors?.[0]?.message).toContain(own.toISOString());
      }
      for (const expiresAt of [iso(ownMs), iso(ownMs - DAY)]) {
        const key = await created(manager.token, { expiresAt });
        expect(key.apiKey.expiresAt).toBe(expiresAt);
      }
    });

    it('nor update a key into one that outlives it, also by leaving a never-expiring key as it is', async () => {
      const ownMs = Date.now() + 7 * DAY;
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'expiring manager', new Date(ownMs));
      const forever = await org.key({ roles: ['viewer'] });
      const bounded = await org.key({ roles: ['viewer'] }, 'bounded', new Date(ownMs - DAY));

      for (const extra of [{}, { expiresAt: null }, { expiresAt: iso(ownMs + MINUTE) }]) {
        const response = await update(manager.token, forever.id, extra);
        expect(response.code).toBe('FORBIDDEN');
        expect(response.errors?.[0]?.message).toContain(new Date(ownMs).toISOString());
      }
      const extendPast = await update(manager.token, bounded.id, { expiresAt: iso(ownMs + 1) });
      expect(extendPast.code).toBe('FORBIDDEN');
      expect(await shownExpiry(bounded.id)).toBe(iso(ownMs - DAY));

      const kept = await update(manager.token, bounded.id, { name: 'kept' });
      expect(kept.errors).toBeUndefined();
      const fixed = await update(manager.token, forever.id, { expiresAt: iso(ownMs) });
      expect(fixed.errors).toBeUndefined();
      expect(fixed.data?.updateApiKey.apiKey.expiresAt).toBe(iso(ownMs));
    });

    it('nor rotate a key that outlives it: a rotation hands out a token of that key (FORBIDDEN, nothing changed)', async () => {
      const ownMs = Date.now() + 7 * DAY;
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'expiring manager', new Date(ownMs));
      const forever = await org.key({ roles: ['viewer'] });
      const later = await org.key({ roles: ['viewer'] }, 'later', new Date(ownMs + DAY));
      for (const target of [forever, later]) {
        const response = await t.gql(manager.token, ROTATE, { input: { id: target.id, gracePeriodMinutes: 0 } });
        expect(response.code).toBe('FORBIDDEN');
        expect(response.errors?.[0]?.message).toContain(new Date(ownMs).toISOString());
        await expectAccepted(t, target.token); // its token was not replaced
      }
      // A key that ends no later than the caller, and the caller itself, it may rotate.
      const bounded = await org.key({ roles: ['viewer'] }, 'bounded', new Date(ownMs));
      for (const target of [bounded, manager]) {
        const response = await t.gql(manager.token, ROTATE, { input: { id: target.id, gracePeriodMinutes: 0 } });
        expect(response.errors).toBeUndefined();
      }
    });

    describe('a token in its grace period is held to its grace end', () => {
      /** A manager key that never expires, rotated by the admin with a grace period of 5 minutes. */
      async function rotatedManager() {
        const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'rotated manager');
        const response = await t.gql<{ rotateApiKey: { token: string; previousTokenExpiresAt: string } }>(
          admin.token,
          ROTATE,
          { input: { id: manager.id, gracePeriodMinutes: 5 } },
        );
        expect(response.errors).toBeUndefined();
        const rotated = response.data?.rotateApiKey as { token: string; previousTokenExpiresAt: string };
        return {
          id: manager.id,
          previous: manager.token,
          current: rotated.token,
          graceEnd: rotated.previousTokenExpiresAt,
        };
      }

      it('it cannot rotate its own key again and so cut off the token that replaced it (FORBIDDEN, both tokens unchanged)', async () => {
        t.clock.freeze();
        const manager = await rotatedManager();
        for (const gracePeriodMinutes of [0, 60]) {
          const response = await t.gql(manager.previous, ROTATE, { input: { id: manager.id, gracePeriodMinutes } });
          expect(response.code).toBe('FORBIDDEN');
          expect(response.errors?.[0]?.message).toContain(manager.graceEnd);
        }
        await expectAccepted(t, manager.current);
        await expectAccepted(t, manager.previous);
        t.clock.advance(5 * MINUTE);
        await expectRejected(t, manager.previous);
        // The key's current token may rotate it.
        const own = await t.gql(manager.current, ROTATE, { input: { id: manager.id, gracePeriodMinutes: 0 } });
        expect(own.errors).toBeUndefined();
      });

      it('nor when its key expires before its grace ends: the token it was replaced by stays the current one', async () => {
        t.clock.freeze();
        const start = t.clock.now().getTime();
        const manager = await org.key(
          { roles: ['api_keys_manage', 'viewer'] },
          'expiring',
          new Date(start + 2 * MINUTE),
        );
        const rotated = await t.gql<{ rotateApiKey: { token: string } }>(admin.token, ROTATE, {
          input: { id: manager.id, gracePeriodMinutes: 5 },
        });
        expect(rotated.errors).toBeUndefined();
        const response = await t.gql(manager.token, ROTATE, { input: { id: manager.id, gracePeriodMinutes: 0 } });
        expect(response.code).toBe('FORBIDDEN');
        await expectAccepted(t, rotated.data?.rotateApiKey.token as string);
      });

      it('it cannot create, update or rotate a key that outlives its grace end', async () => {
        t.clock.freeze();
        const manager = await rotatedManager();
        const graceEndMs = Date.parse(manager.graceEnd);
        for (const expiresAt of [undefined, null, iso(graceEndMs + 1)]) {
          const response = await create(manager.previous, expiresAt === undefined ? {} : { expiresAt });
          expect(response.code).toBe('FORBIDDEN');
          expect(response.errors?.[0]?.message).toContain(`stops working at ${manager.graceEnd}`);
        }
        const bounded = await created(manager.previous, { expiresAt: manager.graceEnd });
        expect(bounded.apiKey.expiresAt).toBe(manager.graceEnd);

        const forever = await org.key({ roles: ['viewer'] });
        const renamed = await update(manager.previous, forever.id, { name: 'renamed' });
        expect(renamed.code).toBe('FORBIDDEN');
        const rotated = await t.gql(manager.previous, ROTATE, { input: { id: forever.id, gracePeriodMinutes: 0 } });
        expect(rotated.code).toBe('FORBIDDEN');
        await expectAccepted(t, forever.token);

        // The key's current token has the key's life, which has no end.
        const byCurrent = await created(manager.current, {});
        expect(byCurrent.apiKey.expiresAt).toBeNull();
      });
    });

    it('input validity comes first: a past expiresAt is BAD_USER_INPUT, not FORBIDDEN', async () => {
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] }, 'm', new Date(Date.now() + DAY));
      const response = await create(manager.token, { expiresAt: iso(Date.now() - MINUTE) });
      expect(response.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('rotation', () => {
    it('keeps expiresAt; the grace token stops at the earlier of its grace end and the expiry', async () => {
      t.clock.freeze();
      const start = t.clock.now().getTime();
      const expiresAt = iso(start + 10 * MINUTE);
      const key = await created(admin.token, { expiresAt });
      const response = await t.gql<{
        rotateApiKey: { token: string; previousTokenExpiresAt: string; apiKey: { expiresAt: string } };
      }>(admin.token, ROTATE, { input: { id: key.apiKey.id, gracePeriodMinutes: 30 } });
      expect(response.errors).toBeUndefined();
      const rotated = response.data?.rotateApiKey;
      expect(rotated?.apiKey.expiresAt).toBe(expiresAt);
      expect(rotated?.previousTokenExpiresAt).toBe(expiresAt);
      expect(await shownExpiry(key.apiKey.id)).toBe(expiresAt);

      await expectAccepted(t, key.token);
      await expectAccepted(t, rotated?.token as string);
      t.clock.advance(10 * MINUTE);
      await expectRejected(t, key.token);
      await expectRejected(t, rotated?.token as string);
    });

    it('a grace end before the expiry is kept', async () => {
      t.clock.freeze();
      const start = t.clock.now().getTime();
      const key = await created(admin.token, { expiresAt: iso(start + DAY) });
      const response = await t.gql<{ rotateApiKey: { token: string; previousTokenExpiresAt: string } }>(
        admin.token,
        ROTATE,
        { input: { id: key.apiKey.id, gracePeriodMinutes: 5 } },
      );
      expect(response.data?.rotateApiKey.previousTokenExpiresAt).toBe(iso(start + 5 * MINUTE));
      t.clock.advance(5 * MINUTE);
      await expectRejected(t, key.token);
      await expectAccepted(t, response.data?.rotateApiKey.token as string);
    });
  });

  describe('audit events record changes of expiresAt', () => {
    it('on create and update', async () => {
      const first = iso(Date.now() + 3 * DAY);
      const second = iso(Date.now() + 4 * DAY);
      const key = await created(admin.token, { expiresAt: first });
      await update(admin.token, key.apiKey.id, { expiresAt: second });
      await update(admin.token, key.apiKey.id, { expiresAt: null });
      const response = await t.gql<{
        auditEvents: {
          edges: Array<{
            node: {
              action: string;
              target: { id: string };
              details: { expiresAt: string | null; previousExpiresAt: string | null } | null;
            };
          }>;
        };
      }>(admin.token, AUDIT);
      expect(response.errors).toBeUndefined();
      const events = (response.data?.auditEvents.edges ?? [])
        .map((edge) => edge.node)
        .filter((node) => node.target.id === key.apiKey.id)
        .reverse();
      expect(events.map((e) => [e.action, e.details?.previousExpiresAt ?? null, e.details?.expiresAt ?? null])).toEqual(
        [
          ['api_key.created', null, first],
          ['api_key.updated', first, second],
          ['api_key.updated', second, null],
        ],
      );
    });
  });
});
