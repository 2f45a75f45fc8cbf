// The two ways a static page and its files are served, for the tests of GraphiQL and the console: Yoga's
// plugin (app.fetch) and the node:http path of a real server process, started once per test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createTestApp, type TestApp } from './app.ts';
import { type ServerProcess, startServer } from './server-process.ts';

export interface Answer {
  status: number;
  header(name: string): string | undefined;
  body: Buffer;
}
export type Send = (method: string, path: string, headers?: Record<string, string>) => Promise<Answer>;

function viaNodeHttp(base: string): Send {
  return (method, path, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            header: (name) => {
              const value = res.headers[name];
              return Array.isArray(value) ? value.join(', ') : value;
            },
            body: Buffer.concat(chunks),
          }),
        );
      });
      req.on('error', reject);
      req.end();
    });
}

function viaAppFetch(t: () => TestApp): Send {
  return async (method, path, headers = {}) => {
    const response = await t().app.fetch(`http://keygate.test${path}`, { method, headers });
    return {
      status: response.status,
      header: (name) => response.headers.get(name) ?? undefined,
      body: Buffer.from(await response.arrayBuffer()),
    };
  };
}

/**
 * Starts an in-process app and a real server on the embedded database before the file's tests, stops
 * them after, and gives the rows for `describe.each`: each transport's name and a way to send.
 */
export function bothTransports(dirPrefix: string): Array<[string, () => Send]> {
  let t: TestApp;
  let server: ServerProcess;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), dirPrefix));
    [t, server] = await Promise.all([
      createTestApp('sqlite'),
      startServer({ KEYGATE_DATA_DIR: dir, DATABASE_URL: '' }, 60_000),
    ]);
  }, 90_000);
  afterAll(async () => {
    await Promise.all([t?.close(), server?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });
  return [
    ['app.fetch', () => viaAppFetch(() => t)],
    ['a real server', () => viaNodeHttp(server.url)],
  ];
}
