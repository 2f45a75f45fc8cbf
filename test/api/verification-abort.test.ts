// POST /v1/verify and a client that goes away in the middle of its body: nothing to answer, and not an
// "unexpected error" in the log (a server error at error level would page someone for a client's hang-up).
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.ts';
import { verifyHandler } from '../../src/verification/http.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { verifierToken } from '../helpers/verify-server.ts';

describe('POST /v1/verify with a body cut off midway', () => {
  let t: TestApp;
  let url: URL;
  let close: () => Promise<void>;
  const unexpected: unknown[] = [];

  beforeAll(async () => {
    t = await createTestApp('sqlite', { verifyPerKeyPerMinute: 0 });
    const verify = verifyHandler({
      engine: t.verification,
      verifierTokens: t.verifierTokens,
      rateLimits: t.rateLimits,
      onError: (error) => unexpected.push(error),
    });
    const server = createHttpServer(t.app, t.verifier, () => {}, { verifierTokens: t.verifierTokens, verify });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/verify`);
    close = async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
  });
  afterAll(async () => {
    await close?.();
    await t?.close();
  });

  it('logs nothing and still answers the next request', async () => {
    const verifier = await verifierToken(t);
    for (let i = 0; i < 5; i++) {
      const socket = connect(Number(url.port), url.hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST /v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${verifier}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"token": "keyg',
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
      socket.destroy();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unexpected).toEqual([]);
    const org = await t.org();
    const key = await org.key({ roles: ['viewer'] });
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${verifier}` },
      body: JSON.stringify({ token: key.token }),
    });
    expect(((await response.json()) as { code: string }).code).toBe('VALID');
  });
});
