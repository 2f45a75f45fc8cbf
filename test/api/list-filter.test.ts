// apiKeys(filter:) (docs/api.md, ApiKeyFilter) and Role.teamAssignable, through GraphQL over app.fetch:
// the same answers on both databases, cursors bound to their filter, kept pages kept per filter.
import { ulid } from 'ulidx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { TEAM_ASSIGNABLE_ROLES } from '../helpers/catalogue.ts';
import { providers } from '../helpers/databases.ts';

const LIST = `query($first: Int, $after: String, $filter: ApiKeyFilter) {
  apiKeys(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id name teamIds } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface Page {
  edges: Array<{ cursor: string; node: { id: string; name: string; teamIds: string[] } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
interface Filter {
  nameContains?: string;
  teamId?: string;
  expiringBefore?: string;
}

/** Names that LIKE patterns, Unicode case folding and lookalikes would get wrong. */
const NAMES = [
  'Prod deploy',
  'prod-backup',
  'PRODUCTION',
  'staging',
  '100% sure',
  '100 percent',
  'a_b',
  'axb',
  'back\\slash',
  'backslash',
  'Ärger',
  'ärger',
  'Straße',
  'STRASSE',
  'Ωmega',
  'ωmega',
  '日本語キー',
  'İstanbul',
  'istanbul',
];

describe.each(providers)('apiKeys(filter:) on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let manager: { id: string; token: string };
  /** Key id by name. */
  const ids = new Map<string, string>();

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    manager = await org.key({ roles: ['api_keys_manage'] }, 'the manager');
    for (const name of NAMES) ids.set(name, (await org.key({}, name)).id);
  });
  afterAll(() => t.close());

  async function list(
    token: string,
    variables: { first?: number; after?: string | null; filter?: Filter | null },
  ): Promise<Page> {
    const response = await t.gql<{ apiKeys: Page }>(token, LIST, variables);
    expect(response.errors).toBeUndefined();
    if (!response.data) throw new Error('no data');
    return response.data.apiKeys;
  }

  /** Every page under `filter`, pages of `size`; the names, newest first. */
  async function walk(token: string, filter: Filter | null, size = 250): Promise<string[]> {
    const names: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const page = await list(token, { first: size, after, filter });
      names.push(...page.edges.map((edge) => edge.node.name));
      if (!page.pageInfo.hasNextPage) return names;
      after = page.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  const named = (...names: string[]) => [...names].sort((a, b) => ((ids.get(a) ?? '') < (ids.get(b) ?? '') ? 1 : -1));

  describe('nameContains: a substring, ASCII letters in either case', () => {
    it('matches ASCII letters whatever their case', async () => {
      expect(await walk(manager.token, { nameContains: 'prod' })).toEqual(
        named('Prod deploy', 'prod-backup', 'PRODUCTION'),
      );
      expect(await walk(manager.token, { nameContains: 'PrOd-B' })).toEqual(['prod-backup']);
      expect(await walk(manager.token, { nameContains: 'MANAGER' })).toEqual(['the manager']);
    });

    it('takes %, _ and \\ as the characters they are, not as patterns', async () => {
      expect(await walk(manager.token, { nameContains: '%' })).toEqual(['100% sure']);
      expect(await walk(manager.token, { nameContains: '0%' })).toEqual(['100% sure']);
      expect(await walk(manager.token, { nameContains: '_' })).toEqual(['a_b']);
      expect(await walk(manager.token, { nameContains: '\\' })).toEqual(['back\\slash']);
      expect(await walk(manager.token, { nameContains: 'k\\s' })).toEqual(['back\\slash']);
    });

    it('matches other characters exactly as given, the same on both databases', async () => {
      expect(await walk(manager.token, { nameContains: 'Är' })).toEqual(['Ärger']);
      expect(await walk(manager.token, { nameContains: 'ÄR' })).toEqual(['Ärger']);
      expect(await walk(manager.token, { nameContains: 'är' })).toEqual(['ärger']);
      expect(await walk(manager.token, { nameContains: 'RGER' })).toEqual(named('Ärger', 'ärger'));
      expect(await walk(manager.token, { nameContains: 'ß' })).toEqual(['Straße']);
      expect(await walk(manager.token, { nameContains: 'strass' })).toEqual(['STRASSE']);
      expect(await walk(manager.token, { nameContains: 'Ω' })).toEqual(['Ωmega']);
      expect(await walk(manager.token, { nameContains: 'MEGA' })).toEqual(named('Ωmega', 'ωmega'));
      expect(await walk(manager.token, { nameContains: '本語' })).toEqual(['日本語キー']);
      expect(await walk(manager.token, { nameContains: 'İ' })).toEqual(['İstanbul']);
      expect(await walk(manager.token, { nameContains: 'ISTANBUL' })).toEqual(['istanbul']);
      expect(await walk(manager.token, { nameContains: 'nothing like it' })).toEqual([]);
    });

    it('is 1 to 200 characters, without NUL: otherwise BAD_USER_INPUT naming filter.nameContains', async () => {
      for (const nameContains of ['', 'x'.repeat(201), 'a\u0000b']) {
        const response = await t.gql(manager.token, LIST, { filter: { nameContains } });
        expect(response.code, nameContains).toBe('BAD_USER_INPUT');
        expect(response.errors?.[0]?.message).toContain('filter.nameContains');
      }
      expect(await walk(manager.token, { nameContains: '😀'.repeat(200) })).toEqual([]);
    });
  });

  describe('teamId: keys that have the team among their teamIds', () => {
    let a: string;
    let b: string;
    const inTeams = new Map<string, string>();

    beforeAll(async () => {
      [a, b] = [await org.team(), await org.team()];
      const grants = (teams: string[]) => ({ teams, teamRoles: ['schedules_reader'] });
      for (const [name, teams] of [
        ['team a key', [a]],
        ['team b key', [b]],
        ['team a and b key', [a, b]],
        ['Team A viewer', [a]],
      ] as const) {
        inTeams.set(name, (await org.key({ ...grants([...teams]), roles: [] }, name)).id);
      }
    });

    it('lists the keys of the team, alone or with nameContains (both must hold)', async () => {
      expect(await walk(manager.token, { teamId: a })).toEqual(['Team A viewer', 'team a and b key', 'team a key']);
      expect(await walk(manager.token, { teamId: b })).toEqual(['team a and b key', 'team b key']);
      expect(await walk(manager.token, { teamId: a, nameContains: 'TEAM A K' })).toEqual(['team a key']);
      expect(await walk(manager.token, { teamId: b, nameContains: 'viewer' })).toEqual([]);
    });

    it('a team of no key, or of another organization, lists nothing', async () => {
      expect(await walk(manager.token, { teamId: ulid() })).toEqual([]);
      const other = await t.org();
      const theirs = await other.team();
      await other.key({ teams: [theirs], teamRoles: ['schedules_reader'] });
      expect(await walk(manager.token, { teamId: theirs })).toEqual([]);
    });

    it('a team manager still sees only its visible keys', async () => {
      const teamManager = await org.key({ teams: [a], teamRoles: ['api_keys_manage'] }, 'team a manager');
      expect(await walk(teamManager.token, { teamId: a })).toEqual(['team a manager', 'Team A viewer', 'team a key']);
      expect(await walk(teamManager.token, { teamId: b })).toEqual([]);
    });

    it('an id that is not a ULID is BAD_USER_INPUT naming filter.teamId', async () => {
      const response = await t.gql(manager.token, LIST, { filter: { teamId: 'team-a' } });
      expect(response.code).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toContain('filter.teamId');
    });
  });

  describe('a cursor is valid only with the filter it was issued under', () => {
    it('walks the filtered keys exactly once whatever the page size', async () => {
      const all = await walk(manager.token, { nameContains: 'a' });
      expect(all.length).toBeGreaterThan(5);
      for (const size of [1, 2, 5]) expect(await walk(manager.token, { nameContains: 'A' }, size)).toEqual(all);
    });

    it('another filter, or none, is BAD_USER_INPUT naming the cursor; the same filter spelt otherwise is not', async () => {
      const filtered = await list(manager.token, { first: 1, filter: { nameContains: 'prod' } });
      const unfiltered = await list(manager.token, { first: 1 });
      const cursor = filtered.pageInfo.endCursor;
      const misuses: Array<{ after: string | null; filter: Filter | null }> = [
        { after: cursor, filter: null },
        { after: cursor, filter: { nameContains: 'pro' } },
        { after: cursor, filter: { nameContains: 'prod', teamId: ulid() } },
        { after: unfiltered.pageInfo.endCursor, filter: { nameContains: 'prod' } },
      ];
      for (const variables of misuses) {
        const response = await t.gql(manager.token, LIST, { first: 1, ...variables });
        expect(response.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
        expect(response.data).toBeNull();
        expect(response.errors?.[0]?.message).toMatch(/cursor.*filter/);
      }
      const next = await list(manager.token, { first: 5, after: cursor, filter: { nameContains: 'PROD' } });
      expect(next.edges.map((edge) => edge.node.name)).toEqual(
        named('Prod deploy', 'prod-backup', 'PRODUCTION').slice(1),
      );
    });
  });

  it('pages read under different filters are kept apart (nothing committed in between)', async () => {
    const first = await list(manager.token, { first: 3 });
    const prod = await list(manager.token, { first: 3, filter: { nameContains: 'prod' } });
    const staging = await list(manager.token, { first: 3, filter: { nameContains: 'staging' } });
    const again = await list(manager.token, { first: 3, filter: { nameContains: 'prod' } });
    expect(prod.edges.map((edge) => edge.node.name)).toEqual(named('Prod deploy', 'prod-backup', 'PRODUCTION'));
    expect(staging.edges.map((edge) => edge.node.name)).toEqual(['staging']);
    expect(again).toEqual(prod);
    expect(first.edges.map((edge) => edge.node.name)).not.toEqual(prod.edges.map((edge) => edge.node.name));
  });

  it('expiringBefore lists the keys whose expiresAt is set and earlier, alone and with the other conditions', async () => {
    const other = await t.org();
    const admin = await other.key({ roles: ['api_keys_manage'] }, 'admin');
    const day = 86_400_000;
    const at = (days: number) => new Date(Date.now() + days * day);
    const soonAt = at(2);
    const soon = await other.key({}, 'prod soon', soonAt);
    const later = await other.key({}, 'prod later', at(20));
    await other.key({}, 'never');
    const soonStaging = await other.key({}, 'staging soon', at(3));
    const cutoff = at(10).toISOString();
    const names = async (filter: Filter) => (await list(admin.token, { filter })).edges.map((edge) => edge.node.id);
    expect(await names({ expiringBefore: cutoff })).toEqual([soonStaging.id, soon.id]);
    expect(await names({ expiringBefore: cutoff, nameContains: 'prod' })).toEqual([soon.id]);
    expect(await names({ expiringBefore: at(30).toISOString() })).toEqual([soonStaging.id, later.id, soon.id]);
    // The bound is exclusive: a key expiring exactly then is not listed.
    expect(await names({ expiringBefore: soonAt.toISOString() })).toEqual([]);
    expect(await names({ expiringBefore: new Date(soonAt.getTime() + 1).toISOString() })).toEqual([soon.id]);
  });

  it('expiringBefore must be a DateTime', async () => {
    const response = await t.gql(manager.token, LIST, { filter: { expiringBefore: 'next week' } });
    expect(response.code).toBe('BAD_USER_INPUT');
  });

  it('a DateTime outside the years 0001 to 9999 (in UTC) is BAD_USER_INPUT on both databases, the range named for a literal', async () => {
    // PostgreSQL has no year 0, and SQLite's text times have four-digit years: neither database is asked.
    for (const outside of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00', '9999-12-31T23:59:59-01:00']) {
      const response = await t.gql(manager.token, LIST, { filter: { expiringBefore: outside } });
      expect(response.status).toBe(200);
      expect(response.code).toBe('BAD_USER_INPUT');
      // graphql-jit, which coerces variables, names the value and the type, not the scalar's reason.
      expect(response.errors?.[0]?.message).toContain(`"${outside}"; Expected type DateTime`);
    }
    const inline = await t.gql(
      manager.token,
      '{ apiKeys(filter: { expiringBefore: "0000-06-01T00:00:00Z" }) { edges { cursor } } }',
    );
    expect(inline.code).toMatch(/BAD_USER_INPUT|GRAPHQL_VALIDATION_FAILED/);
    expect(inline.errors?.[0]?.message).toMatch(/9999-12-31T23:59:59\.999Z/);
    // The edges of the range are times like any other.
    for (const edge of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']) {
      const response = await t.gql(manager.token, LIST, { filter: { expiringBefore: edge } });
      expect(response.errors).toBeUndefined();
    }
  });

  it('Role.teamAssignable says which roles may be granted as team roles', async () => {
    const response = await t.gql<{ roles: Array<{ name: string; teamAssignable: boolean }> }>(
      manager.token,
      '{ roles { name teamAssignable } }',
    );
    const assignable = new Map(response.data?.roles.map((role) => [role.name, role.teamAssignable]));
    expect(assignable.get('viewer')).toBe(false);
    expect(assignable.get('schedules_reader')).toBe(true);
    expect(assignable.get('api_keys_manage')).toBe(true);
    expect(assignable.get('postmortems_manage')).toBe(false);
    const teamRoles = [...assignable].filter(([, team]) => team).map(([name]) => name);
    expect(teamRoles.sort()).toEqual([...TEAM_ASSIGNABLE_ROLES].sort());
  });
});
