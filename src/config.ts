// Environment, parsed once. A bad value stops the process with a message naming the variable;
// values are never echoed back (DATABASE_URL may hold a password).
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65_535);

const envSchema = z.object({
  PORT: port.default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((url) => url === undefined || url === '' || /^postgres(ql)?:\/\//.test(url), {
      message: 'must be a postgresql:// URL (leave it unset for the embedded database)',
    }),
  KEYGATE_DATA_DIR: z.string().min(1).default('./data'),
  CORS_ORIGINS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().optional(),
  KEYGATE_LAST_USED_FLUSH_MS: z.coerce.number().int().min(10).max(600_000).default(5_000),
});

export type DatabaseConfig = { provider: 'sqlite'; dataDir: string } | { provider: 'postgresql'; url: string };

export interface Config {
  port: number;
  host: string;
  database: DatabaseConfig;
  corsOrigins: string[];
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  production: boolean;
  lastUsedFlushMs: number;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    database: e.DATABASE_URL
      ? { provider: 'postgresql', url: e.DATABASE_URL }
      : { provider: 'sqlite', dataDir: e.KEYGATE_DATA_DIR },
    corsOrigins: (e.CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
    lastUsedFlushMs: e.KEYGATE_LAST_USED_FLUSH_MS,
  };
}
