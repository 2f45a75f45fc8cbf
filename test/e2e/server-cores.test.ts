// The server on one core collects its garbage on the main thread (src/cpu-share.ts): V8's collector
// threads, sharing that core, would stop every request in flight for slices of several milliseconds.
// With two cores or more they stay. `keygate serve` says which it chose when it starts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { usableCores } from '../../src/cpu-share.ts';
import { startServer } from '../helpers/server-process.ts';

const TIMEOUT = 60_000;

/** The fields of the server's "Keygate is listening" log line. */
function listeningLine(stdout: string): Record<string, unknown> {
  const line = stdout.split('\n').find((text) => text.includes('Keygate is listening'));
  if (!line) throw new Error(`no listening line in: ${stdout}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('keygate serve chooses where V8 collects its garbage from the cores it may use', () => {
  const dirs: string[] = [];
  const start = async (prefix: string[] = []) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keygate-cores-'));
    dirs.push(dataDir);
    const server = await startServer({ KEYGATE_DATA_DIR: dataDir, LOG_LEVEL: 'info' }, 30_000, prefix);
    try {
      return listeningLine(server.output());
    } finally {
      await server.stop();
    }
  };

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'pinned to one core (taskset): on the main thread only',
    async () => {
      const line = await start(['taskset', '-c', '0']);
      expect(line).toMatchObject({ cores: 1, backgroundGc: false });
    },
    TIMEOUT,
  );

  it(
    'on every core of this machine: on threads of its own too when it has two or more',
    async () => {
      const line = await start();
      const cores = usableCores();
      expect(line).toMatchObject({ cores, backgroundGc: cores >= 2 });
    },
    TIMEOUT,
  );
});
