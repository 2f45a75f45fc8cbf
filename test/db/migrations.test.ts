// The runtime runner (src/db/migrate.ts) against Prisma's own engine, on both providers: the history
// it applies is exactly schema.prisma, and its `_prisma_migrations` is the one Prisma keeps.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, test } from 'vitest';
import { type Database, openDatabase, sqliteUrl } from '../../src/db/client.ts';
import type { DatabaseConfig } from '../../src/db/database-config.ts';
import { MigrationError, migrate, migrationsDir, readMigrations } from '../../src/db/migrate.ts';
import { applyMigrationsWithEngine, diffDatabaseToSchema, diffSchemas } from '../../src/db/schema-engine.ts';
import { generateToken, hashToken, tokenHashBytes } from '../../src/domain/tokens.ts';
import { tokenFinder } from '../../src/store/tokens.ts';
import { createEmptyDatabase, type Provider, providers } from '../helpers/databases.ts';

const schemaPath = { sqlite: 'prisma/schema.prisma', postgresql: 'prisma/postgresql/schema.prisma' } as const;
const schemaOf = (provider: Provider) => readFileSync(join(import.meta.dirname, '../..', schemaPath[provider]), 'utf8');

/** Everything opened by a test, closed and removed after it. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emptyDatabase(provider: Provider): Promise<DatabaseConfig> {
  const { config, remove } = await createEmptyDatabase(provider);
  cleanups.push(remove);
  return config;
}

async function open(config: DatabaseConfig): Promise<Database> {
  const database = await openDatabase(config);
  cleanups.push(() => database.close());
  return database;
}

/** A copy of the provider's migration history that a test may change. */
function historyCopy(provider: Provider): string {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-migrations-'));
  cpSync(migrationsDir(provider), dir, { recursive: true });
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function addMigration(dir: string, name: string, sql: string): void {
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'migration.sql'), sql);
}

type Row = Record<string, unknown>;

