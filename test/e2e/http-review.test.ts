// HTTP answers as docs/api.md describes them, on points a review found wrong: POST /v1/verify is
// matched by its path whatever the query string; every response carries an x-request-id, also the raw
// answers to requests Node's parser refuses and the answers of the METRICS_PORT listener; a new one is
// random, not a counter that tells how many requests a process served.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsServer } from '../../src/observability/metrics.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { listenOnFreePort, sendRaw } from '../helpers/ports.ts';
import { startVerifyServer, type VerifyServer, verifierToken } from '../helpers/verify-server.ts';

/** The x-request-id header of a raw HTTP/1.1 answer, and its status. */
function rawAnswer(text: string): { status: number; requestId: string | undefined } {
  const [head = ''] = text.split('\r\n\r\n', 1);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const line = lines.find((l) => l.toLowerCase().startsWith('x-request-id:'));
  return { status: Number(statusLine.split(' ')[1]), requestId: line?.slice(line.indexOf(':') + 1).trim() };
}

describe('x-request-id on the METRICS_PORT listener', () => {
  it("every answer carries one: the metrics, a 404, the caller's own when well-formed", async () => {
    const server = createMetricsServer(new Registry());
    const { url } = await listenOnFreePort(server);
    try {
      const ids = new Set<string>();
      for (const [method, path, status] of [
        ['GET', '/metrics', 200],
        ['GET', '/nope', 404],
        ['POST', '/metrics', 404],
      ] as const) {
        const response = await fetch(`${url}${path}`, { method });
        expect(response.status).toBe(status);
        const id = response.headers.get('x-request-id');
        expect(id, `${method} ${path}`).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
        ids.add(id as string);
        await response.arrayBuffer();
      }
      expect(ids.size).toBe(3);
      const own = await fetch(`${url}/metrics`, { headers: { 'x-request-id': 'caller-id-1' } });
      expect(own.headers.get('x-request-id')).toBe('caller-id-1');
      await own.arrayBuffer();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe.each(providers)('HTTP on %s', (provider) => {
  let t: TestApp;
  let server: VerifyServer;

  beforeAll(async () => {
    t = await createTestApp(provider);
    server = await startVerifyServer(t);
  });
  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  it('POST /v1/verify with a query string is the verification endpoint', async () => {
    const key = await (await t.org()).key({ roles: ['viewer'] });
    const auth = await verifierToken(t);
    for (const path of ['/v1/verify', '/v1/verify?x=1', '/v1/verify?']) {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
        body: JSON.stringify({ token: key.token }),
      });
      expect(response.status, path).toBe(200);
      expect(((await response.json()) as { valid: boolean }).valid).toBe(true);
    }
    // Only that path: a longer one is not it.
    const other = await fetch(`${server.url}/v1/verifyx?x=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      body: JSON.stringify({ token: key.token }),
    });
    expect(other.status).toBe(404);
  });

  it('a new x-request-id is random: 16 base64url characters, nothing shared by consecutive ones; a caller keeps its own', async () => {
    const ids: string[] = [];
    const answers = [
      () => fetch(`${server.url}/healthz`),
      () => fetch(`${server.url}/graphql`, { method: 'POST' }),
      () => fetch(`${server.url}/v1/verify`, { method: 'POST' }),
      () => fetch(`${server.url}/nope`),
    ];
    for (let i = 0; i < 40; i++) {
      const response = await (answers[i % answers.length] as () => Promise<Response>)();
      await response.arrayBuffer();
      ids.push(response.headers.get('x-request-id') as string);
    }
    for (const [i, id] of ids.entries()) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{16}$/);
      if (i === 0) continue;
      // No process prefix, no counter: two ids in a row share no more than chance gives them.
      const previous = ids[i - 1] as string;
      let shared = 0;
      while (shared < id.length && id[shared] === previous[shared]) shared++;
      expect({ previous, id, shared: shared < 6 }).toEqual({ previous, id, shared: true });
      // Nor do they differ only in their last characters: a counter's next value changes one or two.
      const differing = [...id].filter((char, at) => char !== previous[at]).length;
      expect({ previous, id, differing: differing > 8 }).toEqual({ previous, id, differing: true });
    }
    expect(new Set(ids).size).toBe(ids.length);
    const own = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'caller-id-1' } });
    await own.arrayBuffer();
    expect(own.headers.get('x-request-id')).toBe('caller-id-1');
  });

  it("the answers to requests Node's parser refuses carry a new x-request-id each", async () => {
    const ids = new Set<string>();
    for (const [bytes, status] of [
      ['GET /graphql HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n', 400],
      ['GET /graphql HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n', 400],
      [`GET /graphql HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ] as const) {
      const answer = rawAnswer(await sendRaw(server.url, bytes));
      expect(answer.status).toBe(status);
      expect(answer.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      ids.add(answer.requestId as string);
    }
    expect(ids.size).toBe(3);
  });
});
