// An in-process Keygate on a fresh database, a GraphQL client over app.fetch, and factories for
// organizations, teams and keys with given grants (created through the administration path).
import type { Plugin } from 'graphql-yoga';
import { createApp } from '../../src/app.ts';
import { LastUsedRecorder } from '../../src/auth/last-used.ts';
import { createTokenLookup } from '../../src/auth/token-lookup.ts';
import { TokenVerifier } from '../../src/auth/verifier.ts';
import { DEFAULT_LIMITS, type Limits } from '../../src/config.ts';
import { openDatabase } from '../../src/db/client.ts';
import type { StatementListener } from '../../src/db/pg-round-trips.ts';
import { createApiKey } from '../../src/domain/api-keys.ts';
import { createOrganization, createTeam, createUser } from '../../src/domain/organizations.ts';
import { loadRoleCatalogue, seedRoles } from '../../src/domain/role-seed.ts';
import type { Domain } from '../../src/domain/types.ts';
import { RateLimits, type RateLimitsOptions } from '../../src/limits/rate-limit.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { createDomain } from '../../src/runtime.ts';
import { DEFAULT_VERIFY_PER_KEY, VerifyBudget } from '../../src/verification/budget.ts';
import { VerificationEngine } from '../../src/verification/engine.ts';
import { VerifierTokens } from '../../src/verification/verifier-tokens.ts';
import { createTestDatabase, type Provider, type TestDatabase } from './databases.ts';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data: T | null;
  errors: Array<{ message: string; extensions?: { code?: string } }> | undefined;
  /** The code of the first error, if any. */
  code: string | undefined;
}

export interface Clock {
  now: () => Date;
  /** Moves the clock forward by ms. */
  advance(ms: number): void;
  /** Uses real time again. */
  real(): void;
  /** Stops time where it is now; advance() still moves it. */
  freeze(): void;
}

function createClock(): Clock {
  let offset = 0;
  let frozen: Date | null = null;
  return {
    now: () => (frozen ? new Date(frozen.getTime() + offset) : new Date(Date.now() + offset)),
    advance(ms) {
      offset += ms;
    },
    real() {
      offset = 0;
      frozen = null;
    },
    freeze() {
      frozen = new Date();
    },
  };
}

export interface KeyGrants {
  roles?: string[];
  teams?: string[];
  teamRoles?: string[];
}

export interface Org {
  id: string;
  name: string;
  userId: string;
  /** Creates a key through the administration path (may grant api_keys_manage). */
  key(grants?: KeyGrants, name?: string, expiresAt?: Date | null): Promise<{ id: string; token: string }>;
  team(name?: string): Promise<string>;
}

export interface TestApp {
  provider: Provider;
  domain: Domain;
  db: TestDatabase;
  app: ReturnType<typeof createApp>;
  clock: Clock;
  lastUsed: LastUsedRecorder;
  /** How many token lookups reached the database. */
  lookups: { count: number };
  /** What the app shares with an HTTP server (src/http/server.ts) started on it. */
  verifier: TokenVerifier;
  verifierTokens: VerifierTokens;
  verification: VerificationEngine;
  rateLimits: RateLimits;
  gql<T = Record<string, unknown>>(
    token: string | null,
    query: string,
    variables?: Record<string, unknown>,
  ): Promise<GraphQLResponse<T>>;
  org(name?: string): Promise<Org>;
  close(): Promise<void>;
}

/**
 * A reading of the database's stamp (src/db/data-stamp.ts), which onQuery hears too: the reads that count
 * a request's data statements leave it out.
 */
export const isStamp = (sql: string): boolean => /pg_current_snapshot|PRAGMA data_version/.test(sql);

export interface TestAppOptions {
  /** Hears every statement run: Prisma's, the raw reads' and the stamp's (isStamp). */
  onQuery?: (sql: string) => void;
  /** PostgreSQL: hears every statement a pooled connection sends, and whether its answer is waited for. */
  onStatement?: StatementListener;
  logger?: Logger;
  /** GraphQL abuse limits; DEFAULT_LIMITS for what is not given. */
  limits?: Partial<Limits>;
  /** Behave as with NODE_ENV=production. */
  production?: boolean;
  /** Rate limits, counted on the test clock; off unless given (other tests send many bad tokens). */
  rateLimits?: Omit<RateLimitsOptions, 'now'>;
  clientAddressHeader?: string;
  /** Keys an organization may hold (KEYGATE_MAX_KEYS_PER_ORG); the default when not given. */
  maxKeysPerOrganization?: number;
  /** CORS_ORIGINS; none unless given. */
  corsOrigins?: string[];
  /** Verifications per key per minute (default 1,200; 0: no budget), counted on the test clock. */
  verifyPerKeyPerMinute?: number;
  /** Counts the verification budgets in this Redis. */
  verifyRedis?: { url: string; prefix: string };
  /** Yoga plugins placed first, as tracing's are (AppOptions.plugins). */
  plugins?: Plugin[];
}

