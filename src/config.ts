// Environment, parsed once. A bad value stops the process with a message naming the variable;
// values are never echoed back (DATABASE_URL may hold a password).
import { z } from 'zod';
import { type DatabaseConfig, POSTGRES_URL_PATTERN } from './db/database-config.ts';
import { DEFAULT_MAX_KEYS_PER_ORGANIZATION } from './domain/quotas.ts';

/** GraphQL abuse limits: every request document and body is held to these. */
export interface Limits {
  /** Deepest selection nesting (the schema's deepest useful path is 6). */
  maxDepth: number;
  /** Aliases in one document. */
  maxAliases: number;
  /** Lexical tokens in one document (GraphiQL's introspection query has under 200). */
  maxTokens: number;
  /** Directives in one document. */
  maxDirectives: number;
  /**
   * graphql-armor's cost estimate of one operation (a literal `first: N` multiplies its field's cost by
   * N): the largest page, apiKeys(first: 250) with every field, costs about 45,000.
   */
  maxCost: number;
  /** Bytes of one request body. */
  maxBodyBytes: number;
  /** API keys one organization may hold (a creation past it is refused); 0 means no limit. */
  maxKeysPerOrganization: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxDepth: 8,
  maxAliases: 15,
  maxTokens: 1_000,
  maxDirectives: 10,
  maxCost: 50_000,
  maxBodyBytes: 100 * 1_024,
  maxKeysPerOrganization: DEFAULT_MAX_KEYS_PER_ORGANIZATION,
};

export interface RateLimitConfig {
  /** Requests per API key per minute; 0 means no limit. */
  perKeyPerMinute: number;
  /** Failed authentications per client address per minute; 0 means no limit. */
  failedAuthPerMinute: number;
  /**
   * Cost (the estimate the cost limit uses) an API key may spend per minute; 0 means no limit. Sized so
   * that a dashboard or a script paging through every key never meets it, while a key sending the
   * most expensive documents allowed many times a second does.
   */
  costBudgetPerKeyPerMinute: number;
  /** Shared counters across processes when set; in-memory (per process) otherwise. */
  redisUrl?: string;
  /** Prefix of every Redis key the limits write. */
  prefix: string;
  /** Verifications per API key per minute (docs/rules.md, Verification); 0 means no limit; default 1,200. */
  verifyPerKeyPerMinute?: number;
  /**
   * Header that carries the client address, set by a trusted reverse proxy (e.g. x-forwarded-for: its
   * last entry is used). Unset: the TCP peer address, and no header is trusted.
   */
  clientAddressHeader?: string;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  perKeyPerMinute: 1_200,
  failedAuthPerMinute: 60,
  costBudgetPerKeyPerMinute: 3_000_000,
  prefix: 'keygate:rl:',
};

/** An empty variable (METRICS_PORT=) means unset, as if it were not there. */
const emptyIsUnset = (value: unknown) => (value === '' ? undefined : value);

const port = z.coerce.number().int().min(0).max(65_535);

const envSchema = z.object({
  PORT: port.default(4000),
  // Prometheus metrics on a listener of their own (src/observability/metrics.ts); unset: none.
  METRICS_PORT: z.preprocess(emptyIsUnset, port.optional()),
  // OpenTelemetry tracing (src/observability/tracing.ts): OTLP/HTTP endpoint, e.g. http://collector:4318;
  // unset: no tracing. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL of /v1/traces) is honoured too.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(emptyIsUnset, z.url().optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.preprocess(emptyIsUnset, z.url().optional()),
  OTEL_SERVICE_NAME: z.string().min(1).default('keygate'),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((url) => url === undefined || url === '' || POSTGRES_URL_PATTERN.test(url), {
      message: 'must be a postgresql:// URL (leave it unset for the embedded database)',
    }),
  KEYGATE_DATA_DIR: z.string().min(1).default('./data'),
  CORS_ORIGINS: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().optional(),
  // Every request is answered within this bound (SERVICE_UNAVAILABLE past it, nothing written).
  KEYGATE_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  KEYGATE_LAST_USED_FLUSH_MS: z.coerce.number().int().min(10).max(600_000).default(5_000),
  // GraphQL abuse limits (graphql-armor and Yoga); see README "Limits and rate limits".
  KEYGATE_MAX_DEPTH: z.coerce.number().int().min(1).max(100).default(DEFAULT_LIMITS.maxDepth),
  KEYGATE_MAX_ALIASES: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_LIMITS.maxAliases),
  KEYGATE_MAX_TOKENS: z.coerce.number().int().min(10).max(100_000).default(DEFAULT_LIMITS.maxTokens),
  KEYGATE_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(1_000).default(DEFAULT_LIMITS.maxDirectives),
  KEYGATE_MAX_COST: z.coerce.number().int().min(1).max(10_000_000).default(DEFAULT_LIMITS.maxCost),
  KEYGATE_MAX_BODY_BYTES: z.coerce.number().int().min(1_024).max(100_000_000).default(DEFAULT_LIMITS.maxBodyBytes),
  KEYGATE_MAX_KEYS_PER_ORG: z.coerce.number().int().min(0).default(DEFAULT_LIMITS.maxKeysPerOrganization),
  // Rate limits (rate-limiter-flexible); 0 turns one off.
  KEYGATE_RATE_LIMIT_PER_KEY: z.coerce.number().int().min(0).default(DEFAULT_RATE_LIMITS.perKeyPerMinute),
  KEYGATE_FAILED_AUTH_LIMIT: z.coerce.number().int().min(0).default(DEFAULT_RATE_LIMITS.failedAuthPerMinute),
  KEYGATE_COST_BUDGET_PER_KEY: z.coerce.number().int().min(0).default(DEFAULT_RATE_LIMITS.costBudgetPerKeyPerMinute),
  KEYGATE_VERIFY_RATE_LIMIT_PER_KEY: z.coerce.number().int().min(0).default(1_200),
  REDIS_URL: z
    .string()
    .optional()
    .refine((url) => url === undefined || url === '' || /^rediss?:\/\//.test(url), {
      message: 'must be a redis:// or rediss:// URL (leave it unset for in-memory rate limits)',
    }),
  KEYGATE_REDIS_PREFIX: z.string().min(1).default(DEFAULT_RATE_LIMITS.prefix),
  KEYGATE_CLIENT_ADDRESS_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name, e.g. x-forwarded-for')
    .optional(),
});

