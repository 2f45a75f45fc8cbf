// docs/rules.md "Input rules": every failure is a KeygateError with code BAD_USER_INPUT naming what failed.
import { ulid } from 'ulidx';
import { describe, expect, it } from 'vitest';
import type { Grants } from '../../src/domain/access.ts';
import {
  decodeCursor,
  encodeCursor,
  type GrantsInput,
  parseGracePeriod,
  parseGrantsInput,
  parseName,
  parsePageSize,
} from '../../src/domain/input.ts';
import { DEFAULT_ROLES, RoleCatalogue } from '../../src/domain/roles.ts';
import { expectKeygateError, TEAM_A, TEAM_B } from './support.ts';

const catalogue = new RoleCatalogue(DEFAULT_ROLES);
const TEAM_ROLES = DEFAULT_ROLES.filter((r) => r.teamLevel).map((r) => r.name);
const ACCOUNT_ONLY_ROLES = DEFAULT_ROLES.filter((r) => !r.teamLevel).map((r) => r.name);

describe('Input rules: name is trimmed and 1 to 200 characters', () => {
  it.each([
    { name: 'a single character', input: 'k', expected: 'k' },
    { name: 'surrounding spaces trimmed', input: '  ci deploy  ', expected: 'ci deploy' },
    { name: 'surrounding tabs and newlines trimmed', input: '\t\nci\n\t', expected: 'ci' },
    { name: 'inner spaces kept', input: 'a  b', expected: 'a  b' },
    { name: '200 characters', input: 'a'.repeat(200), expected: 'a'.repeat(200) },
    { name: '200 characters after trimming', input: `   ${'a'.repeat(200)}   `, expected: 'a'.repeat(200) },
    { name: '200 two-byte characters', input: 'é'.repeat(200), expected: 'é'.repeat(200) },
    { name: '200 three-byte characters', input: '鍵'.repeat(200), expected: '鍵'.repeat(200) },
    { name: '200 astral characters (surrogate pairs)', input: '🔑'.repeat(200), expected: '🔑'.repeat(200) },
  ])('accepts $name', ({ input, expected }) => {
    expect(parseName(input)).toBe(expected);
  });

  it.each([
    { name: 'the empty string', input: '' },
    { name: 'only spaces', input: '   ' },
    { name: 'only whitespace of several kinds', input: ' \t\n\r ' },
  ])('rejects $name as empty', ({ input }) => {
    expectKeygateError(() => parseName(input), 'BAD_USER_INPUT', 'name');
  });

  it.each([
    { name: '201 characters', input: 'a'.repeat(201) },
    { name: '201 characters with spaces inside', input: `${'a'.repeat(100)} ${'a'.repeat(100)}` },
    { name: '201 two-byte characters', input: 'é'.repeat(201) },
    { name: '201 astral characters', input: '🔑'.repeat(201) },
  ])('rejects $name as too long', ({ input }) => {
    expectKeygateError(() => parseName(input), 'BAD_USER_INPUT', 'name', '200');
  });
});

