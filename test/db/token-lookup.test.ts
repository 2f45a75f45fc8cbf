// The token lookup (src/store/tokens.ts): each hash gets its own token's key and grants, or null, also
// when many are asked for at once; on PostgreSQL the hashes asked for in one turn of the event loop
// share one statement (the grants come with each key's row), and a failed statement fails the lookups
// of its batch only.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLookup } from '../../src/auth/token-lookup.ts';
import type { RawDriver } from '../../src/db/client.ts';
import { generateToken, hashToken } from '../../src/domain/tokens.ts';
import { TOKEN_OF_HASH_SQL, TOKENS_OF_HASHES_SQL } from '../../src/store/tokens.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

interface Keys {
  plain: { id: string; token: string };
  granted: { id: string; token: string };
  bare: { id: string; token: string };
  team: string;
}

async function makeKeys(org: Org): Promise<Keys> {
  const team = await org.team();
  return {
    plain: await org.key({ roles: ['viewer'] }),
    granted: await org.key({ roles: ['viewer', 'api_keys_manage'], teams: [team], teamRoles: ['schedules_editor'] }),
    bare: await org.key({}),
    team,
  };
}

describe.each(providers)('token lookup on %s', (provider) => {
  let t: TestApp;
  let keys: Keys;
  beforeAll(async () => {
    t = await createTestApp(provider);
    keys = await makeKeys(await t.org());
  });
  afterAll(() => t.close());

  it('answers hashes asked for together each with its own key and grants, and null for unknown ones', async () => {
    const { find } = createTokenLookup(t.db.database.raw);
    const unknown = hashToken(generateToken());
    const [plain, granted, bare, none, again] = await Promise.all([
      find(hashToken(keys.plain.token)),
      find(hashToken(keys.granted.token)),
      find(hashToken(keys.bare.token)),
      find(unknown),
      find(hashToken(keys.plain.token)),
    ]);
    expect(plain?.key.id).toBe(keys.plain.id);
    expect(plain?.grants).toEqual([['viewer'], [], []]);
    expect(again?.key.id).toBe(keys.plain.id);
    expect(granted?.key.id).toBe(keys.granted.id);
    const [roleNames, teams, teamRoleNames] = granted?.grants ?? [[], [], []];
    expect([...roleNames].sort()).toEqual(['api_keys_manage', 'viewer']);
    expect(teams).toEqual([[keys.team, expect.stringMatching(/^team /)]]);
    expect(teamRoleNames).toEqual(['schedules_editor']);
    expect(bare?.key.id).toBe(keys.bare.id);
    expect(bare?.grants).toEqual([[], [], []]);
    expect(none).toBeNull();
    expect(plain?.key.createdAt).toBeInstanceOf(Date);
  });
});

/** The raw driver of a test app on PostgreSQL. */
function pgDriver(t: TestApp): Extract<RawDriver, { provider: 'postgresql' }> {
  const raw = t.db.database.raw;
  if (raw.provider !== 'postgresql') throw new Error('expected PostgreSQL');
  return raw;
}

/** The pool of a PostgreSQL driver, counting connections taken and statements sent; `fail` makes the next connect fail. */
function countingPool(pool: pg.Pool) {
  const counts = { connects: 0, statements: [] as string[], fail: false };
  const counting = {
    async connect() {
      counts.connects++;
      if (counts.fail) {
        counts.fail = false;
        throw new Error('connection refused (test)');
      }
      const client = await pool.connect();
      return {
        query: (config: { name?: string }) => {
          counts.statements.push(config.name ?? '?');
          return client.query(config as pg.QueryConfig);
        },
        release: () => client.release(),
      };
    },
  };
  return { counts, pool: counting as unknown as pg.Pool };
}

describe.runIf(providers.includes('sqlite'))('token lookup on sqlite', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(() => t.close());

  it("searches the hash's unique index with the bytes of the hexadecimal text asked for; no table scanned", () => {
    const raw = t.db.database.raw;
    if (raw.provider !== 'sqlite') throw new Error('expected SQLite');
    const plan = raw.connection
      .prepare<{ hash: string }, { detail: string }>(`EXPLAIN QUERY PLAN ${TOKEN_OF_HASH_SQL}`)
      .all({ hash: hashToken(generateToken()) })
      .map((row) => row.detail)
      .join('\n');
    expect(plan).toMatch(/SEARCH t USING INDEX ApiKeyToken_hash_key \(hash=\?\)/);
    expect(plan).toMatch(/SEARCH k USING INDEX sqlite_autoindex_ApiKey_1 \(id=\?\)/);
    expect(plan).not.toMatch(/SCAN/);
  });
});

