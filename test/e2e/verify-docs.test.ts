// docs/verifying.md's example service runs as printed: its first `js` block, started as its own Node
// process (importing `keygate/client` as a service would), protects its route against a real Keygate
// HTTP server: 200 with the caller's key name for a key holding incidents.view, JSON errors otherwise.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/ports.ts';
import { startVerifyServer, type VerifyServer, verifierToken } from '../helpers/verify-server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const guide = readFileSync(new URL('../../docs/verifying.md', import.meta.url), 'utf8');
const example = /```js\n([\s\S]*?)```/.exec(guide)?.[1] as string;

describe('docs/verifying.md example service', () => {
  let t: TestApp;
  let keygate: VerifyServer;
  let service: ChildProcess;
  let serviceUrl: string;

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    keygate = await startVerifyServer(t);
    const port = await freePort();
    serviceUrl = `http://127.0.0.1:${port}`;
    service = spawn(process.execPath, ['--input-type=module', '-e', example], {
      cwd: ROOT,
      env: {
        ...process.env,
        KEYGATE_URL: keygate.url,
        KEYGATE_VERIFIER_TOKEN: await verifierToken(t),
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      service.stdout?.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening')) resolve();
      });
      service.once('exit', (code) => reject(new Error(`the example exited with ${code}`)));
    });
  }, 60_000);

  afterAll(async () => {
    service?.kill();
    await keygate?.close();
    await t?.close();
  });

  it('has the example', () => {
    expect(example).toContain("from 'keygate/client'");
  });

  it('lets a key with incidents.view through and refuses the rest with JSON', async () => {
    const org = await t.org();
    const viewer = await org.key({ roles: ['viewer'] }, 'dashboard');
    const other = await org.key({ roles: ['catalog_viewer'] });
    const call = async (token?: string) => {
      const response = await fetch(serviceUrl, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await call(viewer.token)).toEqual({ status: 200, body: { incidents: [], caller: 'dashboard' } });
    expect((await call(other.token)).status).toBe(403);
    expect((await call()).status).toBe(401);
    expect(await call('keygate_nope')).toMatchObject({ status: 401, body: { error: { code: 'MALFORMED' } } });
  });
});
