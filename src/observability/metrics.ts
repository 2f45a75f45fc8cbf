// Prometheus metrics (prom-client), served by a listener of their own on METRICS_PORT so that the public
// port never exposes them. Loaded only when METRICS_PORT is set: until then every signal is a no-op
// (src/observability/signals.ts). The list, with what each label means, is in docs/observability.md.
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { pathOf } from '../http/responses.ts';
import { REQUEST_ID_HEADER, requestIdOf } from './request-id.ts';
import type { AuthenticationOutcome, RateLimit, VerificationVerdict } from './signals.ts';
import { signals, VERIFICATION_VERDICTS } from './signals.ts';

/** Distinct operation names kept as label values; later names are counted as "other". */
const MAX_OPERATIONS = 100;

/**
 * The longest operation name kept as a label value; longer ones are counted as "other" and take no
 * place among MAX_OPERATIONS. A name is the client's to choose, of any length: any key's holder could
 * make every scrape megabytes long (a label is written on every line of its series) and take the places
 * of the names operators look for.
 */
const MAX_OPERATION_NAME = 64;

export interface MetricsSources {
  /** lastUsedAt uses recorded and not yet written. */
  lastUsedPending?: () => number;
}

export function createMetrics(sources: MetricsSources = {}): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = new Histogram({
    name: 'keygate_http_request_duration_seconds',
    help: 'HTTP requests by GraphQL operation name ("" for none, "anonymous" when unnamed) and outcome ("ok" or the error code); _count is the number of requests.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const authentications = new Counter({
    name: 'keygate_authentications_total',
    help: 'Authentication attempts by outcome: ok, missing, malformed, unknown, expired, rate_limited.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const verifications = new Counter({
    name: 'keygate_verifications_total',
    help: `Token verification verdicts: ${VERIFICATION_VERDICTS.join(', ')}.`,
    labelNames: ['verdict'] as const,
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'keygate_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit: key (per API key) or failed_auth (failed authentications per client address).',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const unavailable = new Counter({
    name: 'keygate_database_unavailable_total',
    help: 'Database errors that made Keygate answer 503 (database down, busy or unreachable).',
    registers: [registry],
  });
  const cache = new Counter({
    name: 'keygate_cache_lookups_total',
    help: 'Cache lookups: cache="token" (verified and unknown tokens) or "read" (apiKey/apiKeys reads), result="hit" or "miss".',
    labelNames: ['cache', 'result'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'keygate_last_used_pending',
    help: 'API keys whose lastUsedAt is recorded in memory and not yet written.',
    registers: [registry],
    collect() {
      this.set(sources.lastUsedPending?.() ?? 0);
    },
  });
  const flushLag = new Histogram({
    name: 'keygate_last_used_flush_lag_seconds',
    help: 'For each lastUsedAt flush, how long its oldest use waited to be written.',
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });

  // Every fixed label value shows from the first scrape, at 0.
  for (const outcome of ['ok', 'missing', 'malformed', 'unknown', 'expired', 'rate_limited']) {
    authentications.inc({ outcome }, 0);
  }
  for (const limit of ['key', 'failed_auth']) rateLimited.inc({ limit }, 0);
  const verdicts = Object.fromEntries(
    VERIFICATION_VERDICTS.map((verdict) => [verdict, verifications.labels(verdict)] as const),
  ) as Record<VerificationVerdict, ReturnType<typeof verifications.labels>>;
  for (const child of Object.values(verdicts)) child.inc(0);
  for (const name of ['token', 'read']) for (const result of ['hit', 'miss']) cache.inc({ cache: name, result }, 0);
  unavailable.inc(0);

  // Children bound once per label value: the hot path increments them without hashing labels.
  const byRequest = new Map<string, ReturnType<typeof duration.labels>>();
  const operations = new Set<string>();
  const outcomeOf = (outcome: AuthenticationOutcome) => authentications.labels(outcome);
  const auth = {
    ok: outcomeOf('ok'),
    missing: outcomeOf('missing'),
    malformed: outcomeOf('malformed'),
    unknown: outcomeOf('unknown'),
    expired: outcomeOf('expired'),
    rate_limited: outcomeOf('rate_limited'),
  };
  const limits: Record<RateLimit, { inc(): void }> = {
    key: rateLimited.labels('key'),
    failed_auth: rateLimited.labels('failed_auth'),
  };
  const token = { hit: cache.labels('token', 'hit'), miss: cache.labels('token', 'miss') };
  const read = { hit: cache.labels('read', 'hit'), miss: cache.labels('read', 'miss') };

  signals.request = (operation, outcome, seconds) => {
    // Keyed by the label it counts under: every name past MAX_OPERATIONS is one "other", kept once
    // (keyed by the name itself, each distinct name a client sent kept its own entry, for ever).
    let name = operation;
    if (!operations.has(name)) {
      if (operations.size >= MAX_OPERATIONS || name.length > MAX_OPERATION_NAME) name = 'other';
      else operations.add(name);
    }
    const key = `${name}\0${outcome}`;
    let child = byRequest.get(key);
    if (!child) {
      child = duration.labels(name, outcome);
      byRequest.set(key, child);
    }
    child.observe(seconds);
  };
  signals.authentication = (outcome) => auth[outcome].inc();
  signals.verification = (verdict) => verdicts[verdict].inc();
  signals.rateLimited = (limit) => limits[limit].inc();
  signals.databaseUnavailable = () => unavailable.inc();
  signals.tokenCache = (hit) => (hit ? token.hit : token.miss).inc();
  signals.readCache = (hit) => (hit ? read.hit : read.miss).inc();
  signals.lastUsedFlushed = (recordedAt) => {
    let oldest = Number.POSITIVE_INFINITY;
    for (const [, at] of recordedAt) oldest = Math.min(oldest, at.getTime());
    if (oldest !== Number.POSITIVE_INFINITY) flushLag.observe(Math.max(0, (Date.now() - oldest) / 1000));
  };
  return registry;
}

/** GET /metrics in Prometheus text format; everything else 404. */
export function createMetricsServer(registry: Registry): Server {
  return createServer((req, res) => {
    // Every answer carries an x-request-id, on this port as on the public one (docs/api.md, HTTP).
    res.setHeader(REQUEST_ID_HEADER, requestIdOf(req.headers[REQUEST_ID_HEADER]));
    if (req.method !== 'GET' || pathOf(req.url) !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
    );
  });
}
