// A failure that escapes Yoga (its handler throws, or writing its answer out fails) is answered by the
// node:http server as every other 500 is (src/http/responses.ts, writeFailure): in the shape of its
// path, with the error id the log has, the API headers, and nothing of the error itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { type Listening, listenOnFreePort } from '../helpers/ports.ts';

describe('a failure that escapes Yoga', () => {
  let t: TestApp;
  let listening: Listening;
  const logged: Array<{ error: unknown; errorId: string | undefined }> = [];

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    // The app as the server sees it, but its handler fails with a secret in its message.
    const failing = new Proxy(t.app, {
      get(target, property, receiver) {
        if (property === 'handleNodeRequestAndResponse') {
          return () => {
            throw new Error('boom: postgresql://keygate:hunter2@db/keygate');
          };
        }
        return Reflect.get(target, property, receiver);
      },
    }) as App;
    const server = createHttpServer(failing, t.verifier, (error, errorId) => logged.push({ error, errorId }));
    listening = await listenOnFreePort(server);
  });
  afterAll(async () => {
    await listening.close();
    await t.close();
  });

  it('answers /graphql with a GraphQL 500 carrying the logged error id', async () => {
    const org = await t.org();
    const { token } = await org.key({ roles: ['viewer'] });
    const response = await fetch(`${listening.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ currentApiKey { id } }' }),
    });
    expect(response.status).toBe(500);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toContain('application/json');
    const text = await response.text();
    expect(text).not.toContain('hunter2');
    const body = JSON.parse(text) as { errors: Array<{ message: string; extensions: Record<string, string> }> };
    const error = body.errors[0];
    expect(error?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error?.extensions.errorId).toBe(logged.at(-1)?.errorId);
    expect(error?.message).toContain(logged.at(-1)?.errorId as string);
  });

  it('answers any other path with the plain-HTTP error shape', async () => {
    const response = await fetch(`${listening.url}/healthz`);
    expect(response.status).toBe(500);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const body = (await response.json()) as { error: { code: string; errorId: string } };
    expect(body.error.code).toBe('INTERNAL_SERVER_ERROR');
    expect(body.error.errorId).toBe(logged.at(-1)?.errorId);
    const error = logged.at(-1)?.error;
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain('boom');
  });
});