let counter = 0;

export async function createTestApp(provider: Provider, options: TestAppOptions = {}): Promise<TestApp> {
  const db = await createTestDatabase(provider);
  await seedRoles(db.database.prisma);
  // With onQuery or onMessage, the app gets its own client on the same database that reports them.
  const database =
    options.onQuery || options.onStatement
      ? await openDatabase(db.config, {
          ...(options.onQuery ? { onQuery: options.onQuery } : {}),
          ...(options.onStatement ? { onStatement: options.onStatement } : {}),
        })
      : db.database;
  const catalogue = await loadRoleCatalogue(database.prisma);
  const clock = createClock();
  const domain: Domain = createDomain(database, catalogue, clock.now, {
    maxKeysPerOrganization: options.maxKeysPerOrganization,
  });
  const lastUsed = new LastUsedRecorder(database.prisma, database.provider);
  const logger = options.logger ?? createLogger('silent');
  // The token lookups the verifier makes (raw driver statements, not seen by onQuery) are counted too.
  const rawLookup = createTokenLookup(database.raw);
  const lookups = { count: 0 };
  const verifier = new TokenVerifier(domain, {
    find: (hash) => {
      lookups.count++;
      return rawLookup.find(hash);
    },
  });
  const rateLimits = options.rateLimits ? new RateLimits({ ...options.rateLimits, now: clock.now }) : RateLimits.off();
  const verifierTokens = new VerifierTokens(domain.db, clock.now);
  const budget = new VerifyBudget({
    perKeyPerMinute: options.verifyPerKeyPerMinute ?? DEFAULT_VERIFY_PER_KEY,
    redisUrl: options.verifyRedis?.url,
    prefix: options.verifyRedis?.prefix,
    now: clock.now,
  });
  const verification = new VerificationEngine({ tokens: verifier, budget, now: clock.now, lastUsed });
  const app = createApp({
    domain,
    database,
    config: {
      corsOrigins: options.corsOrigins ?? [],
      production: options.production ?? false,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      rateLimits: { clientAddressHeader: options.clientAddressHeader },
    },
    logger,
    lastUsed,
    verifier,
    verifierTokens,
    verification,
    rateLimits,
    plugins: options.plugins,
  });

  async function gql<T>(token: string | null, query: string, variables?: Record<string, unknown>) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const response = await app.fetch('http://keygate.test/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T | null; errors?: GraphQLResponse['errors'] };
    return {
      status: response.status,
      data: body.data ?? null,
      errors: body.errors,
      code: body.errors?.[0]?.extensions?.code,
    };
  }

  async function org(name = `Org ${++counter}`): Promise<Org> {
    const organization = await createOrganization(domain.db, { name });
    const user = await createUser(domain.db, organization.id, {
      email: `admin${++counter}@example.com`,
      name: 'Admin',
    });
    return {
      id: organization.id,
      name: organization.name,
      userId: user.id,
      async key(grants = {}, keyName = `key ${++counter}`, expiresAt = null) {
        const { apiKey, token } = await createApiKey(
          domain,
          { kind: 'user', organizationId: organization.id, userId: user.id },
          {
            name: keyName,
            roleNames: grants.roles ?? [],
            teamIds: grants.teams ?? [],
            teamRoleNames: grants.teamRoles ?? [],
            expiresAt,
          },
        );
        return { id: apiKey.id, token };
      },
      async team(teamName = `team ${++counter}`) {
        return (await createTeam(domain.db, organization.id, { name: teamName })).id;
      },
    };
  }

  return {
    provider,
    domain,
    db,
    app,
    clock,
    lastUsed,
    lookups,
    verifier,
    verifierTokens,
    verification,
    rateLimits,
    gql,
    org,
    async close() {
      await rateLimits.close();
      await budget.close();
      await lastUsed.close();
      if (database !== db.database) await database.close();
      await db.drop();
    },
  };
}
