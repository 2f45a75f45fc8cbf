// The edges of the HTTP server, through a real node:http server (src/http/server.ts) with requests
// written as a client on the wire sends them (paths are not normalised by a URL parser on the way):
// only the exact endpoints serve (issue 12, item 8), also for paths a URL parser would fold into one
// ("/x/../graphql") and Host headers that would move the path; every answer, including the fast path's
// own 401 and 429, carries the security headers and a JSON error body with a code (item 9); a malformed
// request is 400 (docs/api.md, Errors), two Authorization headers included.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenLookup } from '../../src/auth/token-lookup.ts';
import { TokenVerifier } from '../../src/auth/verifier.ts';
import { generateToken } from '../../src/domain/tokens.ts';
import { RateLimits } from '../../src/limits/rate-limit.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { FOLDED_PATHS, LOOK_ALIKE_PATHS } from '../helpers/look-alike-paths.ts';
import { sendRaw } from '../helpers/ports.ts';
import { parseRawAnswer } from '../helpers/raw-answer.ts';
import { startHttpServer, startVerifyServer, type VerifyServer, verifierToken } from '../helpers/verify-server.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request exactly as given: method, raw path, headers (as a list of names and values: written in
 * their case, repeats included), body.
 */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> | string[] = {},
  body?: string,
): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A raw HTTP/1.1 answer as status, lower-cased headers and body. */
function parseRaw(text: string): Answer {
  const { status, headers, body } = parseRawAnswer(text);
  return { status, headers, text: body };
}

const PROBE = JSON.stringify({ query: '{ nope currentApiKey { id } apiKey { id } }' });
const JSON_HEADERS = { 'content-type': 'application/json' };

function expectSecurityHeaders(answer: Answer) {
  expect(answer.headers['x-content-type-options']).toBe('nosniff');
  expect(answer.headers['referrer-policy']).toBe('no-referrer');
}

function expectApiHeaders(answer: Answer) {
  expectSecurityHeaders(answer);
  expect(answer.headers['cache-control']).toBe('no-store');
}

/** A JSON error body with a code: `errors[0].extensions.code` on /graphql, `error.code` elsewhere. */
function errorCode(answer: Answer): string | undefined {
  expect(String(answer.headers['content-type'])).toMatch(/^application\/(graphql-response\+)?json/);
  const body = JSON.parse(answer.text) as {
    error?: { code?: string; message?: string };
    errors?: Array<{ message?: string; extensions?: { code?: string } }>;
  };
  const message = body.error?.message ?? body.errors?.[0]?.message;
  expect(message?.length).toBeGreaterThan(0);
  return body.error?.code ?? body.errors?.[0]?.extensions?.code;
}

