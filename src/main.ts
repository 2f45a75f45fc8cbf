// `keygate serve`: open and migrate the database, bootstrap an empty one, listen, and shut down
// gracefully (stop accepting, drain requests, flush lastUsedAt, close the database).
import type { Server } from 'node:http';
import { createApp } from './app.ts';
import { LastUsedRecorder } from './auth/last-used.ts';
import { type InvalidationListener, listenForInvalidations } from './auth/pg-invalidation.ts';
import { createTokenLookup } from './auth/token-lookup.ts';
import { TokenVerifier } from './auth/verifier.ts';
import type { Config } from './config.ts';
import { type DataDirLock, lockDataDir } from './db/data-dir-lock.ts';
import { bootstrapIfEmpty } from './domain/bootstrap.ts';
import { createHttpServer } from './http/server.ts';
import { RateLimits } from './limits/rate-limit.ts';
import { createLogger, type Logger } from './logger.ts';
import { openRuntime, withStartupLock } from './runtime.ts';
import { DEFAULT_VERIFY_PER_KEY, VerifyBudget } from './verification/budget.ts';
import { VerificationEngine } from './verification/engine.ts';
import { verifyHandler } from './verification/http.ts';
import { VerifierTokens } from './verification/verifier-tokens.ts';

const DRAIN_TIMEOUT_MS = 10_000;

/** Held for the life of the process (a collected handle would release the lock; the exit does). */
const heldLocks: DataDirLock[] = [];

/** The metrics listener on METRICS_PORT (same host as the API). */
async function startMetrics(config: Config, lastUsed: LastUsedRecorder, logger: Logger): Promise<Server> {
  const { createMetrics, createMetricsServer } = await import('./observability/metrics.ts');
  const server = createMetricsServer(createMetrics({ lastUsedPending: () => lastUsed.pendingCount }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.metricsPort, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.metricsPort;
  logger.info(
    { url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/metrics` },
    'metrics are served',
  );
  return server;
}

export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  if (config.database.provider === 'sqlite') heldLocks.push(lockDataDir(config.database.dataDir));
  const { database, domain, applied } = await openRuntime(config);
  if (applied.length > 0) logger.info({ applied }, 'applied migrations');

  const created = await withStartupLock(database, () => bootstrapIfEmpty(domain));
  const lastUsed = new LastUsedRecorder(database.prisma, database.provider, {
    flushMs: config.lastUsedFlushMs,
    onError: (err) => logger.warn({ err }, 'could not record lastUsedAt; will retry'),
  });
  // Another process's commit (the CLI's) empties the token cache before it is used again.
  const verifier = new TokenVerifier(domain, createTokenLookup(database.raw), {
    ...(database.foreignCommits ? { externalChanges: database.foreignCommits } : {}),
  });
  let listener: InvalidationListener | null = null;
  if (config.database.provider === 'postgresql') {
    listener = listenForInvalidations(config.database.url, verifier, logger);
    await listener.ready.catch((err) => logger.warn({ err: err?.message }, 'invalidation channel not up yet'));
  }
  const rateLimits = new RateLimits({ ...config.rateLimits, logger });
  // Shared counters from the first request when Redis is up; a warning is logged when it is not.
  if (config.rateLimits.redisUrl) await rateLimits.ready();
  // Observability (docs/observability.md): both loaded only when switched on.
  const metrics = config.metricsPort === undefined ? null : await startMetrics(config, lastUsed, logger);
  const tracing = config.tracing
    ? await (await import('./observability/tracing.ts')).startTracing(config.tracing)
    : null;
  if (config.tracing) logger.info({ url: config.tracing.tracesUrl }, 'tracing: spans are sent over OTLP/HTTP');
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
    rateLimits,
    plugins: tracing ? [tracing.plugin] : [],
  });
  const onAuthenticationError = (err: unknown, errorId?: string) =>
    errorId
      ? logger.error({ err, errorId }, 'request failed unexpectedly')
      : logger.warn({ err }, 'database unavailable during authentication');
  const server = createHttpServer(app, verifier, onAuthenticationError, {
    rateLimits,
    clientAddressHeader: config.rateLimits.clientAddressHeader,
    requestTimeoutMs: config.requestTimeoutMs,
    logger,
    verifierTokens,
    verify: verifyHandler({
      engine: verification,
      verifierTokens,
      rateLimits,
      clientAddressHeader: config.rateLimits.clientAddressHeader,
      onError: (err, errorId) => logger.error({ err, errorId }, 'verification failed unexpectedly'),
    }),
  });
  // An idle kept-alive connection is closed after 65 s. Receiving a request is bounded by the request
  // timeout (createHttpServer: its headers within it, 408 past it), and a connection whose request was
  // answered before its body arrived is closed after the answer (src/http/connection-close.ts).
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

  // Supervisors often signal twice (the whole process group, then the process; or SIGTERM, then
  // SIGINT from a terminal): every signal after the first is noted and otherwise ignored, so the
  // drain and the lastUsedAt flush always finish. (Node's default for a signal without a listener is
  // to die at once, hence `on`, not `once`.) Only SIGKILL stops a shutdown under way.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.info({ signal }, 'already shutting down: finishing the drain and the lastUsedAt flush');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const forced = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
    forced.unref();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(forced);
    let code = 0;
    // Each step runs even if one before it failed: the flush matters most, the database closes last.
    for (const [step, close] of [
      ['invalidation listener', () => listener?.close()],
      ['lastUsedAt flush', () => lastUsed.close()],
      ['rate limits', () => rateLimits.close()],
      ['verification budget', () => budget.close()],
      ['database', () => database.close()],
      [
        'metrics listener',
        () => {
          metrics?.closeAllConnections(); // a scraper's keep-alive connection would hold close() up
          return new Promise<void>((resolve) => (metrics ? metrics.close(() => resolve()) : resolve()));
        },
      ],
      ['tracing', () => tracing?.close()],
    ] as const) {
      try {
        await close();
      } catch (err) {
        code = 1;
        logger.error({ err, step }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
