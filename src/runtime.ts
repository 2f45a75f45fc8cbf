// Opening everything a process needs: database (migrated, roles seeded) and the domain.

import { CHANNEL } from './auth/pg-invalidation.ts';
import type { Config } from './config.ts';
import { type Database, openDatabase } from './db/client.ts';
import { createDataStamp } from './db/data-stamp.ts';
import { migrate } from './db/migrate.ts';
import { createValueReader } from './db/raw-read.ts';
import type { Domain } from './domain/api-keys.ts';
import { ReadCache } from './domain/read-cache.ts';
import { loadRoleCatalogue, seedRoles } from './domain/role-seed.ts';
import type { RoleCatalogue } from './domain/roles.ts';
import { POSTGRESQL_DIALECT, SQLITE_DIALECT, writeAsOneStatement, writeOneByOne } from './domain/store.ts';

/**
 * The domain on a database; on PostgreSQL, a change's writes go as one statement that also tells other
 * Keygate processes. Shown and listed keys are served again while the database is unchanged.
 */
export function createDomain(database: Database, catalogue: RoleCatalogue, now: () => Date = () => new Date()): Domain {
  const postgresql = database.provider === 'postgresql';
  return {
    db: database.prisma,
    catalogue,
    dialect: postgresql ? POSTGRESQL_DIALECT : SQLITE_DIALECT,
    now,
    write: postgresql ? writeAsOneStatement(CHANNEL) : writeOneByOne,
    reads: new ReadCache(createDataStamp(database.raw)),
    readValue: createValueReader(database.raw, database.onQuery),
  };
}

export async function openRuntime(config: Pick<Config, 'database'>): Promise<{
  database: Database;
  domain: Domain;
  applied: string[];
}> {
  const database = await openDatabase(config.database);
  try {
    const { applied } = await withStartupLock(database, async () => {
      const result = await migrate(database);
      await seedRoles(database.prisma);
      return result;
    });
    const catalogue = await loadRoleCatalogue(database.prisma);
    return { database, applied, domain: createDomain(database, catalogue) };
  } catch (error) {
    await database.close();
    throw error;
  }
}

/**
 * Runs `fn` while holding a lock that other Keygate processes on the same database take for the same
 * purpose (a PostgreSQL advisory lock on a connection of its own), so that two processes starting on
 * an empty database bootstrap it once. The embedded database serves one process; no lock is needed.
 */
export async function withStartupLock<T>(database: Database, fn: () => Promise<T>): Promise<T> {
  if (database.raw.provider !== 'postgresql') return fn();
  const client = await database.raw.pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(72707370)');
    try {
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock(72707370)');
    }
  } finally {
    client.release();
  }
}
