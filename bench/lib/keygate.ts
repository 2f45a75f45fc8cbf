// The real Keygate server for the benchmark: `node bin/keygate.js serve` on a fresh database (a temp dir
// for the embedded default, a new PostgreSQL database otherwise), its bootstrap token read from stdout.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { SeedTarget } from '../seed.ts';
import { freePort, type Pinning, ServerProcess } from './processes.ts';
import type { Provider } from './report.ts';

export interface BenchDatabase {
  provider: Provider;
  seedTarget: SeedTarget;
  /** Environment that points Keygate at this database. */
  env: Record<string, string>;
  /** PostgreSQL backends serving this database (none for the embedded one). */
  backendPids(): Promise<number[]>;
  drop(): Promise<void>;
}

async function withClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(provider: Provider, pgAdminUrl: string): Promise<BenchDatabase> {
  if (provider === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-bench-'));
    return {
      provider,
      seedTarget: { provider, file: join(dir, 'keygate.db') },
      env: { KEYGATE_DATA_DIR: dir },
      backendPids: async () => [],
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `keygate_bench_${randomBytes(6).toString('hex')}`;
  await withClient(pgAdminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  return {
    provider,
    seedTarget: { provider, url: url.toString() },
    env: { DATABASE_URL: url.toString() },
    backendPids: () =>
      withClient(pgAdminUrl, async (client) => {
        const result = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
          name,
        ]);
        return result.rows.map((row) => row.pid);
      }),
    drop: async () => {
      await withClient(pgAdminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

const SHEBANG = /^#!\S*env(?:\s+-S)?((?:\s+[A-Za-z_][A-Za-z0-9_]*=\S*)*)\s+node\s*(.*)$/;

/** The node flags of a script's `#!/usr/bin/env -S [NAME=value …] node …` line: the server runs as users run it. */
export function nodeFlagsOf(script: string): string[] {
  const match = SHEBANG.exec(readFileSync(script, 'utf8').split('\n', 1)[0] ?? '');
  return match?.[2] ? match[2].trim().split(/\s+/) : [];
}

/** The environment variables the same line sets before node (e.g. MALLOC_ARENA_MAX). */
export function shebangEnvOf(script: string): Record<string, string> {
  const match = SHEBANG.exec(readFileSync(script, 'utf8').split('\n', 1)[0] ?? '');
  const assignments = match?.[1]?.trim() ? (match[1].trim().split(/\s+/) as string[]) : [];
  return Object.fromEntries(
    assignments.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

export interface RunningKeygate {
  server: ServerProcess;
  /** http://host:port, without a path. */
  origin: string;
  /** The bootstrap admin token, when this start created the organization. */
  token: string | null;
}

const TOKEN_MARKER = 'TOKEN (shown only this once';

export async function startKeygate(
  database: BenchDatabase,
  options: { cwd: string; pinning: Pinning; expectBootstrap: boolean; name: string; env: Record<string, string> },
): Promise<RunningKeygate> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.KEYGATE_DATA_DIR;
  Object.assign(env, shebangEnvOf(join(options.cwd, 'bin/keygate.js')), options.env, database.env, {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
  });
  const server = new ServerProcess({
    name: options.name,
    command: process.execPath,
    args: [...nodeFlagsOf(join(options.cwd, 'bin/keygate.js')), 'bin/keygate.js', 'serve'],
    env,
    cwd: options.cwd,
    pinning: options.pinning,
  });
  const origin = `http://127.0.0.1:${port}`;
  try {
    let token: string | null = null;
    if (options.expectBootstrap) {
      let marked = false;
      token = await server.waitForLine((line) => {
        if (marked) return line.trim();
        marked = line.includes(TOKEN_MARKER);
        return undefined;
      }, 120_000);
    }
    await server.waitForHttp(`${origin}/readyz`, 120_000);
    return { server, origin, token };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** One GraphQL request outside the load (set-up steps); throws on an error answer. */
export async function graphqlRequest<T>(
  origin: string,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || body.errors || !body.data) {
    throw new Error(`GraphQL request failed (${response.status}): ${JSON.stringify(body).slice(0, 500)}`);
  }
  return body.data;
}
