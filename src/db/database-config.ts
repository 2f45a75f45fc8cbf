// Which database a process uses: PostgreSQL when DATABASE_URL is set, else the embedded one in
// KEYGATE_DATA_DIR. The CLI reads this alone, without src/config.ts: loading zod takes longer than a
// CLI list takes to answer. src/config.ts holds DATABASE_URL to the same pattern.

/** Which database, and where: the embedded file's directory, or the PostgreSQL URL. */
export type DatabaseConfig = { provider: 'sqlite'; dataDir: string } | { provider: 'postgresql'; url: string };

export const POSTGRES_URL_PATTERN = /^postgres(ql)?:\/\//;
export const DEFAULT_DATA_DIR = './data';

export class DatabaseConfigError extends Error {
  override name = 'DatabaseConfigError';
}

export function databaseConfig(env: NodeJS.ProcessEnv = process.env): DatabaseConfig {
  const url = env.DATABASE_URL;
  if (url) {
    if (!POSTGRES_URL_PATTERN.test(url)) {
      throw new DatabaseConfigError(
        'invalid environment: DATABASE_URL: must be a postgresql:// URL (leave it unset for the embedded database)',
      );
    }
    return { provider: 'postgresql', url };
  }
  return { provider: 'sqlite', dataDir: env.KEYGATE_DATA_DIR || DEFAULT_DATA_DIR };
}