describe('Input rules: a name is well-formed Unicode text a person can read (issue 12, item 9)', () => {
  it.each([
    { name: 'a decomposed é, stored composed (NFC)', input: 'cle\u0301', expected: 'cl\u00e9' },
    { name: 'Hangul jamo, composed', input: '\u1100\u1161', expected: '\uac00' },
    { name: 'an emoji ZWJ sequence', input: '👩\u200d💻 deploy', expected: '👩\u200d💻 deploy' },
    { name: 'a Persian name with a zero-width non-joiner', input: 'می\u200cخواهم', expected: 'می\u200cخواهم' },
    { name: 'right-to-left text with a right-to-left mark', input: 'מפתח 2\u200f', expected: 'מפתח 2\u200f' },
    { name: 'an emoji with a variation selector', input: '❤\ufe0f key', expected: '❤\ufe0f key' },
    { name: 'a no-break space inside', input: 'a\u00a0b', expected: 'a\u00a0b' },
  ])('accepts $name', ({ input, expected }) => {
    expect(parseName(input)).toBe(expected);
  });

  it('counts the 200-character limit in code points after NFC', () => {
    // 200 decomposed é are 400 code points as sent, 200 once composed.
    expect(parseName('e\u0301'.repeat(200))).toBe('\u00e9'.repeat(200));
    expectKeygateError(() => parseName('e\u0301'.repeat(201)), 'BAD_USER_INPUT', 'name', '201', '200');
  });

  it.each([
    { name: 'a lone high surrogate', input: 'key \ud800', fragments: ['U+D800', 'surrogate'] },
    { name: 'a lone low surrogate', input: '\udc00 key', fragments: ['U+DC00', 'surrogate'] },
    { name: 'reversed surrogates', input: 'a\udc00\ud800b', fragments: ['U+DC00'] },
    { name: '200 lone surrogates', input: '\ud800'.repeat(200), fragments: ['U+D800'] },
  ])('rejects $name (not well-formed Unicode)', ({ input, fragments }) => {
    expectKeygateError(() => parseName(input), 'BAD_USER_INPUT', 'name', ...fragments);
  });

  it.each([
    { name: 'NUL', input: 'a\u0000b', point: 'U+0000' },
    { name: 'a C0 control (SOH)', input: 'a\u0001b', point: 'U+0001' },
    { name: 'escape (terminal sequences)', input: 'a\u001b[31mred', point: 'U+001B' },
    { name: 'a newline inside', input: 'line one\nline two', point: 'U+000A' },
    { name: 'a tab inside', input: 'a\tb', point: 'U+0009' },
    { name: 'a carriage return inside', input: 'a\rb', point: 'U+000D' },
    { name: 'DEL', input: 'a\u007fb', point: 'U+007F' },
    { name: 'a C1 control (NEL)', input: 'a\u0085b', point: 'U+0085' },
    { name: 'a C1 control (CSI)', input: 'a\u009bb', point: 'U+009B' },
    { name: 'a line separator', input: 'a\u2028b', point: 'U+2028' },
    { name: 'a paragraph separator', input: 'a\u2029b', point: 'U+2029' },
  ])('rejects $name (a control character)', ({ input, point }) => {
    expectKeygateError(() => parseName(input), 'BAD_USER_INPUT', 'name', 'control character', point);
  });

  it.each([
    { input: 'abc\u202edcba', point: 'U+202E' },
    { input: '\u202aab', point: 'U+202A' },
    { input: 'a\u202bb', point: 'U+202B' },
    { input: 'a\u202cb', point: 'U+202C' },
    { input: 'a\u202db', point: 'U+202D' },
    { input: 'a\u2066b', point: 'U+2066' },
    { input: 'a\u2067b', point: 'U+2067' },
    { input: 'a\u2068b', point: 'U+2068' },
    { input: 'a\u2069b', point: 'U+2069' },
  ])('rejects the bidirectional embedding, override or isolate $point', ({ input, point }) => {
    expectKeygateError(() => parseName(input), 'BAD_USER_INPUT', 'name', 'bidirectional', point);
  });

  it.each([
    { name: 'only a zero-width space', input: '\u200b' },
    { name: 'only zero-width joiners and non-joiners', input: '\u200d\u200c\u200d' },
    { name: 'only a byte order mark and word joiners', input: '\u2060\ufeff\u2060' },
    { name: 'only soft hyphens', input: '\u00ad\u00ad' },
    { name: 'only a right-to-left mark', input: '\u200f' },
    { name: 'only Hangul fillers', input: '\u3164\u115f' },
    { name: 'only variation selectors', input: '\ufe0f\ufe0e' },
    { name: 'only tag characters', input: '\u{e0041}\u{e0042}' },
    { name: 'zero-width characters between spaces', input: ' \u200b \u200b ' },
    { name: 'only a Braille pattern blank', input: '\u2800\u2800' },
    { name: 'only a combining accent', input: '\u0301' },
    { name: 'only combining marks and spaces', input: ' \u0301\u0308 \u20dd ' },
    { name: 'only interlinear annotation characters', input: '\ufff9\ufffa\ufffb' },
    { name: 'only Egyptian hieroglyph format controls', input: '\u{13430}\u{13436}\u{1343f}' },
    { name: 'a Braille blank and an annotation character', input: '\u2800\ufff9' },
    { name: 'only musical null noteheads', input: '\u{1d159}\u{1d159}' },
    { name: 'only private-use code points', input: '\ue000\uf8ff' },
    { name: 'only noncharacters', input: '\ufdd0\uffff' },
    { name: 'only an unassigned code point', input: '\u{50000}' },
  ])('rejects a name of $name (nothing visible)', ({ input }) => {
    expectKeygateError(() => parseName(input), 'BAD_USER_INPUT', 'name', 'visible');
  });
});

it.each([
  { name: 'a letter with combining marks after it', input: 'e\u0301\u0308', stored: '\u00e9\u0308' },
  { name: 'Devanagari with its vowel signs', input: 'कुंजी', stored: 'कुंजी' },
  { name: 'a Braille blank beside a visible character', input: 'a\u2800b', stored: 'a\u2800b' },
  { name: 'a symbol alone', input: '🔑', stored: '🔑' },
  { name: 'punctuation alone', input: '—', stored: '—' },
  { name: 'a private-use character beside a letter', input: 'x\ue000', stored: 'x\ue000' },
])('accepts $name: something visible is drawn', ({ input, stored }) => {
  expect(parseName(input)).toBe(stored);
});

