// Deadlines (docs/rules.md): whatever a request waits for, it is answered within its bound
// (KEYGATE_REQUEST_TIMEOUT_MS, 1 s here) with 503 SERVICE_UNAVAILABLE and nothing written; /healthz
// answers in milliseconds meanwhile and /readyz says 503 within a second when the database does not
// answer. Real server processes, a real PostgreSQL with a table locked by another client, a TCP proxy
// that goes silent, and the embedded database write-locked by another process.
import { type ChildProcess, spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { generateToken } from '../../src/domain/tokens.ts';
import { createEmptyDatabase } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const TIMEOUT_MS = 1_000;
/** The bound, with room for a loaded machine (the hang being cut short lasts 20 s). */
const ANSWERED_WITHIN_MS = TIMEOUT_MS + 1_500;
const LIST = '{ apiKeys(first: 50) { edges { node { id name } } } }';
const CREATE = 'mutation($n: String!) { createApiKey(input: { name: $n, roleNames: ["viewer"] }) { token } }';

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

async function names(server: ServerProcess, admin: string): Promise<string[]> {
  const listed = await graphql(server.url, admin, LIST);
  expect(listed.body.errors).toBeUndefined();
  const page = listed.body.data?.apiKeys as { edges: Array<{ node: { name: string } }> };
  return page.edges.map((edge) => edge.node.name);
}

function expectUnavailable(answer: Awaited<ReturnType<typeof graphql>>) {
  expect(answer.status).toBe(503);
  expect(answer.body.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
}

describe('configuration', () => {
  it('KEYGATE_REQUEST_TIMEOUT_MS: 5 s by default; a value out of range is refused, naming it', () => {
    expect(loadConfig({}).requestTimeoutMs).toBe(5_000);
    expect(loadConfig({ KEYGATE_REQUEST_TIMEOUT_MS: '1500' }).requestTimeoutMs).toBe(1_500);
    expect(() => loadConfig({ KEYGATE_REQUEST_TIMEOUT_MS: '10' })).toThrow(/KEYGATE_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ KEYGATE_REQUEST_TIMEOUT_MS: 'soon' })).toThrow(/KEYGATE_REQUEST_TIMEOUT_MS/);
  });
});

