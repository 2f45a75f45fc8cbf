// Database and Redis errors that say what is wrong (issue 14, item 6), produced for real: a database
// that does not exist on the test server, a role it does not know, a port nobody listens on, a host
// with no DNS address, TLS asked of a server that offers none. (A server that insists on TLS cannot be
// made of the shared test server without reconfiguring it: a socket that answers the startup message as
// PostgreSQL does with `hostssl`-only rules stands in for it.) The URL is shown, its password never.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliResult, output, runCli } from '../helpers/cli-process.ts';
import { pgBaseUrl } from '../helpers/databases.ts';
import { freePort } from '../helpers/ports.ts';
import { startServer } from '../helpers/server-process.ts';

const TIMEOUT = 60_000;
const SECRET = 'secretpw';

/** The test server's URL with another user, password, host, port, database or query. */
function pgUrl(parts: { user?: string; host?: string; port?: number; database?: string; query?: string }): string {
  const url = new URL(pgBaseUrl);
  url.username = parts.user ?? (url.username || 'postgres');
  url.password = SECRET;
  if (parts.host) url.hostname = parts.host;
  if (parts.port) url.port = String(parts.port);
  if (parts.database) url.pathname = `/${parts.database}`;
  if (parts.query) url.search = parts.query;
  return url.toString();
}

function expectExplained(result: CliResult, message: RegExp) {
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^keygate: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toContain(SECRET);
  expect(result.stderr).toContain(':****@');
  expect(result.stderr).not.toMatch(/not reachable; check DATABASE_URL/);
}

/** Both ways the CLI opens PostgreSQL: a plain connection (lists) and Prisma with migrations. */
async function bothPaths(url: string, message: RegExp) {
  for (const args of [['org', 'list'], ['migrate']]) {
    expectExplained(await runCli({ DATABASE_URL: url }, args), message);
  }
}

describe('PostgreSQL connection failures, explained', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const server of servers) server.close();
  });

  it(
    'a database that does not exist: its name, and the createdb command that makes it',
    async () => {
      const name = `keygate_missing_${randomBytes(4).toString('hex')}`;
      await bothPaths(pgUrl({ database: name }), new RegExp(`database "${name}" does not exist.*createdb .*${name}`));
    },
    TIMEOUT,
  );

  it(
    'a role the server does not know',
    async () => {
      await bothPaths(
        pgUrl({ user: 'keygate_no_such_role', database: 'postgres' }),
        /refused user "keygate_no_such_role"/,
      );
    },
    TIMEOUT,
  );

  it(
    'a port nobody listens on',
    async () => {
      const port = await freePort();
      await bothPaths(
        pgUrl({ port, database: 'x' }),
        new RegExp(`nothing accepts connections at 127\\.0\\.0\\.1:${port}`),
      );
    },
    TIMEOUT,
  );

  it(
    'a host with no DNS address',
    async () => {
      await bothPaths(pgUrl({ host: 'nonexistent.invalid', database: 'x' }), /host "nonexistent\.invalid" .*not found/);
    },
    TIMEOUT,
  );

  it(
    'TLS asked of a server that offers none',
    async () => {
      await bothPaths(pgUrl({ database: 'postgres', query: '?sslmode=verify-full' }), /does not offer TLS/);
    },
    TIMEOUT,
  );

  it(
    'a server that accepts only TLS connections',
    async () => {
      // Answers the startup message with the FATAL error PostgreSQL 14+ sends when only hostssl rules match.
      const server = createServer((socket) => {
        socket.once('data', () => {
          const field = (type: string, value: string) => Buffer.concat([Buffer.from(type), Buffer.from(`${value}\0`)]);
          const fields = Buffer.concat([
            field('S', 'FATAL'),
            field('V', 'FATAL'),
            field('C', '28000'),
            field('M', 'no pg_hba.conf entry for host "127.0.0.1", user "postgres", database "x", no encryption'),
            Buffer.from('\0'),
          ]);
          const length = Buffer.alloc(4);
          length.writeInt32BE(fields.length + 4);
          socket.end(Buffer.concat([Buffer.from('E'), length, fields]));
        });
      });
      servers.push(server);
      const port = await new Promise<number>((resolve) =>
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
      );
      await bothPaths(
        pgUrl({ host: '127.0.0.1', port, database: 'x' }),
        /accepts only TLS connections\. Add \?sslmode=verify-full/,
      );
    },
    TIMEOUT,
  );
});

describe('Redis connection failures, explained in the server log', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-redis-errors-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each([
    [
      'a port nobody listens on',
      async () => `redis://:${SECRET}@127.0.0.1:${await freePort()}`,
      /nothing accepts connections at 127\.0\.0\.1:\d+: is Redis running/,
    ],
    [
      'a host with no DNS address',
      async () => `redis://:${SECRET}@nonexistent.invalid:6379`,
      /host \\"nonexistent\.invalid\\" of REDIS_URL was not found/,
    ],
  ])(
    '%s',
    async (_name, url, message) => {
      output(await runCli({ KEYGATE_DATA_DIR: dataDir, DATABASE_URL: '' }, ['migrate']));
      const server = await startServer({
        KEYGATE_DATA_DIR: dataDir,
        DATABASE_URL: '',
        REDIS_URL: await url(),
        LOG_LEVEL: 'warn',
      });
      try {
        const log = server.output();
        expect(log).toMatch(message);
        // Redacted here, and again by the logger, which masks any password in a URL it writes.
        expect(log).toMatch(/REDIS_URL=redis:\/\/:(\*{4}|\[redacted\])@/);
        expect(log).not.toContain(SECRET);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    },
    TIMEOUT,
  );
});
