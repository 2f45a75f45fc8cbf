// Shutdown under a real supervisor: a process manager, container runtime or test harness signals the
// whole process group, often more than once (SIGTERM to the group, again to the process, SIGINT from a
// terminal). The server must drain and flush once, whatever comes after the first signal: every request
// it answered is in the database, and every key's lastUsedAt is that of its last answered request.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/db/database-config.ts';
import { createApiKey } from '../../src/domain/api-keys.ts';
import { createOrganization, createUser } from '../../src/domain/organizations.ts';
import { openRuntime } from '../../src/runtime.ts';
import { databaseEnv } from '../helpers/cli-process.ts';
import { createEmptyDatabase, type Provider, providers } from '../helpers/databases.ts';
import { freePort } from '../helpers/ports.ts';
import { KEYGATE_BIN } from '../helpers/server-process.ts';

const TIMEOUT = 120_000;
const READERS = 6;

const CREATE =
  'mutation($name: String!) { createApiKey(input: { name: $name, roleNames: ["viewer"] }) { apiKey { id } } }';

describe.each(providers)('shutdown signalled to the process group on %s', (provider: Provider) => {
  let config: DatabaseConfig;
  let remove: () => Promise<void>;
  let dataDir: string;
  let manager: string;
  const readers: Array<{ id: string; token: string }> = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'keygate-shutdown-'));
    const empty = await createEmptyDatabase(provider);
    config = empty.config;
    remove = empty.remove;
    const { database, domain } = await openRuntime({ database: config });
    try {
      const org = await createOrganization(domain.db, { name: 'Acme' });
      const user = await createUser(domain.db, org.id, { email: 'ops@acme.test', name: 'Ops' });
      const as = { kind: 'user' as const, organizationId: org.id, userId: user.id };
      manager = (await createApiKey(domain, as, { name: 'manager', roleNames: ['api_keys_manage', 'viewer'] })).token;
      for (let i = 0; i < READERS; i++) {
        const { apiKey, token } = await createApiKey(domain, as, { name: `reader ${i}`, roleNames: ['viewer'] });
        readers.push({ id: apiKey.id, token });
      }
    } finally {
      await database.close();
    }
  }, TIMEOUT);

  afterAll(async () => {
    await remove?.();
    rmSync(dataDir, { recursive: true, force: true });
  }, TIMEOUT);

  it(
    'two SIGTERMs and a SIGINT to the group: every answered request is recorded, lastUsedAt is flushed, exit 0',
    async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}/graphql`;
      // Its own process group, as a supervisor starts it: process.kill(-pid) signals the whole group.
      const child: ChildProcess = spawn(process.execPath, [KEYGATE_BIN, 'serve'], {
        detached: true,
        env: {
          ...process.env,
          ...databaseEnv(config as never, dataDir),
          HOST: '127.0.0.1',
          PORT: String(port),
          LOG_LEVEL: 'info',
          // Only the flush at shutdown writes lastUsedAt during this test.
          KEYGATE_LAST_USED_FLUSH_MS: '600000',
          KEYGATE_RATE_LIMIT_PER_KEY: '0',
        },
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
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const pid = child.pid as number;
      try {
        const deadline = Date.now() + 60_000;
        while (!/Keygate is listening/.test(stdout)) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start: ${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }

        // Load: readers each with their own key, writers creating keys, until the server stops answering.
        const lastAnsweredAt = new Map<string, number>();
        const created: string[] = [];
        let stop = false;
        const post = (token: string, query: string, variables?: object) =>
          fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ query, variables }),
          });
        const reader = async (key: { id: string; token: string }) => {
          while (!stop) {
            const sentAt = Date.now();
            try {
              const response = await post(key.token, '{ currentApiKey { id } }');
              if (response.status === 200) lastAnsweredAt.set(key.id, sentAt);
              await response.arrayBuffer();
            } catch {
              return; // the server has closed
            }
          }
        };
        const writer = async (n: number) => {
          for (let i = 0; !stop; i++) {
            try {
              const response = await post(manager, CREATE, { name: `w${n}-${i}` });
              const body = (await response.json()) as { data?: { createApiKey: { apiKey: { id: string } } } };
              if (response.status === 200 && body.data) created.push(body.data.createApiKey.apiKey.id);
            } catch {
              return;
            }
          }
        };
        const load = [...readers.map(reader), writer(1), writer(2)];

        // A request whose body is still arriving when the signals come: the drain waits for it.
        const slow = connect(port, '127.0.0.1');
        await new Promise((resolve) => slow.once('connect', resolve));
        const slowClosed = new Promise((resolve) => slow.once('close', resolve));
        const body = JSON.stringify({ query: CREATE, variables: { name: 'slow' } });
        slow.write(
          `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${manager}\r\n` +
            `Content-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`,
        );
        let answer = '';
        slow.on('data', (chunk) => {
          answer += chunk;
        });

        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(lastAnsweredAt.size).toBe(READERS);

        process.kill(-pid, 'SIGTERM');
        while (!/shutting down/.test(stdout)) {
          if (child.exitCode !== null) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        process.kill(-pid, 'SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 100));
        process.kill(-pid, 'SIGINT');
        await new Promise((resolve) => setTimeout(resolve, 300));
        // Still draining (the slow request is not answered yet), not killed by a later signal.
        expect({ code: child.exitCode, signal: child.signalCode }).toEqual({ code: null, signal: null });

        // The rest of the body (not end(): a half-closed socket may be dropped before it is answered).
        slow.write(body.slice(20));
        await slowClosed;
        expect(answer, `${stdout}\n${stderr}`).toMatch(/^HTTP\/1\.1 200/);
        const slowId = /"id":"([0-9A-Z]{26})"/.exec(answer)?.[1];
        expect(slowId).toBeDefined();
        created.push(slowId as string);

        expect(await exited).toEqual({ code: 0, signal: null });
        stop = true;
        await Promise.all(load);
        expect(stdout).toMatch(/already shutting down/);

        // Read the database afterwards.
        const { database } = await openRuntime({ database: config });
        try {
          const rows = await database.prisma.apiKey.findMany({ select: { id: true, lastUsedAt: true } });
          const byId = new Map(rows.map((row) => [row.id, row]));
          expect(created.length).toBeGreaterThan(1);
          for (const id of created) expect(byId.has(id), `answered create ${id}`).toBe(true);
          for (const [id, sentAt] of lastAnsweredAt) {
            const lastUsedAt = byId.get(id)?.lastUsedAt;
            expect(lastUsedAt, `lastUsedAt of ${id}`).not.toBeNull();
            expect((lastUsedAt as Date).getTime()).toBeGreaterThanOrEqual(sentAt);
          }
        } finally {
          await database.close();
        }
      } finally {
        if (child.exitCode === null && child.signalCode === null) process.kill(-pid, 'SIGKILL');
      }
    },
    TIMEOUT,
  );
});
