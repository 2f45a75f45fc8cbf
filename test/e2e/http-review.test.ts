// HTTP answers as docs/api.md describes them, on points a review found wrong: POST /v1/verify is
// matched by its path whatever the query string.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { startVerifyServer, type VerifyServer, verifierToken } from '../helpers/verify-server.ts';

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
});