for (const provider of providers) {
  describe.each([
    { mode: 'rate limits off (the synchronous fast path)', limits: { perKeyPerMinute: 0, failedAuthPerMinute: 0 } },
    { mode: 'rate limits on (the counted path)', limits: { perKeyPerMinute: 1000, failedAuthPerMinute: 3 } },
  ])(`the HTTP edges on ${provider}, $mode`, ({ limits }) => {
    let t: TestApp;
    let base: string;
    let token: string;
    let lookups = 0;
    let close: () => Promise<void>;

    beforeAll(async () => {
      t = await createTestApp(provider);
      t.clock.freeze();
      const org = await t.org();
      token = (await org.key({ roles: ['viewer'] })).token;
      const rateLimits = new RateLimits({ ...limits, now: t.clock.now });
      const lookup = createTokenLookup(t.db.database.raw);
      const verifier = new TokenVerifier(t.domain, {
        find: (hash) => {
          lookups++;
          return lookup.find(hash);
        },
      });
      ({ url: base, close } = await startHttpServer(t, { rateLimits, verifier }));
    });
    afterAll(async () => {
      await close?.();
      await t?.close();
    });

    it('look-alike paths are 404 with a JSON error, parse nothing and look up no token', async () => {
      const before = lookups;
      for (const path of LOOK_ALIKE_PATHS) {
        for (const auth of [{}, { authorization: `Bearer ${generateToken()}` }] as Record<string, string>[]) {
          const answer = await send(base, 'POST', path, { ...JSON_HEADERS, ...auth }, PROBE);
          expect({ path, status: answer.status }).toEqual({ path, status: 404 });
          expect(errorCode(answer)).toBe('NOT_FOUND');
          expect(answer.text).not.toMatch(/Cannot query|nope|Syntax Error/);
          expectApiHeaders(answer);
        }
      }
      expect(lookups - before).toBe(0);
    });

    it('paths a URL parser folds into an endpoint are 404, even with a valid token, and look up no token', async () => {
      const before = lookups;
      for (const path of FOLDED_PATHS) {
        const auths: Record<string, string>[] = [
          {},
          { authorization: `Bearer ${generateToken()}` },
          { authorization: `Bearer ${token}` },
        ];
        for (const auth of auths) {
          for (const method of ['POST', 'GET']) {
            const answer = await send(
              base,
              method,
              path,
              { ...JSON_HEADERS, ...auth },
              method === 'POST' ? PROBE : undefined,
            );
            expect({ method, path, status: answer.status }).toEqual({ method, path, status: 404 });
            expect(errorCode(answer)).toBe('NOT_FOUND');
            expect(answer.text).not.toMatch(/currentApiKey|Cannot query|nope|status/);
            expectApiHeaders(answer);
          }
        }
      }
      expect(lookups - before).toBe(0);
    });

    it('a Host header that is no host name or address is refused with 400, the request unserved', async () => {
      // A URL parser reads Yoga's URL from the Host and the path as sent: "x/graphql?" made any path
      // /graphql, and "a b" or "127.0.0.1:99999" made the URL invalid (500).
      const before = lookups;
      const auth = { authorization: `Bearer ${token}` };
      for (const [host, path] of [
        ['x/graphql?', '/anything'],
        ['x/graphql#', '/anything'],
        ['x\\graphql?', '/anything'],
        ['x@y', '/graphql'],
        ['a b', '/graphql'],
        // Names the host pattern takes and the URL parser refuses: each was a 500, unauthenticated too.
        ...['127.0.0.1:99999', '127.0.0.1:65536', '[::1]:65536', '[1:2]', '[::1::1]', '256.1.1.1', '1.2.3.4.5']
          .concat(['999999999999', '0x1ffffffff', 'a.123'])
          .flatMap((bad) => [
            [bad, '/graphql'],
            [bad, '/healthz'],
            [bad, '/nope'],
          ]),
      ]) {
        const answer = await send(
          base,
          'POST',
          path as string,
          { ...JSON_HEADERS, ...auth, host: host as string },
          PROBE,
        );
        expect({ host, status: answer.status }).toEqual({ host, status: 400 });
        expect(errorCode(answer)).toBe('BAD_USER_INPUT');
        expect(answer.text).not.toMatch(/currentApiKey|Cannot query|nope/);
        expectApiHeaders(answer);
      }
      expect(lookups - before).toBe(0);
      // Ordinary hosts are served.
      for (const host of ['keygate.example', 'keygate.example:4000', '[::1]:4000', '127.0.0.1']) {
        const ok = await send(
          base,
          'POST',
          '/graphql',
          { ...JSON_HEADERS, ...auth, host },
          JSON.stringify({ query: '{ currentApiKey { id } }' }),
        );
        expect({ host, status: ok.status }).toEqual({ host, status: 200 });
      }
    });

    it('the exact endpoint answers a valid token, and refuses a missing one with 401 and the headers', async () => {
      const ok = await send(
        base,
        'POST',
        '/graphql',
        { ...JSON_HEADERS, authorization: `Bearer ${token}` },
        JSON.stringify({ query: '{ currentApiKey { id } }' }),
      );
      expect(ok.status).toBe(200);
      expectApiHeaders(ok);
      const refused = await send(base, 'POST', '/graphql', JSON_HEADERS, PROBE);
      expect(refused.status).toBe(401);
      expect(errorCode(refused)).toBe('UNAUTHENTICATED');
      expect(refused.headers['www-authenticate']).toBe('Bearer');
      expectApiHeaders(refused);
    });

    it('every error answer is JSON with a code and carries the headers', async () => {
      const auth = { authorization: `Bearer ${token}` };
      const cases: Array<[string, string, Record<string, string>, string | undefined, number, string]> = [
        ['POST', '/graphql', { ...auth, 'content-type': 'text/plain' }, PROBE, 415, 'BAD_USER_INPUT'],
        ['POST', '/graphql', { ...auth }, PROBE, 415, 'BAD_USER_INPUT'],
        ['PUT', '/graphql', { ...auth, ...JSON_HEADERS }, PROBE, 405, 'BAD_USER_INPUT'],
        ['DELETE', '/graphql', { ...auth }, undefined, 405, 'BAD_USER_INPUT'],
        [
          'GET',
          '/graphql?query=%7BcurrentApiKey%7Bid%7D%7D',
          { ...auth, accept: 'application/xml' },
          undefined,
          406,
          'BAD_USER_INPUT',
        ],
        // A malformed request (docs/api.md, Errors): 400, whatever media type the client accepts.
        ['POST', '/graphql', { ...auth, ...JSON_HEADERS }, '', 400, 'BAD_USER_INPUT'],
        [
          'POST',
          '/graphql',
          { ...auth, ...JSON_HEADERS },
          '{"query": "{ currentApiKey { id } }"',
          400,
          'BAD_USER_INPUT',
        ],
        ['POST', '/graphql', { ...auth, ...JSON_HEADERS }, '{}', 400, 'BAD_USER_INPUT'],
        ['GET', '/graphql', { ...auth }, undefined, 400, 'BAD_USER_INPUT'],
        ['POST', '/graphql', { ...auth, ...JSON_HEADERS }, 'null', 400, 'BAD_USER_INPUT'],
        ['POST', '/graphql', { ...auth, ...JSON_HEADERS }, '[]', 400, 'BAD_USER_INPUT'],
        ['POST', '/graphql', { ...auth, ...JSON_HEADERS }, 'x'.repeat(200_000), 413, 'BAD_USER_INPUT'],
        ['GET', '/nothing', {}, undefined, 404, 'NOT_FOUND'],
        ['GET', '/', { accept: 'text/html' }, undefined, 404, 'NOT_FOUND'],
        ['OPTIONS', '/graphql', {}, undefined, 401, 'UNAUTHENTICATED'],
      ];
      for (const [method, path, headers, body, status, code] of cases) {
        const answer = await send(base, method, path, headers, body);
        expect({ method, path, status: answer.status }).toEqual({ method, path, status });
        expect({ method, path, code: errorCode(answer) }).toEqual({ method, path, code });
        expectApiHeaders(answer);
      }
    });

    it("requests Node's parser refuses get a JSON error with a code and the headers, not a bare status line", async () => {
      const cases: Array<[string, number]> = [
        ['GET /graphql HTTP/1.1\r\nHost: x\r\nnot a header\r\n\r\n', 400],
        ['BREW /graphql HTTP/1.1\r\nHost: x\r\n\r\n', 400],
        ['GET /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400],
        [`GET /graphql HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ];
      for (const [bytes, status] of cases) {
        const answer = parseRaw(await sendRaw(base, bytes));
        expect(answer.status).toBe(status);
        expect(errorCode(answer)).toBe('BAD_USER_INPUT');
        expectApiHeaders(answer);
      }
    });

    it('requests Node would answer with a bare status line or none (no Host, an unknown Expect, CONNECT) get JSON with a code and the headers', async () => {
      const cases: Array<[string, number]> = [
        ['GET /healthz HTTP/1.1\r\n\r\n', 400],
        [
          `POST /graphql HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\n\r\n{}`,
          400,
        ],
        ['GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n', 417],
        [
          `POST /graphql HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
          417,
        ],
      ];
      // CONNECT, which Node hands to no request handler, and answered with nothing at all.
      cases.push(['CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n', 405]);
      for (const [bytes, status] of cases) {
        const answer = parseRaw(await sendRaw(base, bytes));
        expect({ bytes, status: answer.status }).toEqual({ bytes, status });
        expect(errorCode(answer)).toBe('BAD_USER_INPUT');
        expect(answer.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
        expectApiHeaders(answer);
      }
      // HTTP/1.0 needs no Host.
      expect(parseRaw(await sendRaw(base, 'GET /healthz HTTP/1.0\r\n\r\n')).status).toBe(200);
    });

    it('the probes carry the API headers', async () => {
      for (const path of ['/healthz', '/readyz']) {
        const answer = await send(base, 'GET', path);
        expect(answer.status).toBe(200);
        expectApiHeaders(answer);
      }
    });
  });
}

describe.each(providers)('the fast path 429 on %s', (provider) => {
  let t: TestApp;
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    t = await createTestApp(provider);
    t.clock.freeze();
    const rateLimits = new RateLimits({ perKeyPerMinute: 0, failedAuthPerMinute: 1, now: t.clock.now });
    const verifier = new TokenVerifier(t.domain, createTokenLookup(t.db.database.raw));
    ({ url: base, close } = await startHttpServer(t, { rateLimits, verifier }));
  });
  afterAll(async () => {
    await close?.();
    await t?.close();
  });

  it('answers 429 as JSON with a code and the API headers', async () => {
    const headers = { ...JSON_HEADERS, authorization: `Bearer ${generateToken()}` };
    expect((await send(base, 'POST', '/graphql', headers, PROBE)).status).toBe(401);
    const limited = await send(base, 'POST', '/graphql', headers, PROBE);
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expectApiHeaders(limited);
  });
});