describe('PostgreSQL', () => {
  let url: string;
  let remove: () => Promise<void>;
  let server: ServerProcess;
  let admin: string;

  beforeAll(async () => {
    const db = await createEmptyDatabase('postgresql');
    remove = db.remove;
    if (db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
    url = db.config.url;
    server = await startServer({ DATABASE_URL: url, KEYGATE_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) });
    admin = server.bootstrapToken() as string;
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await remove?.();
  });

  it('a table locked by another client for 20 s: reads and writes answer 503 within the bound, nothing written', async () => {
    expect((await graphql(server.url, admin, LIST)).status).toBe(200); // the admin token is cached
    const before = await names(server, admin);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE "ApiKey" IN ACCESS EXCLUSIVE MODE');
    try {
      // A page not read before (a kept page would be served again without the table).
      const read = await timed(() => graphql(server.url, admin, LIST.replace('50', '37')));
      const write = await timed(() => graphql(server.url, admin, CREATE, { n: 'during the lock' }));
      const health = await timed(() => fetch(`${server.url}/healthz`));
      console.info(
        `table lock: read answered in ${Math.round(read.ms)} ms, write in ${Math.round(write.ms)} ms, /healthz in ${Math.round(health.ms)} ms`,
      );
      expectUnavailable(read.value);
      expectUnavailable(write.value);
      expect(read.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      expect(write.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      expect(health.value.status).toBe(200);
    } finally {
      // The write that timed out waits for the lock too: released a little after its 503, it must
      // still not commit.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await locker.query('ROLLBACK');
      await locker.end();
    }
    // Given time to commit if it could (its statement is cancelled server-side 1 s after the deadline).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await names(server, admin)).toEqual(before);
  }, 60_000);

  it('a token lookup that outlasts the deadline: 503 within the bound, and the server lives on when the lookup ends', async () => {
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE "ApiKeyToken" IN ACCESS EXCLUSIVE MODE');
    try {
      // A well-formed token no cache knows: its lookup waits for the lock, past the deadline's answer.
      const unknown = await timed(() => graphql(server.url, generateToken(), '{ currentApiKey { id } }'));
      expectUnavailable(unknown.value);
      expect(unknown.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      // The lookup ends after the answer (cancelled by its statement timeout, 1 s after the deadline).
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Its refusal came after the 503 and is dropped: a second answer to one request threw and ended
    // the process.
    expect(server.child.exitCode).toBeNull();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await graphql(server.url, admin, '{ currentApiKey { id } }')).status).toBe(200);
  }, 60_000);
});

describe('PostgreSQL through a connection that goes silent', () => {
  let proxy: TcpProxy;
  let remove: () => Promise<void>;
  let server: ServerProcess;
  let admin: string;

  beforeAll(async () => {
    const db = await createEmptyDatabase('postgresql');
    remove = db.remove;
    if (db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
    const target = new URL(db.config.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    server = await startServer({
      DATABASE_URL: proxy.via(db.config.url),
      KEYGATE_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    admin = server.bootstrapToken() as string;
  }, 60_000);

  afterAll(async () => {
    // Its connections are silent: no graceful shutdown to wait for.
    server?.child.kill('SIGKILL');
    await proxy?.close();
    await remove?.();
  });

  it('requests and /readyz answer within their bounds, /healthz at once', async () => {
    expect((await graphql(server.url, admin, LIST)).status).toBe(200);
    proxy.silence(); // every connection, and every new one
    const read = await timed(() => graphql(server.url, admin, LIST.replace('50', '37')));
    const write = await timed(() => graphql(server.url, admin, CREATE, { n: 'into the void' }));
    const ready = await timed(() => fetch(`${server.url}/readyz`));
    const health = await timed(() => fetch(`${server.url}/healthz`));
    console.info(
      `silent connections: read ${Math.round(read.ms)} ms, write ${Math.round(write.ms)} ms, /readyz ${Math.round(ready.ms)} ms, /healthz ${Math.round(health.ms)} ms`,
    );
    expectUnavailable(read.value);
    expectUnavailable(write.value);
    expect(read.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    expect(write.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    expect(ready.value.status).toBe(503);
    expect(ready.ms).toBeLessThan(1_000 + 1_000);
    expect(health.value.status).toBe(200);
    expect(health.ms).toBeLessThan(500);
  }, 60_000);
});

describe('embedded database write-locked by another process', () => {
  let dataDir: string;
  let remove: () => Promise<void>;
  let server: ServerProcess;
  let admin: string;
  let holder: ChildProcess | undefined;

  beforeAll(async () => {
    const db = await createEmptyDatabase('sqlite');
    remove = db.remove;
    if (db.config.provider !== 'sqlite') throw new Error('expected SQLite');
    dataDir = db.config.dataDir;
    server = await startServer({
      KEYGATE_DATA_DIR: dataDir,
      DATABASE_URL: '',
      KEYGATE_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    admin = server.bootstrapToken() as string;
  }, 60_000);

  afterEach(() => {
    holder?.kill('SIGKILL');
  });

  afterAll(async () => {
    await server?.stop();
    await remove?.();
  });

  /** Another process that takes the database's write lock and keeps it until killed. */
  async function holdWriteLock(): Promise<ChildProcess> {
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(process.argv[1], { timeout: 5000 });
      db.exec('BEGIN EXCLUSIVE');
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['-e', script, `${dataDir}/keygate.db`], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('locked')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`lock holder exited with ${code}`)));
    });
    return child;
  }

  it('/healthz answers in milliseconds while a write waits, and the write answers 503 after the bound, writing nothing', async () => {
    const before = await names(server, admin);
    holder = await holdWriteLock();
    const write = timed(() => graphql(server.url, admin, CREATE, { n: 'blocked write' }));
    // While the write waits for the lock, the event loop is free.
    const probes: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const health = await timed(() => fetch(`${server.url}/healthz`));
      expect(health.value.status).toBe(200);
      probes.push(health.ms);
    }
    const written = await write;
    console.info(
      `write lock held elsewhere: /healthz ${probes.map((ms) => Math.round(ms)).join(', ')} ms; the write answered in ${Math.round(written.ms)} ms`,
    );
    expect(Math.max(...probes)).toBeLessThan(200);
    expectUnavailable(written.value);
    expect(written.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder?.once('exit', resolve));
    expect(await names(server, admin)).toEqual(before);
  }, 60_000);
});
