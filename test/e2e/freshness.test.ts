// Freshness across processes (docs/architecture.md, caches): a token deleted anywhere is refused
// everywhere within a second, also when the PostgreSQL connection that carries the news goes silent
// without closing, and on the embedded database, where only one server may run on a data directory and
// other processes' commits (the CLI's, or any other writer's) are noticed before a cached token is used.
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.ts';
import { createEmptyDatabase } from '../helpers/databases.ts';
import { WHOAMI } from '../helpers/documents.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const CREATE =
  'mutation($n: String!) { createApiKey(input: { name: $n, roleNames: ["viewer"] }) { token apiKey { id } } }';

async function createKey(server: ServerProcess, admin: string, name: string): Promise<{ id: string; token: string }> {
  const created = await graphql(server.url, admin, CREATE, { n: name });
  expect(created.body.errors).toBeUndefined();
  const payload = created.body.data?.createApiKey as { token: string; apiKey: { id: string } };
  return { id: payload.apiKey.id, token: payload.token };
}

/** Milliseconds until `check` holds, polling; throws past `withinMs`. */
async function until(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > withinMs) throw new Error(`not true within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

describe('PostgreSQL: a process whose invalidation channel goes silent', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let proxy: TcpProxy;
  let remove: () => Promise<void>;
  let admin: string;

  beforeAll(async () => {
    const db = await createEmptyDatabase('postgresql');
    remove = db.remove;
    if (db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
    const target = new URL(db.config.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    a = await startServer({ DATABASE_URL: db.config.url });
    admin = a.bootstrapToken() as string;
    // B reaches PostgreSQL only through the proxy: its pool and its LISTEN connection.
    b = await startServer({ DATABASE_URL: proxy.via(db.config.url) });
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await proxy?.close();
    await remove?.();
  });

  it('refuses a key deleted through another process within 1 s, although no notification arrives', async () => {
    const key = await createKey(a, admin, 'deleted while B is deaf');
    // B verifies the token and keeps it in its cache.
    for (let i = 0; i < 3; i++) expect((await graphql(b.url, key.token, WHOAMI)).status).toBe(200);
    // B's LISTEN connection stops carrying anything, and is not closed; its pool still works.
    proxy.silence((text) => text.includes('LISTEN keygate_api_keys'));
    const deleted = await graphql(
      a.url,
      admin,
      `mutation { deleteApiKey(input: { id: "${key.id}" }) { deletedApiKeyId } }`,
    );
    expect(deleted.body.errors).toBeUndefined();
    const stale = await until(async () => (await graphql(b.url, key.token, WHOAMI)).status === 401, 5_000);
    console.info(`stale-token window on a silent LISTEN connection: ${Math.round(stale)} ms`);
    expect(stale).toBeLessThan(1_000);
    // And it stays refused while the channel is being re-established.
    for (let i = 0; i < 5; i++) expect((await graphql(b.url, key.token, WHOAMI)).status).toBe(401);
    proxy.resume();
  }, 30_000);
});

describe('embedded database: one server per data directory, other writers noticed at once', () => {
  let server: ServerProcess;
  let dataDir: string;
  let remove: () => Promise<void>;
  let admin: string;

  beforeAll(async () => {
    const db = await createEmptyDatabase('sqlite');
    remove = db.remove;
    if (db.config.provider !== 'sqlite') throw new Error('expected SQLite');
    dataDir = db.config.dataDir;
    server = await startServer({ KEYGATE_DATA_DIR: dataDir, DATABASE_URL: '' });
    admin = server.bootstrapToken() as string;
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await remove?.();
  });

  it('refuses to start a second server on the same data directory, with a clear message', async () => {
    const second = await runCli({ KEYGATE_DATA_DIR: dataDir, DATABASE_URL: '', PORT: '0' }, ['serve'], {
      killAfterMs: 20_000,
    });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('another "keygate serve" is already using the data directory');
    expect(second.stderr).not.toMatch(/\n\s+at /); // no stack
    // The first one is unaffected.
    expect((await graphql(server.url, admin, WHOAMI)).status).toBe(200);
  }, 30_000);

  it('lets the CLI write while the server runs, and the server sees what it wrote', async () => {
    const orgId = /Organization: .* \((\S+)\)/.exec(server.output())?.[1] ?? '';
    const env = { KEYGATE_DATA_DIR: dataDir, DATABASE_URL: '' };
    const user = await runCli(env, ['user', 'create', '--org', orgId, '--email', 'cli@example.com', '--name', 'CLI']);
    expect(user.stderr).toBe('');
    const key = await runCli(env, [
      'key',
      'create',
      '--org',
      orgId,
      '--as',
      'cli@example.com',
      '--name',
      'from the CLI',
    ]);
    expect(key.code).toBe(0);
    const token = (JSON.parse(key.stdout) as { token: string }).token;
    expect((await graphql(server.url, token, WHOAMI)).status).toBe(200);
  }, 60_000);

  it('refuses at once a token that another process deleted from the database', async () => {
    const key = await createKey(server, admin, 'deleted by another writer');
    for (let i = 0; i < 3; i++) expect((await graphql(server.url, key.token, WHOAMI)).status).toBe(200);
    // Another process (any writer: a future CLI command, a repair script) deletes the key's tokens.
    const writer = new BetterSqlite3(`${dataDir}/keygate.db`, { timeout: 5_000 });
    try {
      writer.prepare('DELETE FROM "ApiKeyToken" WHERE "apiKeyId" = ?').run(key.id);
    } finally {
      writer.close();
    }
    expect((await graphql(server.url, key.token, WHOAMI)).status).toBe(401);
  }, 30_000);

  it('the lock dies with its process: after a crash (SIGKILL) a new server starts on the directory', async () => {
    server.child.kill('SIGKILL');
    await new Promise((resolve) => server.child.once('exit', resolve));
    server = await startServer({ KEYGATE_DATA_DIR: dataDir, DATABASE_URL: '' });
    expect((await graphql(server.url, admin, WHOAMI)).status).toBe(200);
  }, 60_000);
});