export interface TracingConfig {
  /** Where spans go: the OTLP/HTTP traces URL (…/v1/traces). */
  tracesUrl: string;
  serviceName: string;
}

export interface Config {
  port: number;
  /** Port of the metrics listener (same host); none when unset. */
  metricsPort?: number;
  /** OpenTelemetry tracing; off when unset. */
  tracing?: TracingConfig;
  host: string;
  database: DatabaseConfig;
  corsOrigins: string[];
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  production: boolean;
  lastUsedFlushMs: number;
  /** Every request is answered within this many ms (503 past it); database timeouts derive from it. */
  requestTimeoutMs: number;
  limits: Limits;
  rateLimits: RateLimitConfig;
}

export class ConfigError extends Error {}

/**
 * KEYGATE_MAX_KEYS_PER_ORG as loadConfig reads it, alone: the CLI creates keys under the same limit as
 * the server, without needing the rest of the server's environment.
 */
export function maxKeysPerOrganizationIn(env: NodeJS.ProcessEnv = process.env): number {
  const parsed = envSchema.shape.KEYGATE_MAX_KEYS_PER_ORG.safeParse(env.KEYGATE_MAX_KEYS_PER_ORG);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => issue.message).join('; ');
    throw new ConfigError(`invalid environment: KEYGATE_MAX_KEYS_PER_ORG: ${problems}`);
  }
  return parsed.data;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const tracesUrl =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined);
  return {
    port: e.PORT,
    ...(e.METRICS_PORT !== undefined ? { metricsPort: e.METRICS_PORT } : {}),
    ...(tracesUrl ? { tracing: { tracesUrl, serviceName: e.OTEL_SERVICE_NAME } } : {}),
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
    requestTimeoutMs: e.KEYGATE_REQUEST_TIMEOUT_MS,
    limits: {
      maxDepth: e.KEYGATE_MAX_DEPTH,
      maxAliases: e.KEYGATE_MAX_ALIASES,
      maxTokens: e.KEYGATE_MAX_TOKENS,
      maxDirectives: e.KEYGATE_MAX_DIRECTIVES,
      maxCost: e.KEYGATE_MAX_COST,
      maxBodyBytes: e.KEYGATE_MAX_BODY_BYTES,
      maxKeysPerOrganization: e.KEYGATE_MAX_KEYS_PER_ORG,
    },
    rateLimits: {
      perKeyPerMinute: e.KEYGATE_RATE_LIMIT_PER_KEY,
      failedAuthPerMinute: e.KEYGATE_FAILED_AUTH_LIMIT,
      costBudgetPerKeyPerMinute: e.KEYGATE_COST_BUDGET_PER_KEY,
      verifyPerKeyPerMinute: e.KEYGATE_VERIFY_RATE_LIMIT_PER_KEY,
      ...(e.REDIS_URL ? { redisUrl: e.REDIS_URL } : {}),
      prefix: e.KEYGATE_REDIS_PREFIX,
      ...(e.KEYGATE_CLIENT_ADDRESS_HEADER
        ? { clientAddressHeader: e.KEYGATE_CLIENT_ADDRESS_HEADER.toLowerCase() }
        : {}),
    },
  };
}
