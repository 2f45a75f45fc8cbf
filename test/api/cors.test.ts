// CORS (docs/api.md "HTTP", CORS_ORIGINS; issue 12, item 9): a listed origin is reflected with Vary: Origin,
// one listed origin as several (the answer depends on the Origin header either way);
// any other origin gets no Access-Control-Allow-Origin at all (never "null", which a sandboxed iframe or
// a file: page sends as its own origin); no answer allows credentials (tokens travel in Authorization,
// Keygate sets no cookies).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

const A = 'https://a.example';
const B = 'https://b.example';
const QUERY = JSON.stringify({ query: '{ currentApiKey { id } }' });

describe.each(providers)('CORS on %s', (provider) => {
  describe.each([
    { configured: [A, B], listed: [A, B] },
    { configured: [A], listed: [A] },
  ])('with CORS_ORIGINS=$configured', ({ configured, listed }) => {
    let t: TestApp;
    let token: string;

    beforeAll(async () => {
      t = await createTestApp(provider, { corsOrigins: configured });
      token = (await (await t.org()).key({ roles: ['viewer'] })).token;
    });
    afterAll(() => t.close());

    const preflight = (origin: string) =>
      t.app.fetch('http://keygate.test/graphql', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const post = (origin: string) =>
      t.app.fetch('http://keygate.test/graphql', {
        method: 'POST',
        headers: { origin, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: QUERY,
      });

    it('reflects a listed origin, varies by origin, allows no credentials', async () => {
      for (const origin of listed) {
        for (const response of [await preflight(origin), await post(origin)]) {
          expect(response.headers.get('access-control-allow-origin')).toBe(origin);
          expect(response.headers.get('vary') ?? '').toMatch(/\bOrigin\b/i);
          expect(response.headers.get('access-control-allow-credentials')).toBeNull();
        }
        expect((await post(origin)).status).toBe(200);
      }
    });

    it.each(['https://evil.example', 'null', `${A}.evil.example`, 'http://a.example', ''])(
      'gives origin %j no Access-Control-Allow-Origin and no credentials',
      async (origin) => {
        for (const response of [await preflight(origin), await post(origin)]) {
          expect(response.headers.get('access-control-allow-origin')).toBeNull();
          expect(response.headers.get('access-control-allow-credentials')).toBeNull();
        }
      },
    );
  });
});