const sorted = (g: Grants) => ({
  roleNames: [...g.roleNames].sort(),
  teamIds: [...g.teamIds].sort(),
  teamRoleNames: [...g.teamRoleNames].sort(),
});

describe('Input rules: grants (roles, teams and team roles)', () => {
  it.each<{ name: string; input: GrantsInput; expected: Grants }>([
    { name: 'no grants (omitted)', input: {}, expected: { roleNames: [], teamIds: [], teamRoleNames: [] } },
    {
      name: 'no grants (null)',
      input: { roleNames: null, teamIds: null, teamRoleNames: null },
      expected: { roleNames: [], teamIds: [], teamRoleNames: [] },
    },
    {
      name: 'account roles only',
      input: { roleNames: ['viewer', 'incident_creator'] },
      expected: { roleNames: ['viewer', 'incident_creator'], teamIds: [], teamRoleNames: [] },
    },
    {
      name: 'teams with team roles',
      input: { teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['schedules_editor'] },
      expected: { roleNames: [], teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['schedules_editor'] },
    },
    {
      name: 'api_keys_manage at both levels (refused later as FORBIDDEN, not as bad input)',
      input: { roleNames: ['api_keys_manage'], teamIds: [TEAM_A], teamRoleNames: ['api_keys_manage'] },
      expected: { roleNames: ['api_keys_manage'], teamIds: [TEAM_A], teamRoleNames: ['api_keys_manage'] },
    },
    {
      name: 'duplicate account roles ignored',
      input: { roleNames: ['viewer', 'viewer', 'catalog_viewer', 'viewer'] },
      expected: { roleNames: ['viewer', 'catalog_viewer'], teamIds: [], teamRoleNames: [] },
    },
    {
      name: 'duplicate teams and team roles ignored',
      input: { teamIds: [TEAM_B, TEAM_A, TEAM_B], teamRoleNames: ['on_call_editor', 'on_call_editor'] },
      expected: { roleNames: [], teamIds: [TEAM_A, TEAM_B], teamRoleNames: ['on_call_editor'] },
    },
  ])('accepts $name', ({ input, expected }) => {
    expect(sorted(parseGrantsInput(catalogue, input))).toEqual(sorted(expected));
  });

  it.each(DEFAULT_ROLES.map((r) => r.name))('accepts %s at account level', (name) => {
    expect(parseGrantsInput(catalogue, { roleNames: [name] }).roleNames).toEqual([name]);
  });

  it.each(TEAM_ROLES)('accepts %s as a team role', (name) => {
    expect(parseGrantsInput(catalogue, { teamIds: [TEAM_A], teamRoleNames: [name] }).teamRoleNames).toEqual([name]);
  });

  it.each(ACCOUNT_ONLY_ROLES)('rejects %s as a team role (not assignable at that level), naming it', (name) => {
    expectKeygateError(
      () => parseGrantsInput(catalogue, { teamIds: [TEAM_A], teamRoleNames: ['schedules_reader', name] }),
      'BAD_USER_INPUT',
      'teamRoleNames',
      name,
    );
  });

  it('rejects a team-only role at account level, naming it', () => {
    const custom = new RoleCatalogue([
      ...DEFAULT_ROLES,
      {
        name: 'rota_swapper',
        description: 'Swap rota shifts.',
        scopes: ['rota.swap'],
        accountLevel: false,
        teamLevel: true,
        grantableViaApi: true,
      },
    ]);
    expectKeygateError(
      () => parseGrantsInput(custom, { roleNames: ['viewer', 'rota_swapper'] }),
      'BAD_USER_INPUT',
      'roleNames',
      'rota_swapper',
    );
    expect(parseGrantsInput(custom, { teamIds: [TEAM_A], teamRoleNames: ['rota_swapper'] }).teamRoleNames).toEqual([
      'rota_swapper',
    ]);
  });

  it.each<{ name: string; input: GrantsInput; fragments: string[] }>([
    {
      name: 'an unknown account role',
      input: { roleNames: ['viewer', 'superuser'] },
      fragments: ['roleNames', 'superuser'],
    },
    {
      name: 'a role name in the wrong case',
      input: { roleNames: ['Viewer'] },
      fragments: ['roleNames', 'Viewer'],
    },
    {
      name: 'an empty role name',
      input: { roleNames: [''] },
      fragments: ['roleNames', '""'],
    },
    {
      name: 'an unknown team role',
      input: { teamIds: [TEAM_A], teamRoleNames: ['rota_master'] },
      fragments: ['teamRoleNames', 'rota_master'],
    },
    {
      name: 'a team id that is not an id',
      input: { teamIds: [TEAM_A, 'team-a'], teamRoleNames: ['schedules_reader'] },
      fragments: ['teamIds', 'team-a'],
    },
    {
      name: 'teams without team roles',
      input: { teamIds: [TEAM_A], teamRoleNames: [] },
      fragments: ['teamIds', 'teamRoleNames'],
    },
    {
      name: 'teams with team roles omitted',
      input: { teamIds: [TEAM_A] },
      fragments: ['teamIds', 'teamRoleNames'],
    },
    {
      name: 'team roles without teams',
      input: { teamIds: [], teamRoleNames: ['schedules_reader'] },
      fragments: ['teamIds', 'teamRoleNames'],
    },
    {
      name: 'team roles with teams omitted',
      input: { roleNames: ['viewer'], teamRoleNames: ['api_keys_manage'] },
      fragments: ['teamIds', 'teamRoleNames'],
    },
  ])('rejects $name, naming the offending value', ({ input, fragments }) => {
    expectKeygateError(() => parseGrantsInput(catalogue, input), 'BAD_USER_INPUT', ...fragments);
  });
});

