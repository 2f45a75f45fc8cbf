// Opening everything a process needs: database (migrated, roles seeded) and the domain.
import type { Config } from './config.ts';
import { type Database, openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import type { Domain } from './domain/api-keys.ts';
import { loadRoleCatalogue, seedRoles } from './domain/role-seed.ts';

export async function openRuntime(config: Pick<Config, 'database'>): Promise<{
  database: Database;
  domain: Domain;
  applied: string[];
}> {
  const database = await openDatabase(config.database);
  try {
    const { applied } = await migrate(database);
    await seedRoles(database.prisma);
    const catalogue = await loadRoleCatalogue(database.prisma);
    return { database, applied, domain: { db: database.prisma, catalogue, now: () => new Date() } };
  } catch (error) {
    await database.close();
    throw error;
  }
}
