// `keygate serve`: open and migrate the database, bootstrap an empty one, listen, and shut down
// gracefully (stop accepting, drain requests, flush lastUsedAt, close the database).
import { createApp } from './app.ts';
import { LastUsedRecorder } from './auth/last-used.ts';
import { type InvalidationListener, listenForInvalidations } from './auth/pg-invalidation.ts';
import { createTokenLookup } from './auth/token-lookup.ts';
import { TokenVerifier } from './auth/verifier.ts';
import type { Config } from './config.ts';
import { bootstrapIfEmpty } from './domain/bootstrap.ts';
import { createHttpServer, preAuthenticated } from './http/server.ts';
import { RateLimits } from './limits/rate-limit.ts';
import { createLogger } from './logger.ts';
import { openRuntime, withStartupLock } from './runtime.ts';
import { DEFAULT_VERIFY_PER_KEY, VerifyBudget } from './verification/budget.ts';
import { VerificationEngine } from './verification/engine.ts';
import { verifyHandler } from './verification/http.ts';
import { VerifierTokens } from './verification/verifier-tokens.ts';

const DRAIN_TIMEOUT_MS = 10_000;

export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const { database, domain, applied } = await openRuntime(config);
  if (applied.length > 0) logger.info({ applied }, 'applied migrations');

  const created = await withStartupLock(database, () => bootstrapIfEmpty(domain));
  const lastUsed = new LastUsedRecorder(database.prisma, {
    flushMs: config.lastUsedFlushMs,
    onError: (err) => logger.warn({ err }, 'could not record lastUsedAt; will retry'),
  });
  const verifier = new TokenVerifier(domain, createTokenLookup(database.raw));
  let listener: InvalidationListener | null = null;
  if (config.database.provider === 'postgresql') {
    listener = listenForInvalidations(config.database.url, verifier, logger);
    await listener.ready.catch((err) => logger.warn({ err: err?.message }, 'invalidation channel not up yet'));
  }
  const rateLimits = new RateLimits({ ...config.rateLimits, logger });
  // Shared counters from the first request when Redis is up; a warning is logged when it is not.
  if (config.rateLimits.redisUrl) await rateLimits.ready();
  const verifierTokens = new VerifierTokens(domain.db, domain.now);
  const budget = new VerifyBudget({
    perKeyPerMinute: config.rateLimits.verifyPerKeyPerMinute ?? DEFAULT_VERIFY_PER_KEY,
    redisUrl: config.rateLimits.redisUrl,
    prefix: config.rateLimits.prefix,
    now: domain.now,
    logger,
  });
  if (config.rateLimits.redisUrl) await budget.ready();
  const verification = new VerificationEngine({ tokens: verifier, budget, now: domain.now, lastUsed });
  const app = createApp({
    domain,
    database,
    config,
    logger,
    lastUsed,
    verifier,
    verifierTokens,
    verification,
    preAuthenticated,
    rateLimits,
  });
  const server = createHttpServer(app, verifier, (err) => logger.warn({ err }, 'token lookup failed'), {
    rateLimits,
    clientAddressHeader: config.rateLimits.clientAddressHeader,
    verifierTokens,
    verify: verifyHandler({
      engine: verification,
      verifierTokens,
      rateLimits,
      clientAddressHeader: config.rateLimits.clientAddressHeader,
      onError: (err, errorId) => logger.error({ err, errorId }, 'verification failed unexpectedly'),
    }),
  });
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}/graphql`;
  logger.info({ url, database: database.provider }, 'Keygate is listening');

  if (created) {
    // Printed once, straight to the terminal (never through the logger): the only copy of this token.
    process.stdout.write(
      [
        '',
        '======================================================================',
        ' Keygate created an organization, an admin user and an admin API key.',
        ` Organization: ${created.organization.name} (${created.organization.id})`,
        ` Admin user:   ${created.user.email}`,
        ` Admin key:    ${created.apiKey.name} (${created.apiKey.id})`,
        '',
        ' TOKEN (shown only this once; store it now):',
        `   ${created.token}`,
        '',
        ' Try it:',
        `   curl -s ${url} \\`,
        `     -H 'Authorization: Bearer ${created.token}' \\`,
        "     -H 'Content-Type: application/json' \\",
        `     -d '{"query":"{ currentApiKey { id name roles { name } } }"}'`,
        '',
        ` Or open ${url} in a browser (GraphiQL) and paste the token in the Headers tab.`,
        '======================================================================',
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const forced = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
    forced.unref();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(forced);
    await listener?.close();
    await lastUsed.close();
    await rateLimits.close();
    await budget.close();
    await database.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
