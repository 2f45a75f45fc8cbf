// Database faults (issue 4), in process: every change is one transaction, so a failure at any point
// of it leaves the database exactly as it was; a database that is gone, refuses connections, never
// answers or stays locked is reported as SERVICE_UNAVAILABLE (HTTP 503, /readyz 503) without
// anything internal in the answer, and service resumes by itself when the database is back.
// test/e2e/faults.test.ts does the same to a real server process under load.
import { createServer, type Server, type Socket } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { type Db, openDatabase, SQLITE_FILE } from '../../src/db/client.ts';
import { createApiKey } from '../../src/domain/api-keys.ts';
import { createOrganization, createUser } from '../../src/domain/organizations.ts';
import { loadRoleCatalogue, seedRoles } from '../../src/domain/role-seed.ts';
import { DEFAULT_ROLES, RoleCatalogue } from '../../src/domain/roles.ts';
import { generateToken } from '../../src/domain/tokens.ts';
import type { Domain } from '../../src/domain/types.ts';
import { createLogger } from '../../src/logger.ts';
import { createDomain } from '../../src/runtime.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, pgBaseUrl, providers } from '../helpers/databases.ts';
import { CREATE_ID, DELETE, ROTATE_TOKEN, WHOAMI } from '../helpers/documents.ts';
import { freePort, listenOnFreePort } from '../helpers/ports.ts';

const UPDATE = 'mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id } } }';
const LIST = '{ apiKeys(first: 10) { edges { node { id name } } } }';

