// Runs the keygate CLI (bin/keygate.js, the build in dist/) as a separate process, as an operator would.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const KEYGATE_BIN = fileURLToPath(new URL('../../bin/keygate.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall-clock milliseconds from spawn to exit. */
  ms: number;
}

export function runCli(
  env: Record<string, string>,
  args: string[],
  options: { cwd?: string; killAfterMs?: number } = {},
): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KEYGATE_BIN, ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    // A command that should have ended but serves instead is stopped (the test then fails on its code).
    const timer =
      options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** The JSON a successful command printed (and that it printed nothing on stderr). */
export function output<T>(result: CliResult): T {
  if (result.code !== 0 || result.stderr !== '') {
    throw new Error(`keygate exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** The environment that points the CLI and the server at a test database. */
export function databaseEnv(
  config: { provider: 'sqlite'; dataDir: string } | { provider: 'postgresql'; url: string },
  dataDir: string,
): Record<string, string> {
  return config.provider === 'sqlite'
    ? { KEYGATE_DATA_DIR: config.dataDir, DATABASE_URL: '' }
    : { DATABASE_URL: config.url, KEYGATE_DATA_DIR: dataDir };
}

/**
 * The arguments of `keygate key create`: a key named `name` in the organization `org` (id or name),
 * created by its user `as` (email); `flags` are further `--flag value` pairs (roles, teams, team-roles, expires-at).
 */
export function keyCreateArgs(org: string, as: string, name: string, flags: Record<string, string> = {}): string[] {
  const more = Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, value]);
  return ['key', 'create', '--org', org, '--as', as, '--name', name, ...more];
}
