// The node:http layer with rate limits off settles cached and refused tokens synchronously (src/http/
// server.ts). Through a real server on each database: the answers are the same as on the counted path,
// and a rotation or deletion takes effect on the very next request.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/domain/tokens.ts';
import { createEmptyDatabase, providers } from '../helpers/databases.ts';
import { graphql, type ServerProcess, startServer } from '../helpers/server-process.ts';

const CURRENT = '{ currentApiKey { id name } }';

describe.each(providers)('authentication with rate limits off, through a real server on %s', (provider) => {
  let server: ServerProcess;
  let admin: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const limitsOff = { KEYGATE_RATE_LIMIT_PER_KEY: '0', KEYGATE_FAILED_AUTH_LIMIT: '0' };
    if (provider === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'keygate-fast-'));
      server = await startServer({ ...limitsOff, KEYGATE_DATA_DIR: dir, DATABASE_URL: '' });
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const db = await createEmptyDatabase('postgresql');
      if (db.config.provider !== 'postgresql') throw new Error('expected PostgreSQL');
      server = await startServer({ ...limitsOff, DATABASE_URL: db.config.url });
      cleanup = db.remove;
    }
    admin = server.bootstrapToken() as string;
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  }, 60_000);

  it('answers a valid token, again from the cache, and refuses malformed and unknown ones with 401', async () => {
    for (let i = 0; i < 3; i++) expect((await graphql(server.url, admin, CURRENT)).status).toBe(200);
    const malformed = `${admin.slice(0, -1)}${admin.endsWith('A') ? 'B' : 'A'}`;
    const unknown = generateToken();
    for (const token of [malformed, unknown, unknown, null]) {
      const answer = await graphql(server.url, token, CURRENT);
      expect(answer.status).toBe(401);
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('drops a rotated token and a deleted key at once, even while they are cached', async () => {
    const created = await graphql(
      server.url,
      admin,
      'mutation { createApiKey(input: { name: "fast path", roleNames: ["viewer"] }) { apiKey { id } token } }',
    );
    const { apiKey, token } = (created.body.data as { createApiKey: { apiKey: { id: string }; token: string } })
      .createApiKey;
    expect((await graphql(server.url, token, CURRENT)).status).toBe(200);
    expect((await graphql(server.url, token, CURRENT)).status).toBe(200);

    const rotated = await graphql(
      server.url,
      admin,
      'mutation($id: ID!) { rotateApiKey(input: { id: $id, gracePeriodMinutes: 0 }) { token } }',
      { id: apiKey.id },
    );
    const next = (rotated.body.data as { rotateApiKey: { token: string } }).rotateApiKey.token;
    expect((await graphql(server.url, token, CURRENT)).status).toBe(401);
    expect((await graphql(server.url, next, CURRENT)).status).toBe(200);

    await graphql(server.url, admin, 'mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }', {
      id: apiKey.id,
    });
    expect((await graphql(server.url, next, CURRENT)).status).toBe(401);
  });

  // Over node:http a body with a Content-Length is bounded by Node's parser, so only bodies without
  // one are counted as they are read (src/limits/graphql-limits.ts); both sides of the limit hold.
  describe('the request body limit (100 KiB)', () => {
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, ...headers },
        body,
        duplex: 'half',
      } as RequestInit);
    const padded = (bytes: number) => {
      const body = JSON.stringify({ query: CURRENT, variables: { pad: '' } });
      return body.replace('"pad":""', `"pad":"${'x'.repeat(bytes - body.length)}"`);
    };
    const chunked = (text: string) => {
      const bytes = new TextEncoder().encode(text);
      return new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 8_192) controller.enqueue(bytes.subarray(at, at + 8_192));
          controller.close();
        },
      });
    };

    it('serves a body of exactly 100 KiB, with a Content-Length and without one (chunked)', async () => {
      for (const body of [padded(102_400), chunked(padded(102_400))]) {
        const response = await post(body);
        expect(response.status).toBe(200);
        expect(((await response.json()) as { data: unknown }).data).toHaveProperty('currentApiKey.id');
      }
    });

    it('answers 413 to a longer body, with a Content-Length and without one (chunked)', async () => {
      for (const body of [padded(102_401), chunked(padded(150_000))]) {
        const response = await post(body);
        expect(response.status).toBe(413);
        const answer = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
        expect(answer.errors[0]?.message).toMatch(/Request body too large: the limit is 102400 bytes/);
        expect(answer.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
      }
    });
  });
});
