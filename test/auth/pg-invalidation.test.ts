// The invalidation listener (src/auth/pg-invalidation.ts) on a real PostgreSQL: while its connection is
// gone, or silent, cached tokens are not used, so a key deleted through another process is refused.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type InvalidationListener,
  LISTENER_APPLICATION_NAME,
  listenForInvalidations,
} from '../../src/auth/pg-invalidation.ts';
import { createTokenLookup } from '../../src/auth/token-lookup.ts';
import { TokenVerifier } from '../../src/auth/verifier.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { pgBaseUrl } from '../helpers/databases.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { knownCaller, verifyToken } from '../helpers/token-verifier.ts';

const quiet = { warn() {}, info() {} };
const HOUR = 3_600_000;

async function until(check: () => boolean | Promise<boolean>, withinMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > withinMs) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - started;
}

describe('invalidation listener', () => {
  let t: TestApp | undefined;
  let listener: InvalidationListener | undefined;
  let proxy: TcpProxy | undefined;

  afterEach(async () => {
    await listener?.close();
    await proxy?.close();
    await t?.close();
    listener = undefined;
    proxy = undefined;
    t = undefined;
  });

  async function setup(listenUrl?: (url: string) => string) {
    t = await createTestApp('postgresql');
    if (t.db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
    const url = t.db.config.url;
    const lookups = { count: 0 };
    const raw = createTokenLookup(t.db.database.raw);
    const verifier = new TokenVerifier(t.domain, {
      find: (hash) => {
        lookups.count++;
        return raw.find(hash);
      },
    });
    const org = await t.org();
    const key = await org.key({ roles: ['viewer'] });
    return { url, verifier, lookups, key, listen: listenUrl ? listenUrl(url) : url };
  }

  it('switches the cache off when its connection is terminated: a key deleted elsewhere is refused at once', async () => {
    const s = await setup();
    // Heartbeats and reconnection far away: only the loss of the connection itself can protect.
    listener = listenForInvalidations(s.listen, s.verifier, quiet, { retryMs: HOUR, heartbeatMs: HOUR, trustMs: HOUR });
    await listener.ready;
    expect(await verifyToken(s.verifier, s.key.token)).not.toBeNull();
    expect(knownCaller(s.verifier, s.key.token)).not.toBeUndefined(); // cached

    const admin = new pg.Client({ connectionString: s.url });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        'SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
        [LISTENER_APPLICATION_NAME],
      );
      expect(rows).toEqual([{ done: true }]);
      // Deleted by "another process": nobody is listening for its notification now.
      await admin.query('DELETE FROM "ApiKeyToken" WHERE "apiKeyId" = $1', [s.key.id]);
    } finally {
      await admin.end();
    }
    // The client learns of the termination in a few ms; from then on the deleted key is refused.
    await until(async () => (await verifyToken(s.verifier, s.key.token)) === null, 2_000);
    expect(knownCaller(s.verifier, s.key.token)).toBeNull();
  });

  it('stops using cached tokens within 1 s when its connection goes silent, and uses them again once back', async () => {
    const target = new URL(pgBaseUrl);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const via = proxy;
    const s = await setup((url) => via.via(url));
    listener = listenForInvalidations(s.listen, s.verifier, quiet, { retryMs: 100 });
    await listener.ready;
    await verifyToken(s.verifier, s.key.token);
    expect(knownCaller(s.verifier, s.key.token)).not.toBeUndefined();

    via.silence((text) => text.includes(LISTENER_APPLICATION_NAME));
    const untrusted = await until(() => knownCaller(s.verifier, s.key.token) === undefined, 3_000);
    expect(untrusted).toBeLessThan(1_000);
    const before = s.lookups.count;
    expect(await verifyToken(s.verifier, s.key.token)).not.toBeNull();
    expect(s.lookups.count).toBe(before + 1); // looked up, not taken from the cache

    // A new connection (the silent one is dropped after deadMs) brings the cache back.
    via.resume();
    await until(async () => {
      await verifyToken(s.verifier, s.key.token);
      return knownCaller(s.verifier, s.key.token) !== undefined;
    }, 10_000);
  });
});