describe('Input rules: gracePeriodMinutes is an integer 0 to 60, default 30', () => {
  it.each([
    { input: undefined, expected: 30 },
    { input: null, expected: 30 },
    { input: 0, expected: 0 },
    { input: 1, expected: 1 },
    { input: 30, expected: 30 },
    { input: 59, expected: 59 },
    { input: 60, expected: 60 },
  ])('$input → $expected', ({ input, expected }) => {
    expect(parseGracePeriod(input)).toBe(expected);
  });

  it.each([-1, 61, 1000, 0.5, 59.9, Number.NaN, Number.POSITIVE_INFINITY, -0.1])('rejects %s', (input) => {
    expectKeygateError(() => parseGracePeriod(input), 'BAD_USER_INPUT', 'gracePeriodMinutes', String(input));
  });
});

describe('Input rules: first is 1 to 250, default 25', () => {
  it.each([
    { input: undefined, expected: 25 },
    { input: null, expected: 25 },
    { input: 1, expected: 1 },
    { input: 25, expected: 25 },
    { input: 249, expected: 249 },
    { input: 250, expected: 250 },
  ])('$input → $expected', ({ input, expected }) => {
    expect(parsePageSize(input)).toBe(expected);
  });

  it.each([0, -1, 251, 10_000, 2.5, Number.NaN])('rejects %s', (input) => {
    expectKeygateError(() => parsePageSize(input), 'BAD_USER_INPUT', 'first', String(input));
  });
});

describe('Input rules: cursors round trip; a malformed cursor is BAD_USER_INPUT', () => {
  const ids = [
    ulid(),
    ulid(0),
    ulid(Date.parse('2030-01-01T00:00:00Z')),
    '00000000000000000000000000',
    '7ZZZZZZZZZZZZZZZZZZZZZZZZZ',
  ];

  it.each(ids)('the cursor of %s decodes to it', (id) => {
    const cursor = encodeCursor(id);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toBe(id);
  });

  it('different ids give different cursors', () => {
    const many = Array.from({ length: 200 }, (_, index) => ulid(1_700_000_000_000 + index));
    expect(new Set(many.map((id) => encodeCursor(id))).size).toBe(many.length);
  });

  const valid = encodeCursor(ids[0] as string);
  const b64 = (text: string) => Buffer.from(text).toString('base64url');
  it.each([
    { name: 'the empty string', cursor: '' },
    { name: 'plain text', cursor: 'next page' },
    { name: 'symbols', cursor: '!!!' },
    { name: 'a bare id', cursor: ids[0] as string },
    { name: 'a cursor cut short', cursor: valid.slice(0, -4) },
    { name: 'a cursor with characters appended', cursor: `${valid}AAAA` },
    { name: 'a cursor with padding', cursor: `${valid}==` },
    { name: 'standard base64 characters', cursor: `${valid.slice(0, -1)}+` },
    { name: 'an id that is not a ULID', cursor: b64('apikey:not-a-ulid') },
    { name: 'a lowercase id', cursor: b64(`apikey:${(ids[0] as string).toLowerCase()}`) },
    { name: 'the wrong prefix', cursor: b64(`team:${ids[0]}`) },
    { name: 'no prefix', cursor: b64(ids[0] as string) },
    { name: 'an empty id', cursor: b64('apikey:') },
  ])('rejects $name', ({ cursor }) => {
    expectKeygateError(() => decodeCursor(cursor), 'BAD_USER_INPUT', 'cursor');
  });
});
