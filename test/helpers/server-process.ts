// A real Keygate server process (bin/keygate.js serve) on a free port, for end-to-end tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, KEYGATE_BIN, runCli } from './cli-process.ts';
import { createEmptyDatabase, type Provider } from './databases.ts';
import { freePort } from './ports.ts';

export { KEYGATE_BIN };

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything printed on stdout so far. */
  output(): string;
  /** The bootstrap token, when this start created one. */
  bootstrapToken(): string | null;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Runs `keygate ...args` (the CLI, its own process) on the server's database. */
  cli(...args: string[]): Promise<CliResult>;
}

export async function startServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [KEYGATE_BIN, 'serve'], {
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    child,
    output: () => stdout,
    bootstrapToken: () => /TOKEN \(shown only this once[^\n]*\n\s*(\S+)/.exec(stdout)?.[1] ?? null,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    cli: (...args) => runCli(env, args),
  };
}

export async function graphql(
  url: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

/**
 * A real server on a fresh, empty database of `provider` (a temp data directory, or a new PostgreSQL
 * database), and the cleanup that removes that database once the server has stopped.
 */
export async function startServerOnFreshDatabase(
  provider: Provider,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ server: ServerProcess; cleanup: () => Promise<void> }> {
  if (provider === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-server-'));
    const server = await startServer({ ...env, KEYGATE_DATA_DIR: dir, DATABASE_URL: '' }, timeoutMs);
    return { server, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const db = await createEmptyDatabase('postgresql');
  if (db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
  const server = await startServer({ ...env, DATABASE_URL: db.config.url }, timeoutMs);
  return { server, cleanup: db.remove };
}
