import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/domain/tokens.ts';
import { providers } from '../helpers/databases.ts';
import { freePort } from '../helpers/ports.ts';
import { graphql, type ServerProcess, startServerOnFreshDatabase } from '../helpers/server-process.ts';

/** The sum of every sample of `name` whose labels include `labels` (0 when there is none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) sum += Number(match[3]);
  }
  return sum;
}

const PER_KEY_LIMIT = 300;
const FAILED_AUTH_LIMIT = 6;

describe.each(providers)('metrics of a real server on %s', (provider) => {
  let server: ServerProcess;
  let metricsUrl: string;
  let admin: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const env = {
      METRICS_PORT: String(metricsPort),
      KEYGATE_RATE_LIMIT_PER_KEY: String(PER_KEY_LIMIT),
      KEYGATE_FAILED_AUTH_LIMIT: String(FAILED_AUTH_LIMIT),
      KEYGATE_LAST_USED_FLUSH_MS: '500',
      // Counters of its own: the shared Redis is not needed here.
      REDIS_URL: '',
    };
    ({ server, cleanup } = await startServerOnFreshDatabase(provider, env));
    admin = server.bootstrapToken() as string;
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  }, 60_000);

  const scrape = async () => {
    const response = await fetch(metricsUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  };

  it('serves /metrics on METRICS_PORT only: the public port answers 404', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    expect((await fetch(metricsUrl.replace('/metrics', '/graphql'))).status).toBe(404);
    const text = await scrape();
    // Process metrics (collectDefaultMetrics) and every Keygate metric, even before it moved.
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    for (const name of [
      'keygate_http_request_duration_seconds',
      'keygate_authentications_total',
      'keygate_verifications_total',
      'keygate_rate_limit_refusals_total',
      'keygate_database_unavailable_total',
      'keygate_cache_lookups_total',
      'keygate_last_used_pending',
      'keygate_last_used_flush_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    for (const outcome of ['ok', 'missing', 'malformed', 'unknown', 'expired', 'rate_limited']) {
      expect(text).toContain(`keygate_authentications_total{outcome="${outcome}"}`);
    }
  });

  it('counts requests by operation and outcome, authentications, cache lookups and lastUsedAt flushes', async () => {
    const before = await scrape();
    const me = 'query Me { currentApiKey { id } }';
    for (let i = 0; i < 3; i++) expect((await graphql(server.url, admin, me)).status).toBe(200);
    const page = 'query Page { apiKeys(first: 5) { edges { node { id } } } }';
    for (let i = 0; i < 4; i++) expect((await graphql(server.url, admin, page)).status).toBe(200);
    const invalid = await graphql(server.url, admin, '{ currentApiKey { nope } }');
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const malformed = `${admin.slice(0, -1)}${admin.endsWith('A') ? 'B' : 'A'}`;
    expect((await graphql(server.url, malformed, me)).status).toBe(401);
    expect((await graphql(server.url, generateToken(), me)).status).toBe(401);
    expect((await graphql(server.url, null, me)).status).toBe(401);

    // lastUsedAt is flushed every 500 ms: wait (by scraping) until a flush has been observed.
    let after = await scrape();
    for (let i = 0; i < 400 && sample(after, 'keygate_last_used_flush_lag_seconds_count') === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await scrape();
    }
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);

    const requests = 'keygate_http_request_duration_seconds_count';
    expect(moved(requests, { operation: 'Me', outcome: 'ok' })).toBe(3);
    expect(moved(requests, { operation: 'Page', outcome: 'ok' })).toBe(4);
    expect(moved(requests, { operation: '', outcome: 'BAD_USER_INPUT' })).toBe(1);
    expect(moved(requests, { outcome: 'UNAUTHENTICATED' })).toBe(3);
    expect(moved('keygate_http_request_duration_seconds_sum', { operation: 'Me' })).toBeGreaterThan(0);

    expect(moved('keygate_authentications_total', { outcome: 'ok' })).toBe(8);
    expect(moved('keygate_authentications_total', { outcome: 'malformed' })).toBe(1);
    expect(moved('keygate_authentications_total', { outcome: 'unknown' })).toBe(1);
    expect(moved('keygate_authentications_total', { outcome: 'missing' })).toBe(1);

    // The admin's token was verified at bootstrap's first request at the latest: every use here hit
    // the token cache; the unknown token was a miss (a lookup).
    expect(moved('keygate_cache_lookups_total', { cache: 'token', result: 'hit' })).toBeGreaterThanOrEqual(5);
    expect(moved('keygate_cache_lookups_total', { cache: 'token', result: 'miss' })).toBeGreaterThanOrEqual(1);
    expect(moved('keygate_cache_lookups_total', { cache: 'read', result: 'miss' })).toBeGreaterThanOrEqual(1);

    expect(moved('keygate_last_used_flush_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'keygate_last_used_pending')).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('counts verification verdicts by verdict', async () => {
    const created = await server.cli('verifier', 'create', '--name', 'metrics');
    expect(created.code).toBe(0);
    const verifier = JSON.parse(created.stdout).token as string;
    const verify = async (token: string, requiredScopes: string[] = []) => {
      const response = await fetch(`${server.url}/v1/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${verifier}`, 'content-type': 'application/json' },
        body: JSON.stringify({ token, requiredScopes }),
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { code: string }).code;
    };
    const before = await scrape();
    expect(await verify(admin)).toBe('VALID');
    expect(await verify(admin)).toBe('VALID');
    expect(await verify(admin, ['no.such.scope'])).toBe('INSUFFICIENT_SCOPES');
    expect(await verify(generateToken())).toBe('UNKNOWN');
    expect(await verify('keygate_nope')).toBe('MALFORMED');
    const after = await scrape();
    const moved = (verdict: string) =>
      sample(after, 'keygate_verifications_total', { verdict }) -
      sample(before, 'keygate_verifications_total', { verdict });
    expect(moved('valid')).toBe(2);
    expect(moved('insufficient_scopes')).toBe(1);
    expect(moved('unknown')).toBe(1);
    expect(moved('malformed')).toBe(1);
    expect(moved('expired')).toBe(0);
    // Each verification of a well-formed token asks the token cache once (this server counts a
    // verification budget, so every verdict goes through the engine's one path with a budget).
    const lookups = (result: string) =>
      sample(after, 'keygate_cache_lookups_total', { cache: 'token', result }) -
      sample(before, 'keygate_cache_lookups_total', { cache: 'token', result });
    expect(lookups('hit') + lookups('miss')).toBe(4);
  });

  it('counts read cache hits: an identical page read again before any commit', async () => {
    // Any commit drops the kept reads: a lastUsedAt flush here, and on PostgreSQL any commit in the
    // cluster (parallel test files). Tries until two reads in a row had no commit between them.
    const page = 'query Page { apiKeys(first: 5) { edges { node { id } } } }';
    const hits = async () => sample(await scrape(), 'keygate_cache_lookups_total', { cache: 'read', result: 'hit' });
    const before = await hits();
    let after = before;
    for (let i = 0; i < 100 && after === before; i++) {
      await graphql(server.url, admin, page);
      await graphql(server.url, admin, page);
      after = await hits();
    }
    expect(after).toBeGreaterThan(before);
  });

  it('counts rate-limit refusals of both limits', async () => {
    const before = await scrape();
    // Failed authentications from this address, past the limit.
    for (let i = 0; i <= FAILED_AUTH_LIMIT; i++) await graphql(server.url, generateToken(), '{ currentApiKey { id } }');
    // The admin's key, past its limit (the admin's token is exempt from the address limit: known good).
    // The limit counts in fixed minutes: requests that straddle a minute's end start counting again in
    // the next one, so up to twice the limit are sent, stopping at the first 429.
    let limited = 0;
    for (let i = 0; i < 2 * (PER_KEY_LIMIT + 1) && limited === 0; i++) {
      if ((await graphql(server.url, admin, '{ currentApiKey { id } }')).status === 429) limited++;
    }
    expect(limited).toBe(1);
    const after = await scrape();
    const moved = (name: string, labels: Record<string, string>) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(moved('keygate_rate_limit_refusals_total', { limit: 'failed_auth' })).toBeGreaterThanOrEqual(1);
    expect(moved('keygate_rate_limit_refusals_total', { limit: 'key' })).toBe(1);
    expect(moved('keygate_authentications_total', { outcome: 'rate_limited' })).toBeGreaterThanOrEqual(2);
    expect(moved('keygate_http_request_duration_seconds_count', { outcome: 'RATE_LIMITED' })).toBeGreaterThanOrEqual(2);
  });
});
