// The `keygate/client` package export against a real Keygate HTTP server (POST /v1/verify): verify(),
// the optional cache of VALID answers and its trade-off against revocation, coalescing of concurrent
// checks, timeouts and failing closed, and both middlewares answering 401/403/429/503 with JSON or
// handing the verified key to the handler. Both databases.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// Through the package's own export, as a service would import it (the built dist/client).
import {
  createVerifier,
  expressMiddleware,
  fetchMiddleware,
  KeygateRequestError,
  KeygateUnavailableError,
  VERIFICATION_CODES,
  type VerifiedApiKey,
} from 'keygate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/domain/tokens.ts';
import { schema } from '../../src/schema/index.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { freePort } from '../helpers/ports.ts';
import { startVerifyServer, type VerifyServer, verifierToken } from '../helpers/verify-server.ts';

const BUDGET = 5;

/** A fetch that counts the requests it sends. */
function countingFetch() {
  const counter = { count: 0 };
  const counted: typeof fetch = (input, init) => {
    counter.count++;
    return fetch(input, init);
  };
  return { counter, fetch: counted };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

it('the client knows exactly the verdicts of the schema', () => {
  const codes = schema.getType('VerificationCode') as unknown as { getValues(): Array<{ name: string }> };
  expect([...VERIFICATION_CODES].sort()).toEqual(
    codes
      .getValues()
      .map((value) => value.name)
      .sort(),
  );
});

describe.each(providers)('keygate/client against a real server on %s', (provider) => {
  let t: TestApp;
  let keygate: VerifyServer;
  let org: Org;
  let verifier: string;

  beforeAll(async () => {
    t = await createTestApp(provider, { verifyPerKeyPerMinute: BUDGET });
    keygate = await startVerifyServer(t);
    org = await t.org();
    verifier = await verifierToken(t);
  });
  afterAll(async () => {
    await keygate.close();
    await t.close();
  });

  describe('verify()', () => {
    it('answers the verification, with scopes and team', async () => {
      const team = await org.team();
      const key = await org.key({ roles: ['viewer'], teams: [team], teamRoles: ['schedules_editor'] });
      const client = createVerifier({ url: keygate.url, token: verifier });
      const inTeam = await client.verify(key.token, { requiredScopes: ['schedules.edit'], teamId: team });
      expect(inTeam).toMatchObject({ valid: true, code: 'VALID', apiKey: { id: key.id, organizationId: org.id } });
      const outside = await client.verify(key.token, { requiredScopes: ['schedules.edit'] });
      expect(outside.code).toBe('INSUFFICIENT_SCOPES');
      expect((await client.verify(generateToken())).code).toBe('UNKNOWN');
      expect((await client.verify('nonsense')).code).toBe('MALFORMED');
    });

    it('without a cache every check asks Keygate, so a deletion is seen at once', async () => {
      const key = await org.key({ roles: ['viewer'] });
      const { counter, fetch } = countingFetch();
      const client = createVerifier({ url: keygate.url, token: verifier, fetch });
      expect((await client.verify(key.token)).code).toBe('VALID');
      expect((await client.verify(key.token)).code).toBe('VALID');
      expect(counter.count).toBe(2);
      await t.gql(
        (await org.key({ roles: ['api_keys_manage'] })).token,
        'mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }',
        { id: key.id },
      );
      expect((await client.verify(key.token)).code).toBe('UNKNOWN');
    });

    it('with cacheMs a VALID answer is reused for that long (a revocation shows only after it), refusals never', async () => {
      const key = await org.key({ roles: ['viewer'] });
      const { counter, fetch } = countingFetch();
      const client = createVerifier({ url: keygate.url, token: verifier, cacheMs: 60_000, fetch });
      await client.verify(key.token);
      await client.verify(key.token);
      expect(counter.count).toBe(1);
      await t.gql(
        (await org.key({ roles: ['api_keys_manage'] })).token,
        'mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }',
        { id: key.id },
      );
      // The documented trade-off: the cached answer outlives the deletion.
      expect((await client.verify(key.token)).code).toBe('VALID');
      client.clear();
      expect((await client.verify(key.token)).code).toBe('UNKNOWN');
      expect((await client.verify(key.token)).code).toBe('UNKNOWN');
      expect(counter.count).toBe(3);
      // Other scopes are another question.
      const other = await org.key({ roles: ['viewer'] });
      await client.verify(other.token);
      await client.verify(other.token, { requiredScopes: ['incidents.view'] });
      expect(counter.count).toBe(5);
    });

    it('concurrent checks of the same token share one request', async () => {
      const key = await org.key({ roles: ['viewer'] });
      const { counter, fetch } = countingFetch();
      const client = createVerifier({ url: keygate.url, token: verifier, fetch });
      const answers = await Promise.all(Array.from({ length: 10 }, () => client.verify(key.token)));
      expect(answers.every((answer) => answer.code === 'VALID')).toBe(true);
      expect(counter.count).toBe(1);
    });

    it('fails closed: unreachable, too slow, or a bad verifier token reject with a clear error', async () => {
      const closedPort = await freePort();
      const unreachable = createVerifier({ url: `http://127.0.0.1:${closedPort}`, token: verifier });
      await expect(unreachable.verify(generateToken())).rejects.toBeInstanceOf(KeygateUnavailableError);

      const hanging = createServer(() => {}); // accepts and never answers
      const slowUrl = await listen(hanging);
      try {
        const slow = createVerifier({ url: slowUrl, token: verifier, timeoutMs: 200 });
        const error = await slow.verify(generateToken()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KeygateUnavailableError);
        expect((error as Error).message).toMatch(/did not answer within 200 ms/);
      } finally {
        await closeServer(hanging);
      }

      const badVerifier = createVerifier({ url: keygate.url, token: generateToken() });
      const refused = await badVerifier.verify(generateToken()).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(KeygateRequestError);
      expect((refused as KeygateRequestError).status).toBe(401);
    });
  });

  describe('the Express-style middleware on a node:http service', () => {
    let service: Server;
    let serviceUrl: string;
    let unreachableService: Server;
    let unreachableUrl: string;

    beforeAll(async () => {
      const client = createVerifier({ url: keygate.url, token: verifier });
      const protect = expressMiddleware(client, { requiredScopes: ['incidents.view'] });
      service = createServer((req: IncomingMessage & { apiKey?: VerifiedApiKey }, res) => {
        protect(req, res, (error) => {
          if (error) {
            res.writeHead(500).end();
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ hello: req.apiKey?.name }));
        });
      });
      serviceUrl = await listen(service);
      const down = createVerifier({ url: `http://127.0.0.1:${await freePort()}`, token: verifier });
      const protectDown = expressMiddleware(down);
      unreachableService = createServer((req, res) =>
        protectDown(req, res, () => res.writeHead(200).end('let through')),
      );
      unreachableUrl = await listen(unreachableService);
    });
    afterAll(async () => {
      await closeServer(service);
      await closeServer(unreachableService);
    });

    const call = async (url: string, token?: string) => {
      const response = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as { hello?: string; error: { code: string; message: string } },
      };
    };

    it('hands the verified key to the handler', async () => {
      const key = await org.key({ roles: ['viewer'] }, 'the caller');
      expect(await call(serviceUrl, key.token)).toMatchObject({ status: 200, body: { hello: 'the caller' } });
    });

    it('401 without a token or with a bad one, 403 without the scopes, 429 past the budget, 503 when Keygate is down', async () => {
      expect(await call(serviceUrl)).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
      expect(await call(serviceUrl, generateToken())).toMatchObject({
        status: 401,
        body: { error: { code: 'UNKNOWN' } },
      });
      const weak = await org.key({ roles: ['incident_memberships_editor'] });
      const forbidden = await call(serviceUrl, weak.token);
      expect(forbidden).toMatchObject({ status: 403, body: { error: { code: 'INSUFFICIENT_SCOPES' } } });
      expect(forbidden.body.error.message).toMatch(/incidents\.view/);

      t.clock.freeze();
      const busy = await org.key({ roles: ['viewer'] });
      for (let i = 0; i < BUDGET; i++) expect((await call(serviceUrl, busy.token)).status).toBe(200);
      const limited = await call(serviceUrl, busy.token);
      expect(limited).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED' } } });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      t.clock.real();

      const down = await call(unreachableUrl, busy.token);
      expect(down).toMatchObject({ status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE' } } });
    });
  });

  describe('the Fetch-API middleware', () => {
    it('answers a Request with a Response: the handler gets the key, refusals are JSON', async () => {
      const team = await org.team();
      const client = createVerifier({ url: keygate.url, token: verifier });
      const handler = fetchMiddleware(
        client,
        (_request, { apiKey, verification }) => Response.json({ id: apiKey.id, scopes: verification.scopes }),
        {
          requiredScopes: ['schedules.edit'],
          teamId: (request) => new URL(request.url).searchParams.get('team') ?? undefined,
        },
      );
      const key = await org.key({ teams: [team], teamRoles: ['schedules_editor'] });
      const ok = await handler(
        new Request(`http://service.test/x?team=${team}`, { headers: { authorization: `Bearer ${key.token}` } }),
      );
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ id: key.id, scopes: ['schedules.edit', 'schedules.view'] });
      const noTeam = await handler(
        new Request('http://service.test/x', { headers: { authorization: `Bearer ${key.token}` } }),
      );
      expect(noTeam.status).toBe(403);
      expect(noTeam.headers.get('content-type')).toMatch(/application\/json/);
      const none = await handler(new Request('http://service.test/x'));
      expect(none.status).toBe(401);
      expect(await none.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.any(String) } });
    });
  });
});
