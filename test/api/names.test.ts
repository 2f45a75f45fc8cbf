// Names through the API on both databases (docs/rules.md "Input rules"; issue 12, item 9): a name that is not
// well-formed Unicode, holds a control character or line break, a bidirectional embedding, override or
// isolate, or nothing visible is BAD_USER_INPUT naming the code point, on create and on update, and
// nothing is written. Every name accepted reads back exactly as stored (NFC) from every read path:
// before, on SQLite, a name of 200 lone surrogates was accepted and read back as 600 U+FFFD.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

const CREATE = `mutation($name: String!) {
  createApiKey(input: { name: $name, roleNames: ["viewer"] }) { token apiKey { id name } }
}`;
const UPDATE = `mutation($id: ID!, $name: String!) {
  updateApiKey(input: { id: $id, name: $name, roleNames: ["viewer"], teamIds: [], teamRoleNames: [] }) { apiKey { id name } }
}`;
const SHOW = 'query($id: ID!) { apiKey(id: $id) { name } }';
const LIST = '{ apiKeys(first: 250) { edges { node { id name } } } }';
const CURRENT = '{ currentApiKey { name } }';
const AUDIT = '{ auditEvents(first: 250) { edges { node { target { id name } details { previousName } } } } }';

const REFUSED: Array<[string, string, string]> = [
  ['200 lone surrogates', '\ud800'.repeat(200), 'U+D800'],
  ['a lone low surrogate', 'key \udc00', 'U+DC00'],
  ['a C0 control', 'key\u0001', 'U+0001'],
  ['an escape sequence', '\u001b[2Jkey', 'U+001B'],
  ['a newline', 'two\nlines', 'U+000A'],
  ['a C1 control', 'key\u0085', 'U+0085'],
  ['a right-to-left override', 'txt.\u202eexe', 'U+202E'],
  ['a bidi isolate', 'a\u2066b\u2069', 'U+2066'],
  ['only zero-width characters', '\u200b\u200c\u200d\ufeff', 'visible'],
  ['only a Hangul filler', '\u3164', 'visible'],
  ['only a Braille pattern blank', '\u2800', 'visible'],
  ['only a combining accent', '\u0301', 'visible'],
  ['only interlinear annotation characters', '\ufff9\ufffb', 'visible'],
  ['201 characters once composed', 'e\u0301'.repeat(201), '200'],
];

const ACCEPTED: Array<[string, string, string]> = [
  ['200 astral characters', '🔑'.repeat(200), '🔑'.repeat(200)],
  ['200 three-byte characters', '€'.repeat(200), '€'.repeat(200)],
  ['200 decomposed é (400 code points as sent), stored composed', 'e\u0301'.repeat(200), '\u00e9'.repeat(200)],
  ['an emoji ZWJ sequence', '👩\u200d💻 deploy', '👩\u200d💻 deploy'],
  ['right-to-left text with a mark', 'מפתח 2\u200f', 'מפתח 2\u200f'],
  ['quotes and backslashes', `"a" \\ 'b' \\u0041`, `"a" \\ 'b' \\u0041`],
  ['JSON-looking text', '["x", {"y": null}]', '["x", {"y": null}]'],
];

describe.each(providers)('names on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let admin: { id: string; token: string };
  let target: { id: string; token: string };

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    target = await org.key({ roles: ['viewer'] }, 'target');
  });
  afterAll(() => t.close());

  const state = async () => ({
    keys: await t.domain.db.apiKey.count(),
    events: await t.domain.db.auditEvent.count(),
    target: (await t.domain.db.apiKey.findUnique({ where: { id: target.id } }))?.name,
  });

  it.each(REFUSED)('refuses %s on create and update, naming it, writing nothing', async (_label, name, named) => {
    const before = await state();
    for (const answer of [
      await t.gql(admin.token, CREATE, { name }),
      await t.gql(admin.token, UPDATE, { id: target.id, name }),
    ]) {
      expect(answer.code).toBe('BAD_USER_INPUT');
      expect(answer.errors?.[0]?.message).toMatch(/^name /);
      expect(answer.errors?.[0]?.message).toContain(named);
      expect(answer.data).toBeNull();
    }
    expect(await state()).toEqual(before);
  });

  it.each(ACCEPTED)('stores %s and reads it back exactly everywhere', async (_label, sent, stored) => {
    const created = await t.gql<{ createApiKey: { token: string; apiKey: { id: string; name: string } } }>(
      admin.token,
      CREATE,
      { name: sent },
    );
    expect(created.errors).toBeUndefined();
    const { token, apiKey } = created.data?.createApiKey ?? { token: '', apiKey: { id: '', name: '' } };
    expect(apiKey.name).toBe(stored);
    expect((await t.gql<{ apiKey: { name: string } }>(admin.token, SHOW, { id: apiKey.id })).data?.apiKey.name).toBe(
      stored,
    );
    const listed = await t.gql<{ apiKeys: { edges: Array<{ node: { id: string; name: string } }> } }>(
      admin.token,
      LIST,
    );
    expect(listed.data?.apiKeys.edges.find((edge) => edge.node.id === apiKey.id)?.node.name).toBe(stored);
    expect((await t.gql<{ currentApiKey: { name: string } }>(token, CURRENT)).data?.currentApiKey.name).toBe(stored);

    // An update to the same name, then to another, keeps both spellings exact in the audit log.
    const updated = await t.gql<{ updateApiKey: { apiKey: { name: string } } }>(admin.token, UPDATE, {
      id: apiKey.id,
      name: `${sent} `,
    });
    expect(updated.data?.updateApiKey.apiKey.name).toBe(stored);
    await t.gql(admin.token, UPDATE, { id: apiKey.id, name: 'renamed' });
    const audit = await t.gql<{
      auditEvents: {
        edges: Array<{ node: { target: { id: string; name: string }; details: { previousName: string } | null } }>;
      };
    }>(admin.token, AUDIT);
    const events = audit.data?.auditEvents.edges.map((edge) => edge.node).filter((e) => e.target.id === apiKey.id);
    expect(events?.map((event) => event.target.name)).toEqual(['renamed', stored, stored]);
    expect(events?.[0]?.details?.previousName).toBe(stored);
    // The stored row itself, byte for byte.
    expect((await t.domain.db.apiKey.findUnique({ where: { id: apiKey.id } }))?.name).toBe('renamed');
  });
});