describe.each(providers)('two Authorization headers on %s', (provider) => {
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

  /** A POST whose headers are written as given, names in their case, repeats included. */
  const post = (path: string, headers: Array<[string, string]>, body: string): Promise<Answer> =>
    send(server.url, 'POST', path, [['Host', 'x'], ['Content-Type', 'application/json'], ...headers].flat(), body);

  it('are refused with 400 naming the header, before any token is judged, on /graphql and POST /v1/verify', async () => {
    const key = (await (await t.org()).key({ roles: ['viewer'] })).token;
    const verifier = await verifierToken(t);
    const endpoints = [
      { path: '/graphql', token: key, body: JSON.stringify({ query: '{ currentApiKey { id } }' }) },
      { path: '/v1/verify', token: verifier, body: JSON.stringify({ token: key }) },
    ];
    for (const { path, token, body } of endpoints) {
      // One header is served (the one a client means).
      expect((await post(path, [['Authorization', `Bearer ${token}`]], body)).status).toBe(200);
      const before = t.lookups.count;
      for (const pair of [
        [`Bearer ${token}`, `Bearer ${generateToken()}`],
        [`Bearer ${generateToken()}`, `Bearer ${token}`],
        [`Bearer ${token}`, `Bearer ${token}`],
        [`Bearer ${token}`, ''],
      ]) {
        for (const names of [
          ['Authorization', 'Authorization'],
          ['authorization', 'AUTHORIZATION'],
        ]) {
          const headers = names.map((name, i) => [name, pair[i]] as [string, string]);
          const answer = await post(path, headers, body);
          expect({ path, headers, status: answer.status }).toEqual({ path, headers, status: 400 });
          expect(errorCode(answer)).toBe('BAD_USER_INPUT');
          expect(answer.text).toMatch(/Authorization/);
          expect(answer.text).not.toContain(token);
          expectApiHeaders(answer);
        }
      }
      expect(t.lookups.count - before).toBe(0);
    }
  });
});
