// Fresh, migrated databases for tests: a temp-dir SQLite file, or a PostgreSQL database with a random
// name created on the server at KEYGATE_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres)
// and dropped by drop(). KEYGATE_TEST_PROVIDERS=sqlite (or postgresql) narrows `providers`.
// A test database's sessions run in a time zone far from UTC (TEST_TIME_ZONE), as a server's may:
// times must not depend on it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Database, openDatabase, type Provider } from '../../src/db/client.ts';
import type { DatabaseConfig } from '../../src/db/database-config.ts';
import { migrate } from '../../src/db/migrate.ts';
import { loadRoleCatalogue, seedRoles } from '../../src/domain/role-seed.ts';
import type { Domain } from '../../src/domain/types.ts';
import { createDomain } from '../../src/runtime.ts';

export type { Provider };

export const providers: Provider[] = (process.env.KEYGATE_TEST_PROVIDERS ?? 'sqlite,postgresql')
  .split(',')
  .map((name) => name.trim())
  .filter((name): name is Provider => name === 'sqlite' || name === 'postgresql');

export const pgBaseUrl = process.env.KEYGATE_TEST_PG_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

/** The PostgreSQL session time zone of every test database: +12:45 or +13:45, never UTC. */
export const TEST_TIME_ZONE = 'Pacific/Chatham';

export interface TestDatabase {
  database: Database;
  config: DatabaseConfig;
  /** Closes the client and deletes the database. */
  drop(): Promise<void>;
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgBaseUrl });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** An empty database (no migrations applied) and a way to remove it. */
export async function createEmptyDatabase(
  provider: Provider,
): Promise<{ config: DatabaseConfig; remove(): Promise<void> }> {
  if (provider === 'sqlite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'keygate-test-'));
    return { config: { provider, dataDir }, remove: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const name = `keygate_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (admin) => {
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.query(`ALTER DATABASE ${name} SET "TimeZone" TO '${TEST_TIME_ZONE}'`);
  });
  const url = new URL(pgBaseUrl);
  url.pathname = `/${name}`;
  return {
    config: { provider, url: url.toString() },
    remove: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

/**
 * A fresh database with every migration applied. Pass `{ migrate: false }` to get it empty; `open`
 * goes to openDatabase.
 */
export async function createTestDatabase(
  provider: Provider,
  options: { migrate?: boolean; open?: Parameters<typeof openDatabase>[1] } = {},
): Promise<TestDatabase> {
  const { config, remove } = await createEmptyDatabase(provider);
  let database: Database | undefined;
  try {
    database = await openDatabase(config, options.open);
    if (options.migrate !== false) await migrate(database);
  } catch (error) {
    await database?.close();
    await remove();
    throw error;
  }
  const opened = database;
  return {
    database: opened,
    config,
    async drop() {
      await opened.close();
      await remove();
    },
  };
}

/** A TestDatabase on the embedded database, its data directory and the server's Domain over it. */
export type EmbeddedDomain = TestDatabase & { root: string; domain: Domain };

/**
 * A fresh embedded database with the roles seeded, the server's Domain over it, and its data directory
 * (`root`), for tests of the store below the API. `open` goes to openDatabase.
 */
export async function createEmbeddedDomain(open?: Parameters<typeof openDatabase>[1]): Promise<EmbeddedDomain> {
  const test = await createTestDatabase('sqlite', { open });
  const { database, config } = test;
  await seedRoles(database.prisma);
  const domain = createDomain(database, await loadRoleCatalogue(database.prisma));
  return { ...test, root: config.provider === 'sqlite' ? config.dataDir : '', domain };
}