interface Answer {
  status: number;
  text: string;
  code: string | undefined;
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response> | Response;

async function post(fetch: Fetch, token: string | null, query: string, variables?: object): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const response = await fetch('http://keygate.test/graphql', {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { errors?: Array<{ extensions?: { code?: string } }> };
  return { status: response.status, text, code: body.errors?.[0]?.extensions?.code };
}

async function probe(fetch: Fetch, path: '/readyz' | '/healthz'): Promise<number> {
  return (await fetch(`http://keygate.test${path}`)).status;
}

/** A 503 that says what to do and nothing about the database behind it. */
function expectUnavailable(answer: Answer, secrets: string[] = []) {
  expect(answer.status).toBe(503);
  expect(answer.code).toBe('SERVICE_UNAVAILABLE');
  expect(answer.text).toContain('try again');
  expectNothingInternal(answer.text, secrets);
}

function expectNothingInternal(text: string, secrets: string[] = []) {
  expect(text).not.toMatch(/prisma|postgres|sqlite|keygate_test_|127\.0\.0\.1|localhost|:5432/i);
  expect(text).not.toMatch(/\bSELECT\b|\bINSERT\b|\bUPDATE\s+"|\bDELETE\s+FROM\b|\bFROM\s+"|57P01|55000|ECONN/);
  expect(text).not.toMatch(/\bat \S+ \(|\.ts:\d+:\d+|node_modules|"stack"|injected/);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

/** Every row of every table, in a stable order: "nothing was written" means this did not change. */
async function snapshot(db: Db, provider: string): Promise<Record<string, string[]>> {
  const tables =
    provider === 'sqlite'
      ? await db.$queryRawUnsafe<Array<{ name: string }>>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
      : await db.$queryRawUnsafe<Array<{ name: string }>>(
          "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        );
  const result: Record<string, string[]> = {};
  for (const { name } of tables) {
    const rows = await db.$queryRawUnsafe<unknown[]>(`SELECT * FROM "${name}"`);
    result[name] = rows.map((row) => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).sort();
  }
  return result;
}

const WRITES = new Set([
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
]);

interface Injection {
  /** Writes seen inside transactions since the last reset. */
  writes: number;
  /** The write (1-based) that throws instead of running; null: none. */
  failAt: number | null;
  error: () => Error;
}

/**
 * The database client with every write made inside a transaction counted, and the `failAt`-th one
 * replaced by a throw: a failure at an exact point in the middle of an operation.
 */
function injectFailures(db: Db, injection: Injection): Db {
  const write = () => {
    injection.writes++;
    if (injection.writes === injection.failAt) throw injection.error();
  };
  const counted =
    (run: (...args: unknown[]) => unknown, self: unknown) =>
    (...args: unknown[]) => {
      write();
      return run.apply(self, args);
    };
  const wrapTransaction = (tx: object) =>
    new Proxy(tx, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (property === '$executeRaw' || property === '$executeRawUnsafe') {
          return counted(value as (...args: unknown[]) => unknown, target);
        }
        if (typeof property === 'string' && !property.startsWith('$') && value && typeof value === 'object') {
          return new Proxy(value, {
            get(delegate, method) {
              const fn = Reflect.get(delegate, method) as unknown;
              if (typeof fn !== 'function') return fn;
              return typeof method === 'string' && WRITES.has(method)
                ? counted(fn as (...args: unknown[]) => unknown, delegate)
                : fn.bind(delegate);
            },
          });
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return new Proxy(db, {
    get(target, property) {
      if (property === '$transaction') {
        return (fn: (tx: object) => Promise<unknown>, options?: object) =>
          target.$transaction((tx) => fn(wrapTransaction(tx)), options);
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const connectionLost = () => Object.assign(new Error('Server has closed the connection.'), { code: 'P1017' });
const unexpected = () => new Error('injected failure');

describe.each(providers)('every change is one transaction, on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let manager: { id: string; token: string };
  let team: string;
  const injection: Injection = { writes: 0, failAt: null, error: unexpected };
  let fetch: Fetch;

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    team = await org.team();
    manager = await org.key({ roles: ['api_keys_manage', 'viewer', 'incident_creator', 'schedules_editor'] });
    const domain: Domain = { ...t.domain, db: injectFailures(t.domain.db, injection) };
    const app = createApp({
      domain,
      database: t.db.database,
      config: { corsOrigins: [], production: false },
      logger: createLogger('silent'),
    });
    fetch = (input, init) => app.fetch(input, init ?? {});
  });
  afterAll(() => t.close());

  const target = () => org.key({ roles: ['viewer'], teams: [team], teamRoles: ['schedules_reader'] }, 'fault target');

  const operations: Record<string, (id: string) => [string, object]> = {
    createApiKey: () => [
      CREATE_ID,
      { input: { name: 'new', roleNames: ['incident_creator'], teamIds: [team], teamRoleNames: ['schedules_editor'] } },
    ],
    updateApiKey: (id) => [
      UPDATE,
      { input: { id, name: 'renamed', roleNames: ['incident_creator'], teamIds: [], teamRoleNames: [] } },
    ],
    rotateApiKey: (id) => [ROTATE_TOKEN, { input: { id, gracePeriodMinutes: 5 } }],
    deleteApiKey: (id) => [DELETE, { input: { id } }],
  };

  it.each(Object.keys(operations))(
    '%s: a failure at any write of its transaction leaves every table as it was',
    async (name) => {
      const operation = operations[name] as (id: string) => [string, object];
      // A run without failures counts the writes of one such change.
      injection.writes = 0;
      injection.failAt = null;
      const counting = await target();
      const done = await post(fetch, manager.token, ...operation(counting.id));
      expect(done.code).toBeUndefined();
      const writes = injection.writes;
      // On SQLite each write is a statement of its own; on PostgreSQL a change's writes go as one
      // statement (an update as two), after the locking UPDATE of update, rotate and delete.
      expect(writes).toBeGreaterThanOrEqual(provider === 'sqlite' ? 3 : 1);

      const key = await target();
      for (let failAt = 1; failAt <= writes; failAt++) {
        for (const [error, expected] of [
          [unexpected, 'INTERNAL_SERVER_ERROR'],
          [connectionLost, 'SERVICE_UNAVAILABLE'],
        ] as const) {
          const before = await snapshot(t.domain.db, provider);
          injection.writes = 0;
          injection.failAt = failAt;
          injection.error = error;
          const answer = await post(fetch, manager.token, ...operation(key.id));
          injection.failAt = null;
          expect(answer.code, `failure at write ${failAt} of ${writes}`).toBe(expected);
          expectNothingInternal(answer.text, [manager.token, key.token]);
          expect(await snapshot(t.domain.db, provider), `failure at write ${failAt} of ${writes}`).toEqual(before);
        }
      }
      // The key is untouched and usable: its token works, and the change now goes through.
      expect((await post(fetch, key.token, WHOAMI)).status).toBe(200);
      expect((await post(fetch, manager.token, ...operation(key.id))).code).toBeUndefined();
    },
  );
});

describe.runIf(providers.includes('postgresql'))('PostgreSQL going away', () => {
  let t: TestApp;
  let admin: pg.Client;
  let name: string;

  beforeAll(async () => {
    t = await createTestApp('postgresql');
    if (t.db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
    name = new URL(t.db.config.url).pathname.slice(1);
    admin = new pg.Client({ connectionString: pgBaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    await admin.end();
    await t.close();
  });

  const fetch: Fetch = (input, init) => t.app.fetch(input, init ?? {});
  const terminateBackends = () =>
    admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );

  describe('a connection that dies in the middle of a change', () => {
    // A trigger that ends its own session: the connection drops halfway through the transaction.
    const cases: Array<[string, string, string]> = [
      ['createApiKey', 'INSERT ON "ApiKeyToken"', 'after the key and its grants were inserted'],
      ['rotateApiKey', 'INSERT ON "ApiKeyToken"', 'after the current token was given its expiry'],
      ['updateApiKey', 'INSERT ON "ApiKeyTeamRole"', 'after the old grants were deleted and the name changed'],
      ['deleteApiKey', 'DELETE ON "ApiKeyToken"', 'while the deletion cascades to the tokens'],
    ];

    it.each(cases)('%s: dropped at %s (%s) → 503, nothing written', async (operation, event) => {
      const org = await t.org();
      const team = await org.team();
      const manager = await org.key({ roles: ['api_keys_manage', 'viewer', 'schedules_editor'] });
      const key = await org.key({ roles: ['viewer'] });
      const [query, variables] = {
        createApiKey: [CREATE_ID, { input: { name: 'n', roleNames: ['viewer'], teamIds: [], teamRoleNames: [] } }],
        rotateApiKey: [ROTATE_TOKEN, { input: { id: key.id } }],
        updateApiKey: [
          UPDATE,
          { input: { id: key.id, name: 'n', roleNames: [], teamIds: [team], teamRoleNames: ['schedules_editor'] } },
        ],
        deleteApiKey: [DELETE, { input: { id: key.id } }],
      }[operation] as [string, object];
      const db = t.db.database.prisma;
      await db.$executeRawUnsafe(
        'CREATE OR REPLACE FUNCTION keygate_test_die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$',
      );
      const before = await snapshot(db, 'postgresql');
      await db.$executeRawUnsafe(`CREATE TRIGGER die BEFORE ${event} FOR EACH ROW EXECUTE FUNCTION keygate_test_die()`);
      try {
        const answer = await post(fetch, manager.token, query, variables);
        expectUnavailable(answer, [manager.token, key.token]);
      } finally {
        await db.$executeRawUnsafe(`DROP TRIGGER die ON ${event.split(' ON ')[1]}`);
      }
      expect(await snapshot(db, 'postgresql')).toEqual(before);
      // The pool replaced the dead connection: the same change now succeeds.
      expect((await post(fetch, manager.token, query, variables)).code).toBeUndefined();
    });
  });

  it('a database that refuses connections: 503 and /readyz 503, then 200 again without a restart', async () => {
    const org = await t.org();
    const manager = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    const target = await org.key({ roles: ['viewer'] });
    const unseen = await org.key({ roles: ['viewer'] });
    expect((await post(fetch, manager.token, WHOAMI)).status).toBe(200); // now in the verifier's cache
    // Read twice, so the page is kept (src/domain/read-cache.ts): still 503 below, not served from there.
    expect((await post(fetch, manager.token, LIST)).code).toBeUndefined();
    expect((await post(fetch, manager.token, LIST)).code).toBeUndefined();
    const keysBefore = await t.db.database.prisma.apiKey.count();

    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    try {
      await terminateBackends();
      const secrets = [manager.token, target.token, unseen.token];
      expectUnavailable(
        await post(fetch, manager.token, CREATE_ID, {
          input: { name: 'during outage', roleNames: ['viewer'], teamIds: [], teamRoleNames: [] },
        }),
        secrets,
      );
      expectUnavailable(await post(fetch, manager.token, ROTATE_TOKEN, { input: { id: target.id } }), secrets);
      expectUnavailable(
        await post(fetch, manager.token, UPDATE, {
          input: { id: target.id, name: 'x', roleNames: [], teamIds: [], teamRoleNames: [] },
        }),
        secrets,
      );
      expectUnavailable(await post(fetch, manager.token, DELETE, { input: { id: target.id } }), secrets);
      expectUnavailable(await post(fetch, manager.token, LIST), secrets);
      // A token the server cannot look up is not called invalid: 503, not 401.
      expectUnavailable(await post(fetch, unseen.token, WHOAMI), secrets);
      expectUnavailable(await post(fetch, generateToken(), WHOAMI), secrets);
      // A malformed token needs no lookup.
      expect((await post(fetch, 'keygate_nonsense', WHOAMI)).status).toBe(401);
      expect(await probe(fetch, '/readyz')).toBe(503);
      expect(await probe(fetch, '/healthz')).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }

    // Back, with no restart: the pool opens new connections on the next request.
    expect(await probe(fetch, '/readyz')).toBe(200);
    expect((await post(fetch, unseen.token, WHOAMI)).status).toBe(200);
    expect((await post(fetch, manager.token, LIST)).code).toBeUndefined();
    expect((await post(fetch, manager.token, ROTATE_TOKEN, { input: { id: target.id } })).code).toBeUndefined();
    expect(await t.db.database.prisma.apiKey.count()).toBe(keysBefore);
  });
});

describe.runIf(providers.includes('postgresql'))('a PostgreSQL server that cannot be reached', () => {
  const catalogue = new RoleCatalogue(DEFAULT_ROLES);

  async function appOn(url: string, connectTimeoutMs: number) {
    // No migration: opening does not connect, and nothing here ever gets a connection.
    const database = await openDatabase({ provider: 'postgresql', url }, { connectTimeoutMs });
    const app = createApp({
      domain: createDomain(database, catalogue),
      database,
      config: { corsOrigins: [], production: false },
      logger: createLogger('silent'),
    });
    return { fetch: ((input, init) => app.fetch(input, init ?? {})) as Fetch, close: () => database.close() };
  }

  it('connections refused: 503 at once', async () => {
    const port = await freePort(); // nothing listens on it
    const { fetch, close } = await appOn(`postgresql://keygate:secret-password@127.0.0.1:${port}/keygate`, 5_000);
    try {
      const started = Date.now();
      expectUnavailable(await post(fetch, generateToken(), WHOAMI), ['secret-password']);
      expect(await probe(fetch, '/readyz')).toBe(503);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await close();
    }
  });

  it('a server that accepts connections and never answers: 503 after the connection timeout, not a hang', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    const { port } = await listenOnFreePort(silent);
    const { fetch, close } = await appOn(`postgresql://keygate:secret-password@127.0.0.1:${port}/keygate`, 300);
    try {
      const started = Date.now();
      const [answer, ready] = await Promise.all([post(fetch, generateToken(), WHOAMI), probe(fetch, '/readyz')]);
      expectUnavailable(answer, ['secret-password']);
      expect(ready).toBe(503);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe.runIf(providers.includes('sqlite'))('the embedded database locked by another process', () => {
  it('a change that cannot get the write lock within the busy timeout is a 503 and writes nothing', async () => {
    const db = await createTestDatabase('sqlite');
    if (db.config.provider !== 'sqlite') throw new Error('expected SQLite');
    const database = await openDatabase(db.config, { busyTimeoutMs: 200 });
    const other = new BetterSqlite3(`${db.config.dataDir}/${SQLITE_FILE}`);
    try {
      await seedRoles(database.prisma);
      const domain = createDomain(database, await loadRoleCatalogue(database.prisma));
      const organization = await createOrganization(domain.db, { name: 'locked' });
      const user = await createUser(domain.db, organization.id, { email: 'a@example.com', name: 'A' });
      const { token } = await createApiKey(
        domain,
        { kind: 'user', organizationId: organization.id, userId: user.id },
        { name: 'manager', roleNames: ['api_keys_manage', 'viewer'], teamIds: [], teamRoleNames: [] },
      );
      const app = createApp({
        domain,
        database,
        config: { corsOrigins: [], production: false },
        logger: createLogger('silent'),
      });
      const fetch: Fetch = (input, init) => app.fetch(input, init ?? {});
      const create = { input: { name: 'while locked', roleNames: ['viewer'], teamIds: [], teamRoleNames: [] } };
      const before = await snapshot(database.prisma, 'sqlite');

      other.exec('BEGIN IMMEDIATE'); // another process holds the write lock
      try {
        expectUnavailable(await post(fetch, token, CREATE_ID, create), [token]);
        // Readers are not blocked by a writer (WAL): reads and /readyz still answer.
        expect((await post(fetch, token, LIST)).code).toBeUndefined();
        expect(await probe(fetch, '/readyz')).toBe(200);
      } finally {
        other.exec('ROLLBACK');
      }
      expect(await snapshot(database.prisma, 'sqlite')).toEqual(before);
      expect((await post(fetch, token, CREATE_ID, create)).code).toBeUndefined();
    } finally {
      other.close();
      await database.close();
      await db.drop();
    }
  });
});
