// The plan of a page's statement stays on the indexes that make its cost independent of the number of
// keys (docs/database.md): an account manager's page walks the organization's keys newest first and
// stops after the page; a team manager's page, and a page filtered by team, start from the keys of
// those teams. EXPLAIN on both databases, on 20,000 seeded keys, for the first page and a later one;
// on PostgreSQL for the generic plan (the prepared statement's, after its first executions) and the
// custom one. Without these indexes a page at 1M keys cost up to 1.1 s.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedKeys } from '../../bench/seed.ts';
import { SQLITE_FILE } from '../../src/db/client.ts';
import { visibleKeysSql } from '../../src/domain/access.ts';
import { type ListFilterInput, parseListFilter } from '../../src/domain/list-filter.ts';
import type { Prisma } from '../../src/generated/sqlite/client.ts';
import { pageStatement, rowLimit } from '../../src/store/key-page.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

const SEEDED_KEYS = 20_000;

describe.each(providers)('the plan of a page of keys on %s', (provider) => {
  let t: TestApp;
  let organizationId: string;
  let team: string;
  /** A key id in the middle of the organization's keys, for a later page. */
  let middleId: string;

  beforeAll(async () => {
    t = await createTestApp(provider);
    const org = await t.org();
    organizationId = org.id;
    team = await org.team();
    for (let i = 0; i < 5; i++) await org.key({ teams: [team], teamRoles: ['schedules_reader'] });
    const config = t.db.config;
    await seedKeys(
      config.provider === 'sqlite'
        ? { provider: 'sqlite', file: join(config.dataDir, SQLITE_FILE) }
        : { provider: 'postgresql', url: config.url },
      SEEDED_KEYS,
    );
    const [middle] = await t.db.database.prisma.apiKey.findMany({
      where: { organizationId },
      orderBy: { id: 'desc' },
      skip: SEEDED_KEYS / 2,
      take: 1,
      select: { id: true },
    });
    middleId = middle?.id ?? '';
  }, 180_000);
  afterAll(() => t.close());

  /** What visibility reads of a caller. */
  type Visibility = Parameters<typeof visibleKeysSql>[0];
  const accountManager = (): Visibility => ({ isAccountManager: true, managedTeamIds: [] });
  const teamManager = (): Visibility => ({ isAccountManager: false, managedTeamIds: [team] });

  const statement = (access: Visibility, after: boolean, filter?: ListFilterInput) =>
    pageStatement(
      t.domain.dialect,
      {
        organizationId,
        visible: visibleKeysSql(access),
        afterId: after ? middleId : null,
        filter: parseListFilter(filter),
      },
      rowLimit(50),
    ).statement;

  /** The plans of a statement: SQLite's one; PostgreSQL's generic and custom ones. */
  async function plans(sql: Prisma.Sql): Promise<string[]> {
    const raw = t.db.database.raw;
    if (raw.provider === 'sqlite') {
      const rows = raw.connection.prepare(`EXPLAIN QUERY PLAN ${sql.sql}`).all(...sql.values) as Array<{
        detail: string;
      }>;
      return [rows.map((row) => row.detail).join('\n')];
    }
    const client = await raw.pool.connect();
    try {
      const found: string[] = [];
      const values = sql.values.map((value) => client.escapeLiteral(String(value))).join(', ');
      for (const mode of ['force_generic_plan', 'force_custom_plan']) {
        await client.query(`SET plan_cache_mode = ${mode}`);
        await client.query(`PREPARE list_plan AS ${sql.text}`);
        try {
          const { rows } = await client.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN (COSTS OFF) EXECUTE list_plan(${values})`,
          );
          found.push(`${mode}:\n${rows.map((row) => row['QUERY PLAN']).join('\n')}`);
        } finally {
          await client.query('DEALLOCATE list_plan');
        }
      }
      await client.query('RESET plan_cache_mode');
      return found;
    } finally {
      client.release();
    }
  }

  /** The organization's keys, newest first, from an index: no scan of the table, no sort of its rows. */
  function walksTheOrganizationNewestFirst(plan: string): void {
    if (provider === 'sqlite') {
      expect(plan).toMatch(/SEARCH k USING INDEX ApiKey_organizationId_id_idx \(organizationId=\?/);
      expect(plan).not.toMatch(/SCAN k\b/);
      expect(plan).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
    } else {
      expect(plan).toMatch(/Index Scan Backward using "(ApiKey_pkey|ApiKey_organizationId_id_idx)" on "ApiKey" k/);
      expect(plan).not.toMatch(/Seq Scan on "ApiKey"/);
      expect(plan).not.toMatch(/Sort Key: k\.id/);
    }
  }

  /**
   * The grants of the page's keys come with their rows (the "grants" column the database's triggers keep,
   * docs/database.md): no grant table is read, whatever the number of keys.
   */
  function readsNoGrantTable(plan: string): void {
    expect(plan).not.toMatch(/ApiKeyRole|ApiKeyTeam/);
  }

  /** The keys of the team first (the team index of "ApiKeyTeam"), each key then found by its id. */
  function startsFromTheTeam(plan: string, alias: string): void {
    if (provider === 'sqlite') {
      expect(plan).toMatch(new RegExp(`SEARCH ${alias} USING INDEX ApiKeyTeam_teamId_idx \\(teamId=\\?\\)`));
      expect(plan).toMatch(/SEARCH k USING INDEX ApiKey_organizationId_id_idx \(organizationId=\? AND id=\?\)/);
      expect(plan).not.toMatch(/SCAN k\b/);
    } else {
      expect(plan).toMatch(/"ApiKeyTeam_teamId_idx"/);
      expect(plan).not.toMatch(/Seq Scan on "ApiKey" k/);
      expect(plan).not.toMatch(/Index Scan Backward using "(ApiKey_pkey|ApiKey_organizationId_id_idx)" on "ApiKey" k/);
    }
  }

  for (const after of [false, true]) {
    const page = after ? 'a later page' : 'the first page';

    it(`an account manager's ${page} walks the organization's keys newest first`, async () => {
      for (const plan of await plans(statement(accountManager(), after))) {
        walksTheOrganizationNewestFirst(plan);
        readsNoGrantTable(plan);
      }
    });

    it(`a team manager's ${page} starts from the keys of its teams`, async () => {
      for (const plan of await plans(statement(teamManager(), after))) startsFromTheTeam(plan, 'vt');
    });

    it(`${page} filtered by team starts from the keys of the team`, async () => {
      for (const plan of await plans(statement(accountManager(), after, { teamId: team }))) {
        startsFromTheTeam(plan, 'ft');
      }
    });

    it(`${page} filtered by name walks the organization's keys newest first`, async () => {
      for (const plan of await plans(statement(accountManager(), after, { nameContains: 'Key 1' }))) {
        walksTheOrganizationNewestFirst(plan);
      }
    });
  }
});