describe.runIf(providers.includes('postgresql'))('token lookup on postgresql: lookups asked for together', () => {
  let t: TestApp;
  let keys: Keys;
  beforeAll(async () => {
    t = await createTestApp('postgresql');
    keys = await makeKeys(await t.org());
  });
  afterAll(() => t.close());

  /** A lookup on the database's pool, counted (countingPool). */
  const countedLookup = () => {
    const raw = pgDriver(t);
    const { counts, pool } = countingPool(raw.pool);
    return { counts, find: createTokenLookup({ ...raw, pool } as RawDriver).find };
  };

  it('share one statement, which also brings the grants of the keys found', async () => {
    const { counts, find } = countedLookup();
    const made = Array.from({ length: 20 }, () => hashToken(generateToken()));
    const found = await Promise.all([...made.map(find), find(hashToken(keys.granted.token))]);
    expect(found.slice(0, 20)).toEqual(made.map(() => null));
    expect(found[20]?.key.id).toBe(keys.granted.id);
    const [roleNames, teams, teamRoleNames] = found[20]?.grants ?? [[], [], []];
    expect([...roleNames].sort()).toEqual(['api_keys_manage', 'viewer']);
    expect(teams.map(([id]) => id)).toEqual([keys.team]);
    expect(teamRoleNames).toEqual(['schedules_editor']);
    expect(counts.connects).toBe(1);
    expect(counts.statements).toEqual(['keygate_tokens_lookup']);
  });

  it('go out in statements of at most 500 hashes when a flood comes in one turn', async () => {
    const { counts, find } = countedLookup();
    const made = Array.from({ length: 1200 }, () => hashToken(generateToken()));
    const found = await Promise.all([...made.map(find), find(hashToken(keys.plain.token))]);
    expect(found.filter((match) => match !== null).map((match) => match?.key.id)).toEqual([keys.plain.id]);
    expect(counts.statements.filter((name) => name === 'keygate_tokens_lookup')).toHaveLength(3);
  });

  it('a failed statement fails every lookup of its batch, and the next lookups are answered', async () => {
    const { counts, find } = countedLookup();
    counts.fail = true;
    const batch = await Promise.allSettled([find(hashToken(keys.plain.token)), find(hashToken(generateToken()))]);
    expect(batch.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await find(hashToken(keys.plain.token)))?.key.id).toBe(keys.plain.id);
  });
});

describe.runIf(providers.includes('postgresql'))(
  'token lookup on postgresql: the plans of the batched statements',
  () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp('postgresql');
      const org = await t.org();
      const { team } = await makeKeys(org);
      // A thousand keys with a token and a grant of each kind, analyzed: the size of the benchmark's
      // small database, at which a plan for `= ANY($1)` scanned "ApiKeyToken", "ApiKey" and the grant
      // tables whole.
      const raw = pgDriver(t);
      await raw.pool.query(
        `INSERT INTO "ApiKey" ("id", "organizationId", "name", "createdAt", "tokenLastIssuedAt")
         SELECT 'PLAN' || lpad(i::text, 22, '0'), $1, 'plan ' || i, now(), now() FROM generate_series(1, 1000) i`,
        [org.id],
      );
      await raw.pool.query(`INSERT INTO "ApiKeyRole" ("apiKeyId", "roleName")
        SELECT "id", 'viewer' FROM "ApiKey" WHERE "id" LIKE 'PLAN%'`);
      await raw.pool.query(`INSERT INTO "ApiKeyToken" ("id", "apiKeyId", "hash", "createdAt")
        SELECT 'T' || "id", "id", sha256("id"::bytea), now() FROM "ApiKey" WHERE "id" LIKE 'PLAN%'`);
      await raw.pool.query(
        `INSERT INTO "ApiKeyTeam" ("apiKeyId", "teamId") SELECT "id", $1 FROM "ApiKey" WHERE "id" LIKE 'PLAN%'`,
        [team],
      );
      await raw.pool.query(`INSERT INTO "ApiKeyTeamRole" ("apiKeyId", "roleName")
        SELECT "id", 'schedules_editor' FROM "ApiKey" WHERE "id" LIKE 'PLAN%'`);
      await raw.pool.query('ANALYZE');
    });
    afterAll(() => t.close());

    /** The plan PostgreSQL keeps for `text` once prepared: its generic plan, made for any array. */
    async function genericPlan(text: string): Promise<string> {
      const client = await pgDriver(t).pool.connect();
      try {
        await client.query('SET plan_cache_mode = force_generic_plan');
        await client.query(`PREPARE planned(text[]) AS ${text}`);
        const { rows } = await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN EXECUTE planned(ARRAY['${'0'.repeat(64)}', '${'1'.repeat(64)}'])`,
        );
        return rows.map((row) => row['QUERY PLAN']).join('\n');
      } finally {
        // The pool's connection goes back as it came; after a PREPARE that failed, its error is the one reported.
        await client.query('DEALLOCATE planned').catch(() => undefined);
        await client.query('RESET plan_cache_mode');
        client.release();
      }
    }

    it('tokens: an index lookup of each hash, then its key by id; no table scanned', async () => {
      const plan = await genericPlan(TOKENS_OF_HASHES_SQL);
      expect(plan).toMatch(/Index Scan using "ApiKeyToken_hash_key" on "ApiKeyToken"/);
      expect(plan).toMatch(/Index Scan using "ApiKey_pkey" on "ApiKey"/);
      expect(plan).not.toMatch(/Seq Scan/);
    });

    it('it is planned once: after its first five executions PostgreSQL runs it on its generic plan', async () => {
      // Planned for the values of each execution (one hash or a few), the statement cost about 0.15 ms
      // of PostgreSQL's CPU more per lookup, every time (src/store/tokens.ts). One connection, the
      // statement prepared under a name of this test's and run as lookups run it, with 1 to 3 values.
      const client = await pgDriver(t).pool.connect();
      const name = 'plan_count_tokens';
      try {
        for (let i = 0; i < 20; i++) {
          const values = [Array.from({ length: 1 + (i % 3) }, () => hashToken(generateToken()))];
          await client.query({ name, text: TOKENS_OF_HASHES_SQL, values });
        }
        const { rows } = await client.query<{ generic_plans: string; custom_plans: string }>(
          'SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1',
          [name],
        );
        expect({ custom: Number(rows[0]?.custom_plans), generic: Number(rows[0]?.generic_plans) }).toEqual({
          custom: 5,
          generic: 15,
        });
      } finally {
        // The connection holds the statement under a name of this test's: it is closed, not pooled.
        client.release(true);
      }
    });
  },
);
