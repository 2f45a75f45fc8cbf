// scripts/migration.ts authors the next migration for both providers from a schema change.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { authorMigrations, NothingToMigrate } from '../../scripts/migration.ts';
import { migrationsDir, readMigrations } from '../../src/db/migrate.ts';
import { diffSchemas } from '../../src/db/schema-engine.ts';
import { type Provider, providers } from '../helpers/databases.ts';

const sqliteSchema = readFileSync(join(import.meta.dirname, '../../prisma/schema.prisma'), 'utf8');
const removals: string[] = [];
afterEach(() => {
  for (const dir of removals.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function historyCopies(): Record<Provider, string> {
  const copy = (provider: Provider) => {
    const dir = mkdtempSync(join(tmpdir(), `keygate-${provider}-history-`));
    cpSync(migrationsDir(provider), dir, { recursive: true });
    removals.push(dir);
    return dir;
  };
  return { sqlite: copy('sqlite'), postgresql: copy('postgresql') };
}

test.skipIf(providers.length < 2)('with no schema change it refuses and writes nothing', async () => {
  const dirs = historyCopies();
  await expect(authorMigrations({ name: 'nothing', dirs })).rejects.toThrow(NothingToMigrate);
  expect(readdirSync(dirs.sqlite)).toEqual(readdirSync(migrationsDir('sqlite')));
  expect(readdirSync(dirs.postgresql)).toEqual(readdirSync(migrationsDir('postgresql')));
});

test.skipIf(providers.length < 2)('a schema change becomes one same-named migration per provider', async () => {
  const dirs = historyCopies();
  const changed = sqliteSchema.replace(
    '  slackUserId    String?\n',
    '  slackUserId    String?\n  timezone       String?\n',
  );
  expect(changed).not.toBe(sqliteSchema);

  const written = await authorMigrations({
    name: 'add_timezone',
    sqliteSchema: changed,
    dirs,
    now: new Date('2999-01-02T03:04:05Z'),
  });

  expect(written.map((entry) => [entry.provider, entry.path])).toEqual([
    ['sqlite', join(dirs.sqlite, '29990102030405_add_timezone', 'migration.sql')],
    ['postgresql', join(dirs.postgresql, '29990102030405_add_timezone', 'migration.sql')],
  ]);
  expect(readFileSync(join(dirs.sqlite, '29990102030405_add_timezone', 'migration.sql'), 'utf8')).toBe(
    await diffSchemas(sqliteSchema, changed, 'sqlite'),
  );
  expect(written[1]?.sql).toContain('ADD COLUMN     "timezone" TEXT');
  expect(readMigrations('postgresql', dirs.postgresql).at(-1)?.name).toBe('29990102030405_add_timezone');
  // The new history builds the changed schema: authoring again finds nothing.
  await expect(
    authorMigrations({ name: 'again', sqliteSchema: changed, dirs, now: new Date('2999-01-02T03:04:06Z') }),
  ).rejects.toThrow(NothingToMigrate);
  // A clock behind the newest migration would put the new one before it.
  await expect(authorMigrations({ name: 'old', sqliteSchema, dirs, now: new Date('2000-01-01') })).rejects.toThrow(
    'would not sort after',
  );
});