/** Read with the plain drivers, to see what is stored rather than what Prisma maps it to. */
async function rawQuery(config: DatabaseConfig, sql: string): Promise<Row[]> {
  if (config.provider === 'sqlite') {
    const db = new BetterSqlite3(sqliteUrl(config.dataDir).replace(/^file:/, ''), { readonly: true });
    try {
      return db.prepare(sql).all() as Row[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

const migrationRows = (config: DatabaseConfig) =>
  rawQuery(config, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');

function tableDefinition(config: DatabaseConfig): Promise<Row[]> {
  if (config.provider === 'sqlite') {
    return rawQuery(config, "SELECT sql FROM sqlite_master WHERE name LIKE '%prisma_migrations%'");
  }
  return rawQuery(
    config,
    `SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
       FROM information_schema.columns WHERE table_name = '_prisma_migrations'
     UNION ALL
     SELECT conname, pg_get_constraintdef(oid), NULL, NULL, NULL
       FROM pg_constraint WHERE conrelid = '_prisma_migrations'::regclass
     ORDER BY 1`,
  );
}

/** A row with its varying values (ids, times) replaced by their form. */
function rowShape(row: Row): Row {
  const form = (value: unknown) =>
    value instanceof Date ? 'Date' : typeof value === 'string' ? value.replace(/[0-9]/g, '0') : value;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  return {
    ...row,
    id: typeof row.id === 'string' && uuid.test(row.id) ? 'uuid v4' : row.id,
    started_at: form(row.started_at),
    finished_at: form(row.finished_at),
  };
}

/** schema.prisma with Organization.name optional: on SQLite, a table redefinition of a parent table. */
function withOptionalOrganizationName(schema: string): string {
  const changed = schema.replace(/(model Organization \{\n\s+id\s+String\s+@id\n\s+name\s+String)\n/, '$1?\n');
  expect(changed).not.toBe(schema);
  return changed;
}

describe.each(providers)('migrations on %s', (provider) => {
  const allNames = readMigrations(provider).map((migration) => migration.name);

  test('the history exists and its lock file names the provider', () => {
    expect(allNames.length).toBeGreaterThan(0);
    const lock = readFileSync(join(migrationsDir(provider), 'migration_lock.toml'), 'utf8');
    expect(lock).toContain(`provider = "${provider}"`);
    const other = provider === 'sqlite' ? 'postgresql' : 'sqlite';
    expect(() => readMigrations(other, migrationsDir(provider))).toThrow(`is for provider "${provider}"`);
  });

  test('applying the history yields exactly schema.prisma, and re-running applies nothing', async () => {
    const config = await emptyDatabase(provider);
    expect(await diffDatabaseToSchema(config, schemaOf(provider))).toContain('CREATE TABLE');
    const database = await open(config);

    expect(await migrate(database)).toEqual({ applied: allNames });
    expect(await diffDatabaseToSchema(config, schemaOf(provider))).toBe('');
    expect(await migrate(database)).toEqual({ applied: [] });
    expect(await migrationRows(config)).toHaveLength(allNames.length);
    await database.ping();
  });

  test('_prisma_migrations is the table and the rows Prisma writes', async () => {
    const byEngine = await emptyDatabase(provider);
    expect(await applyMigrationsWithEngine(byEngine, migrationsDir(provider), schemaOf(provider))).toEqual(allNames);
    const byRunner = await emptyDatabase(provider);
    const runnerClient = await openDatabase(byRunner);
    await migrate(runnerClient);
    // Closed before the engine touches the file: on SQLite it wants the database to itself.
    await runnerClient.close();

    expect(await tableDefinition(byRunner)).toEqual(await tableDefinition(byEngine));
    const engineRows = await migrationRows(byEngine);
    const runnerRows = await migrationRows(byRunner);
    expect(runnerRows.map(rowShape)).toEqual(engineRows.map(rowShape));
    for (const row of runnerRows) {
      expect(row).toMatchObject({ logs: null, rolled_back_at: null, applied_steps_count: 1 });
      expect(new Date(row.finished_at as string).getTime()).toBeGreaterThanOrEqual(
        new Date(row.started_at as string).getTime(),
      );
    }

    // Each reads the other's history: nothing left to apply either way.
    expect(await migrate(await open(byEngine))).toEqual({ applied: [] });
    expect(await applyMigrationsWithEngine(byRunner, migrationsDir(provider), schemaOf(provider))).toEqual([]);
  });

  test('an applied migration whose file was edited is refused', async () => {
    const dir = historyCopy(provider);
    const config = await emptyDatabase(provider);
    const database = await open(config);
    await migrate(database, { dir });
    appendFileSync(join(dir, allNames[0] as string, 'migration.sql'), '\n-- an innocent-looking edit\n');
    addMigration(dir, '29990101000000_later', 'CREATE TABLE "Later" ("id" TEXT NOT NULL PRIMARY KEY);\n');

    const refusal = migrate(database, { dir });
    await expect(refusal).rejects.toThrow(MigrationError);
    await expect(refusal).rejects.toThrow(`migration ${allNames[0]} was changed after it was applied`);
    expect(await migrationRows(config)).toHaveLength(allNames.length);
  });

  test('a failed migration recorded by Prisma is refused', async () => {
    const dir = historyCopy(provider);
    addMigration(
      dir,
      '29990101000000_broken',
      'CREATE TABLE "Broken" ("id" TEXT);\nCREATE TABLE "Broken" ("id" TEXT);\n',
    );
    const config = await emptyDatabase(provider);
    await expect(applyMigrationsWithEngine(config, dir, schemaOf(provider))).rejects.toThrow(/Broken/);

    await expect(migrate(await open(config), { dir })).rejects.toThrow('migration 29990101000000_broken (started');
  });

  test('a failing migration is rolled back whole and recorded nowhere; fixed, it applies', async () => {
    const dir = historyCopy(provider);
    const broken = join(dir, '29990101000000_two_tables', 'migration.sql');
    addMigration(
      dir,
      '29990101000000_two_tables',
      'CREATE TABLE "First" ("id" TEXT);\nCREATE TABLE "First" ("id" TEXT);\n',
    );
    const config = await emptyDatabase(provider);
    const database = await open(config);

    await expect(migrate(database, { dir })).rejects.toThrow('migration 29990101000000_two_tables failed');
    expect((await migrationRows(config)).map((row) => row.migration_name)).toEqual(allNames);
    expect(await diffDatabaseToSchema(config, schemaOf(provider))).toBe('');

    writeFileSync(broken, 'CREATE TABLE "First" ("id" TEXT);\n');
    expect(await migrate(database, { dir })).toEqual({ applied: ['29990101000000_two_tables'] });
  });

  test('a migration redefining a parent table keeps the rows of its child tables', async () => {
    const target = withOptionalOrganizationName(schemaOf(provider));
    const sql = await diffSchemas(schemaOf(provider), target, provider);
    if (provider === 'sqlite') expect(sql).toContain('DROP TABLE "Organization"');
    const dir = historyCopy(provider);
    const config = await emptyDatabase(provider);
    const database = await open(config);
    await migrate(database, { dir });
    await database.prisma.organization.create({ data: { id: 'org', name: 'Acme' } });
    await database.prisma.team.create({ data: { id: 'team', organizationId: 'org', name: 'Platform' } });

    addMigration(dir, '29990101000000_optional_org_name', sql);
    expect(await migrate(database, { dir })).toEqual({ applied: ['29990101000000_optional_org_name'] });

    expect(await database.prisma.team.count()).toBe(1);
    expect(await diffDatabaseToSchema(config, target)).toBe('');
    // The connection still enforces foreign keys afterwards.
    await expect(
      database.prisma.team.create({ data: { id: 'orphan', organizationId: 'nowhere', name: 'x' } }),
    ).rejects.toThrow();
  });

  test('dropping ApiKey.version keeps every key, grant, team and token of the keys, key_grants copies the grants, token_hash_bytes the hashes', async () => {
    const dir = historyCopy(provider);
    const dropped = '20261206055822_drop_api_key_version';
    // The database as it was before that migration: it and every later one held back.
    const later = readdirSync(dir).filter((name) => name >= dropped && !name.endsWith('.toml'));
    const held = mkdtempSync(join(tmpdir(), 'keygate-migrations-held-'));
    cleanups.push(async () => rmSync(held, { recursive: true, force: true }));
    for (const name of later) {
      cpSync(join(dir, name), join(held, name), { recursive: true });
      rmSync(join(dir, name), { recursive: true });
    }
    const config = await emptyDatabase(provider);
    const database = await open(config);
    await migrate(database, { dir });
    const at = new Date('2026-12-01T00:00:00Z');
    const { prisma } = database;
    await prisma.organization.create({ data: { id: 'org', name: 'Acme' } });
    await prisma.team.create({ data: { id: 'team', organizationId: 'org', name: 'Platform' } });
    const role = { description: 'd', scopes: 's', accountLevel: true, teamLevel: true, grantableViaApi: true };
    await prisma.role.createMany({
      data: [
        { name: 'r1', position: 1, ...role },
        { name: 'r2', position: 2, ...role },
      ],
    });
    // In SQL: this client writes (and reads back) the columns of the later migrations too.
    await prisma.$executeRaw`INSERT INTO "ApiKey" ("id", "organizationId", "name", "createdAt", "tokenLastIssuedAt")
      VALUES ('key', 'org', 'ci', ${at}, ${at})`;
    await prisma.apiKeyRole.create({ data: { apiKeyId: 'key', roleName: 'r1' } });
    await prisma.apiKeyTeam.create({ data: { apiKeyId: 'key', teamId: 'team' } });
    await prisma.apiKeyTeamRole.create({ data: { apiKeyId: 'key', roleName: 'r2' } });
    // A token as the history before token_hash_bytes stored it: its hash as hexadecimal text.
    const token = generateToken();
    await prisma.$executeRaw`INSERT INTO "ApiKeyToken" ("id", "apiKeyId", "hash", "createdAt")
      VALUES ('tok', 'key', ${hashToken(token)}, ${at})`;

    for (const name of later) cpSync(join(held, name), join(dir, name), { recursive: true });
    expect(await migrate(database, { dir })).toEqual({ applied: later });

    const counts = await Promise.all([
      prisma.apiKey.count(),
      prisma.apiKeyRole.count(),
      prisma.apiKeyTeam.count(),
      prisma.apiKeyTeamRole.count(),
      prisma.apiKeyToken.count(),
    ]);
    expect(counts).toEqual([1, 1, 1, 1, 1]);
    // The key_grants migration copied the grants written before it onto the key.
    const { grants } = await prisma.apiKey.findUniqueOrThrow({ where: { id: 'key' } });
    expect(JSON.parse(grants)).toEqual([['r1'], [['team', 'Platform']], ['r2']]);
    // token_hash_bytes turned the hash into its 32 bytes, and the token's lookup finds its key by it.
    const { hash } = await prisma.apiKeyToken.findUniqueOrThrow({ where: { id: 'tok' } });
    expect(Buffer.from(hash).equals(tokenHashBytes(token))).toBe(true);
    expect((await tokenFinder(database.raw)(hashToken(token)))?.key.id).toBe('key');
    expect(await diffDatabaseToSchema(config, schemaOf(provider))).toBe('');
  });

  test('two processes migrating one database at once apply each migration once', async () => {
    const dir = historyCopy(provider);
    // A slow migration widens the window in which an unguarded second runner would apply it again.
    const slow =
      provider === 'sqlite'
        ? 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) SELECT count(*) FROM n;\n'
        : 'SELECT pg_sleep(0.3);\n';
    addMigration(dir, '29990101000000_later', `CREATE TABLE "Later" ("id" TEXT NOT NULL PRIMARY KEY);\n${slow}`);
    const config = await emptyDatabase(provider);

    const results = await inTwoProcesses(config, dir);

    const applied = results.flatMap((result) => result.applied).sort();
    expect(applied).toEqual([...allNames, '29990101000000_later']);
    expect((await migrationRows(config)).map((row) => row.migration_name)).toEqual(applied);
  });
});

/** Runs migrate() in two child processes released at the same moment. */
async function inTwoProcesses(config: DatabaseConfig, dir: string): Promise<Array<{ applied: string[] }>> {
  const fixture = join(import.meta.dirname, 'fixtures/migrate-process.ts');
  const children = [0, 1].map(() =>
    spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify({ config, dir })], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  const outputs = children.map((child) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const ready = new Promise<void>((resolve) => {
      const check = () => stdout.includes('ready\n') && resolve();
      child.stdout.on('data', check);
    });
    const exited = once(child, 'exit').then(([code]) => {
      if (code !== 0) throw new Error(`migrate process exited with ${code}: ${stderr}`);
      return JSON.parse(stdout.slice(stdout.indexOf('ready\n') + 6)) as { applied: string[] };
    });
    return { ready, exited };
  });
  await Promise.race([Promise.all(outputs.map((output) => output.ready)), Promise.any(outputs.map((o) => o.exited))]);
  for (const child of children) child.stdin.write('go\n');
  return Promise.all(outputs.map((output) => output.exited));
}
