// Runs the keygate CLI (bin/keygate.js, the build in dist/) as a separate process, as an operator would.
import { spawn } from 'node:child_process';
import { KEYGATE_BIN } from './server-process.ts';

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
  options: { cwd?: string } = {},
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
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
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
