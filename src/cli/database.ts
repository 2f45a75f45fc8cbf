// How CLI commands reach the database. Lists read through a plain driver connection (src/db/reader.ts),
// which starts in milliseconds; changes go through the full runtime (Prisma, migrations, the domain).
// Outside `serve` and `migrate`, a missing embedded database is an error, never a new empty one.
import { sql } from '@prisma/client-runtime-utils';
import type { Database } from '../db/client.ts';
import type { DatabaseConfig } from '../db/database-config.ts';
import { databaseConfig } from '../db/database-config.ts';
import { type OpenReader, openReader, type Reader, requireEmbeddedDatabase } from '../db/reader.ts';
import type { Domain } from '../domain/types.ts';

/** The database settings alone (the server's other settings are read by `serve`). */
export function cliDatabase(): DatabaseConfig {
  return databaseConfig();
}

/** Opens the migrated database and the domain (like the server), runs `run`, closes. */
export async function withRuntime<T>(
  run: (runtime: { domain: Domain; database: Database; applied: string[] }) => Promise<T>,
  options: { create?: boolean } = {},
): Promise<T> {
  const database = cliDatabase();
  if (database.provider === 'sqlite' && !options.create) requireEmbeddedDatabase(database.dataDir);
  const { maxKeysPerOrganizationIn } = await import('../config.ts');
  // Checked before the database is opened: a bad value changes nothing.
  const maxKeysPerOrganization = maxKeysPerOrganizationIn();
  const { openRuntime } = await import('../runtime.ts');
  // The server's limit of keys per organization holds for the keys the CLI creates too.
  const runtime = await openRuntime({ database, limits: { maxKeysPerOrganization } });
  try {
    return await run(runtime);
  } finally {
    await runtime.database.close();
  }
}

/** Names of the migrations this build has that the database has not applied (all of them on a new one). */
async function pendingMigrations(read: Reader, provider: DatabaseConfig['provider']): Promise<string[]> {
  const { readMigrations } = await import('../db/migrate.ts');
  const names = readMigrations(provider).map((migration) => migration.name);
  const table = provider === 'sqlite' ? sql`"_prisma_migrations"` : sql`_prisma_migrations`;
  let applied: Array<{ migration_name: string }>;
  try {
    applied = await read(
      sql`SELECT migration_name FROM ${table} WHERE rolled_back_at IS NULL AND finished_at IS NOT NULL`,
    );
  } catch {
    return names; // no history table: nothing was ever applied
  }
  const done = new Set(applied.map((row) => row.migration_name));
  return names.filter((name) => !done.has(name));
}

/**
 * Runs a read on a plain connection. A database this build has migrations for that it lacks is first
 * migrated through the runtime, as any other command would.
 */
export async function withReader<T>(run: (read: Reader) => Promise<T>): Promise<T> {
  const database = cliDatabase();
  let reader: OpenReader | null = await openReader(database);
  try {
    if ((await pendingMigrations(reader.read, database.provider)).length > 0) {
      await reader.close();
      reader = null;
      await withRuntime(async () => {});
      reader = await openReader(database);
    }
    return await run(reader.read);
  } finally {
    await reader?.close();
  }
}
