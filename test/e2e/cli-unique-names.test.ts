// Organization names became unique (case-insensitive) in migration 20261205210000: a database made
// before it may already hold clashing names. Migrating keeps the oldest organization's name and appends
// the id to the others, so each can still be named; then the index refuses new clashes, also from a
// writer that does not check first. Team names became unique (case-insensitive) within their
// organization in migration 20261205223000, the same way.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, migrationsDir } from '../../src/db/migrate.ts';
import { newId } from '../../src/domain/ids.ts';
import { databaseEnv, output, runCli } from '../helpers/cli-process.ts';
import { createTestDatabase, providers, type TestDatabase } from '../helpers/databases.ts';

const UNIQUE_NAMES = '20261205210000_unique_organization_names';
const UNIQUE_TEAM_NAMES = '20261205223000_unique_team_names';
const TIMEOUT = 60_000;

describe.each(providers)('unique organization names on %s', (provider) => {
  let t: TestDatabase | undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'keygate-names-'));
  afterEach(async () => {
    await t?.drop();
    rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * A new database migrated as it was before `migration`: the history then (its lock file, and every
   * migration named before it).
   */
  async function databaseBefore(migration: string): Promise<TestDatabase> {
    const before = join(scratch, 'migrations');
    const all = migrationsDir(provider);
    cpSync(all, before, {
      recursive: true,
      filter: (source) => {
        const top = relative(all, source).split(sep)[0] as string;
        return top === '' || top === 'migration_lock.toml' || top < migration;
      },
    });
    // Kept in `t` before migrating, so that afterEach drops it even when the migration fails.
    const database = await createTestDatabase(provider, { migrate: false });
    t = database;
    await migrate(database.database, { dir: before });
    return database;
  }

  it(
    'existing clashes are renamed by the migration; the index then refuses a clash',
    async () => {
      t = await databaseBefore(UNIQUE_NAMES);
      const ids = [newId(1_000), newId(2_000), newId(3_000), newId(4_000)];
      const names = ['Acme', 'ACME', 'acme', 'Other'];
      for (const [i, id] of ids.entries()) {
        await t.database.prisma.organization.create({ data: { id, name: names[i] as string } });
      }

      expect((await migrate(t.database)).applied).toContain(UNIQUE_NAMES);
      const rows = await t.database.prisma.organization.findMany({
        orderBy: { id: 'asc' },
        select: { id: true, name: true },
      });
      expect(rows).toEqual([
        { id: ids[0], name: 'Acme' },
        { id: ids[1], name: `ACME (${ids[1]})` },
        { id: ids[2], name: `acme (${ids[2]})` },
        { id: ids[3], name: 'Other' },
      ]);
      // Each one can be named again from the CLI.
      const env = databaseEnv(t.config as never, scratch);
      const listed = output<{ organizations: Array<{ id: string; name: string }> }>(await runCli(env, ['org', 'list']));
      expect(listed.organizations.map((o) => o.id).sort()).toEqual([...ids].sort());
      expect(output(await runCli(env, ['team', 'list', '--org', `ACME (${ids[1]})`]))).toEqual({ teams: [] });

      // The index itself refuses a clash that skips the domain's check.
      await expect(
        t.database.prisma.organization.create({ data: { id: newId(), name: 'oTHER' } }),
      ).rejects.toMatchObject({
        code: 'P2002',
      });
    },
    TIMEOUT,
  );
  it(
    'existing team name clashes are renamed by the migration; the index then refuses a clash',
    async () => {
      t = await databaseBefore(UNIQUE_TEAM_NAMES);
      const [acme, beta] = [newId(500), newId(600)];
      await t.database.prisma.organization.create({ data: { id: acme, name: 'Acme' } });
      await t.database.prisma.organization.create({ data: { id: beta, name: 'Beta' } });
      const ids = [newId(1_000), newId(2_000), newId(3_000), newId(4_000)];
      const teams = [
        { organizationId: acme, name: 'Ops' },
        { organizationId: acme, name: 'OPS' },
        { organizationId: beta, name: 'ops' },
        { organizationId: acme, name: 'Dev' },
      ];
      for (const [i, id] of ids.entries())
        await t.database.prisma.team.create({ data: { id, ...(teams[i] as (typeof teams)[number]) } });

      expect((await migrate(t.database)).applied).toContain(UNIQUE_TEAM_NAMES);
      const rows = await t.database.prisma.team.findMany({ orderBy: { id: 'asc' }, select: { id: true, name: true } });
      expect(rows).toEqual([
        { id: ids[0], name: 'Ops' },
        { id: ids[1], name: `OPS (${ids[1]})` },
        { id: ids[2], name: 'ops' },
        { id: ids[3], name: 'Dev' },
      ]);
      await expect(
        t.database.prisma.team.create({ data: { id: newId(), organizationId: acme, name: 'dEV' } }),
      ).rejects.toMatchObject({ code: 'P2002' });
    },
    TIMEOUT,
  );
});
