// Errors (docs/api.md "GraphQL", docs/rules.md "Input rules"): every error carries an extensions.code from docs/api.md's
// list; requests the client got wrong (syntax, unknown fields, wrong variable types) are BAD_USER_INPUT;
// unexpected errors are masked: no stack, no SQL, no token in any response.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERROR_CODES } from '../../src/errors.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';

const MISSING_ID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

interface ErrorBody {
  data?: unknown;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

interface Sent {
  status: number;
  text: string;
  body: ErrorBody;
}

/** Every error has a code of docs/api.md and a message; nothing in the body looks like a stack, SQL or Prisma. */
function expectCleanErrors(sent: Sent, secrets: string[] = []) {
  expect(sent.body.errors?.length).toBeGreaterThan(0);
  for (const error of sent.body.errors ?? []) {
    expect([...API_ERROR_CODES]).toContain(error.extensions?.code);
    expect(error.message.length).toBeGreaterThan(0);
    expect(Object.keys(error.extensions ?? {})).not.toContain('stacktrace');
    expect(Object.keys(error.extensions ?? {})).not.toContain('originalError');
  }
  expect(sent.text).not.toMatch(/prisma/i);
  expect(sent.text).not.toMatch(/\bSELECT\b|\bINSERT\b|\bUPDATE\s+"|\bDELETE\s+FROM\b|\bFROM\s+"/);
  expect(sent.text).not.toMatch(/\bat \S+ \(|\bat (file:\/\/|\/)\S+:\d+:\d+|\.ts:\d+:\d+/);
  expect(sent.text).not.toMatch(/"stack"|node_modules|KeygateError|\bsqlite\b|postgres/i);
  for (const secret of secrets) expect(sent.text).not.toContain(secret);
}

describe.each(providers)('errors on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let admin: { id: string; token: string };
  let plain: { id: string; token: string };

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
    plain = await org.key({ roles: ['viewer'] });
  });
  afterAll(() => t.close());

  async function send(init: { method?: string; body?: string; query?: string; token?: string | null }): Promise<Sent> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    const token = init.token === undefined ? admin.token : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const url = `http://keygate.test/graphql${init.query === undefined ? '' : `?query=${encodeURIComponent(init.query)}`}`;
    const response = await t.app.fetch(url, { method: init.method ?? 'POST', headers, body: init.body });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as ErrorBody };
  }

  const post = (query: string, variables?: object, token?: string | null) =>
    send({ body: JSON.stringify({ query, variables }), token });

  describe('requests the client got wrong are BAD_USER_INPUT, never a server error', () => {
    const cases: Array<[string, string, object | undefined]> = [
      ['a syntax error', '{ currentApiKey { id ', undefined],
      ['an unterminated string', '{ apiKey(id: "01ARZ) { id } }', undefined],
      ['an unknown field on Query', '{ noSuchField }', undefined],
      ['an unknown field on ApiKey (token is never readable)', '{ currentApiKey { id token } }', undefined],
      ['an unknown argument', '{ currentApiKey(id: "x") { id } }', undefined],
      ['a missing required argument', '{ apiKey { id } }', undefined],
      ['an object field without a selection', '{ currentApiKey }', undefined],
      ['a selection on a scalar', '{ currentApiKey { id { x } } }', undefined],
      ['a literal of the wrong type', '{ apiKeys(first: "ten") { edges { cursor } } }', undefined],
      [
        'an unknown input field',
        'mutation { deleteApiKey(input: { id: "x", force: true }) { deletedApiKeyId } }',
        undefined,
      ],
      ['an unknown type', 'query($x: NoSuchType) { currentApiKey { id } }', undefined],
      ['an undefined variable', '{ apiKeys(first: $first) { edges { cursor } } }', undefined],
      [
        'a variable of the wrong type',
        'query($first: Int) { apiKeys(first: $first) { edges { cursor } } }',
        { first: 'ten' },
      ],
      [
        'a fractional Int variable',
        'mutation($input: RotateApiKeyInput!) { rotateApiKey(input: $input) { token } }',
        { input: { id: MISSING_ID, gracePeriodMinutes: 1.5 } },
      ],
      [
        'a missing required variable',
        'mutation($input: DeleteApiKeyInput!) { deleteApiKey(input: $input) { deletedApiKeyId } }',
        undefined,
      ],
      [
        'a variable with an unknown input field',
        'mutation($input: DeleteApiKeyInput!) { deleteApiKey(input: $input) { deletedApiKeyId } }',
        { input: { id: MISSING_ID, force: true } },
      ],
      [
        'a null for a required input field',
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token } }',
        { input: { name: null } },
      ],
      ['two operations and no operationName', 'query A { currentApiKey { id } } query B { roles { name } }', undefined],
      ['a subscription (there are none)', 'subscription { currentApiKey { id } }', undefined],
    ];

    it.each(cases)('answers %s with BAD_USER_INPUT', async (_label, query, variables) => {
      const sent = await post(query, variables);
      expect(sent.status).toBeLessThan(500);
      expect(sent.body.data ?? null).toBeNull();
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expectCleanErrors(sent, [admin.token]);
    });

    it('answers an operationName that is not in the document with BAD_USER_INPUT', async () => {
      const sent = await send({
        body: JSON.stringify({ query: 'query A { currentApiKey { id } }', operationName: 'B' }),
      });
      expect(sent.status).toBeLessThan(500);
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expectCleanErrors(sent, [admin.token]);
    });

    it('answers a body that is not JSON with BAD_USER_INPUT', async () => {
      const sent = await send({ body: '{"query": "{ currentApiKey { id } }"' });
      expect(sent.status).toBeLessThan(500);
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expectCleanErrors(sent, [admin.token]);
    });

    it('answers a JSON body that is not UTF-8 with 400 BAD_USER_INPUT, creating nothing; UTF-8 names are kept as sent', async () => {
      const create = (name: Uint8Array) => {
        const query = 'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { name } } }';
        const [before, after] = JSON.stringify({ query, variables: { input: { name: '@', roleNames: ['viewer'] } } })
          .split('@')
          .map((part) => Buffer.from(part, 'utf8'));
        return t.app.fetch('http://keygate.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.token}` },
          body: Buffer.concat([before as Buffer, name, after as Buffer]),
        });
      };
      const names = async () =>
        (
          await t.gql<{ apiKeys: { edges: Array<{ node: { name: string } }> } }>(
            admin.token,
            '{ apiKeys(first: 250) { edges { node { name } } } }',
          )
        ).data?.apiKeys.edges.map((edge) => edge.node.name);
      const before = await names();
      for (const bytes of [
        [0x61, 0xff, 0xc0, 0x62],
        [0x61, 0xc3],
        [0xed, 0xa0, 0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
      ]) {
        const refused = await create(Uint8Array.from(bytes));
        expect({ bytes, status: refused.status }).toEqual({ bytes, status: 400 });
        const body = (await refused.json()) as ErrorBody;
        expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(body.errors?.[0]?.message).toMatch(/not valid UTF-8/);
      }
      expect(await names()).toEqual(before);
      const accepted = await create(Buffer.from('clé 🔑 ключ', 'utf8'));
      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toEqual({ data: { createApiKey: { apiKey: { name: 'clé 🔑 ключ' } } } });
    });

    it('answers a request without a query with BAD_USER_INPUT', async () => {
      const sent = await send({ body: JSON.stringify({ variables: {} }) });
      expect(sent.status).toBeLessThan(500);
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expectCleanErrors(sent, [admin.token]);
    });

    it('answers a GET whose variables are not JSON with BAD_USER_INPUT, saying so', async () => {
      const query = encodeURIComponent('query($id: ID!) { apiKey(id: $id) { id } }');
      const response = await t.app.fetch(`http://keygate.test/graphql?query=${query}&variables=%7Bnot-json`, {
        headers: { accept: 'application/json', authorization: `Bearer ${admin.token}` },
      });
      const text = await response.text();
      const body = JSON.parse(text) as ErrorBody;
      expect(response.status).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toContain('not valid JSON');
      expectCleanErrors({ status: response.status, text, body }, [admin.token]);
    });

    it('answers a mutation sent over GET with BAD_USER_INPUT', async () => {
      const target = await org.key({});
      const sent = await send({
        method: 'GET',
        query: `mutation { deleteApiKey(input: { id: "${target.id}" }) { deletedApiKeyId } }`,
      });
      expect(sent.status).toBeLessThan(500);
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expectCleanErrors(sent, [admin.token]);
      expect(await t.domain.db.apiKey.count({ where: { id: target.id } })).toBe(1);
    });
  });

  describe('every error answer is JSON with a code and carries the security headers (issue 12, item 9)', () => {
    const raw = (path: string, init: RequestInit) => t.app.fetch(`http://keygate.test${path}`, init);
    const query = JSON.stringify({ query: '{ currentApiKey { id } }' });
    const JSON_TYPE = { 'content-type': 'application/json' };

    // [what, path, method, headers besides the token, body, with the admin's token, status, code]
    it.each([
      ['415: no content type', '/graphql', 'POST', {}, query, true, 415, 'BAD_USER_INPUT'],
      ['415: text/plain', '/graphql', 'POST', { 'content-type': 'text/plain' }, query, true, 415, 'BAD_USER_INPUT'],
      [
        '406: nothing acceptable',
        '/graphql?query=%7BcurrentApiKey%7Bid%7D%7D',
        'GET',
        { accept: 'application/xml' },
        undefined,
        true,
        406,
        'BAD_USER_INPUT',
      ],
      ['405: PUT', '/graphql', 'PUT', JSON_TYPE, query, true, 405, 'BAD_USER_INPUT'],
      ['405: HEAD', '/graphql', 'HEAD', {}, undefined, true, 405, 'BAD_USER_INPUT'],
      ['413: body too large', '/graphql', 'POST', JSON_TYPE, 'x'.repeat(200_000), true, 413, 'BAD_USER_INPUT'],
      ['404: unknown path', '/nothing', 'POST', JSON_TYPE, query, false, 404, 'NOT_FOUND'],
      ['404: the root', '/', 'GET', { accept: 'text/html' }, undefined, false, 404, 'NOT_FOUND'],
      ['401: no token', '/graphql', 'POST', JSON_TYPE, query, false, 401, 'UNAUTHENTICATED'],
    ] as Array<[string, string, string, Record<string, string>, string | undefined, boolean, number, string]>)(
      '%s',
      async (_label, path, method, headers, body, withToken, status, code) => {
        const token: Record<string, string> = withToken ? { authorization: `Bearer ${admin.token}` } : {};
        const response = await raw(path, { method, headers: { ...headers, ...token }, body });
        expect(response.status).toBe(status);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('referrer-policy')).toBe('no-referrer');
        expect(response.headers.get('cache-control')).toBe('no-store');
        if (method === 'HEAD') return;
        const sent = JSON.parse(await response.text()) as {
          error?: { code: string; message: string };
          errors?: Array<{ message: string; extensions: { code: string } }>;
        };
        // GraphQL's shape on /graphql, the plain-HTTP shape anywhere else.
        const error = path.startsWith('/graphql')
          ? { code: sent.errors?.[0]?.extensions.code, message: sent.errors?.[0]?.message }
          : sent.error;
        expect(error?.code).toBe(code);
        expect(error?.message?.length).toBeGreaterThan(10);
      },
    );

    it('successful answers and probes carry the headers too', async () => {
      const token = { authorization: `Bearer ${admin.token}` };
      for (const response of [
        await raw('/graphql', { method: 'POST', headers: { ...token, ...JSON_TYPE }, body: query }),
        await raw('/healthz', {}),
        await raw('/readyz', {}),
        // A stream (Yoga says "no-cache", which lets a cache store it) is no-store like every API answer.
        await raw(`/graphql?query=${encodeURIComponent('{ currentApiKey { id } }')}`, {
          headers: { ...token, accept: 'text/event-stream' },
        }),
      ]) {
        expect(response.status).toBe(200);
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('cache-control')).toBe('no-store');
        expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      }
    });
  });

  describe('rule violations keep their own code and an actionable message', () => {
    const rotate = 'mutation($input: RotateApiKeyInput!) { rotateApiKey(input: $input) { token } }';
    const create = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token } }';

    it('BAD_USER_INPUT for an invalid id, naming the field', async () => {
      const sent = await post('query($id: ID!) { apiKey(id: $id) { id } }', { id: 'nope' });
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(sent.body.errors?.[0]?.message).toContain('"nope"');
      expectCleanErrors(sent, [admin.token]);
    });

    it('BAD_USER_INPUT for an out-of-range grace period, naming the field', async () => {
      const sent = await post(rotate, { input: { id: plain.id, gracePeriodMinutes: 61 } });
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(sent.body.errors?.[0]?.message).toContain('gracePeriodMinutes');
      expectCleanErrors(sent, [admin.token]);
    });

    it('BAD_USER_INPUT for an unknown role, naming it', async () => {
      const sent = await post(create, { input: { name: 'k', roleNames: ['wizard'] } });
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(sent.body.errors?.[0]?.message).toContain('wizard');
      expectCleanErrors(sent, [admin.token]);
    });

    it('BAD_USER_INPUT for a malformed cursor', async () => {
      const sent = await post('{ apiKeys(after: "garbage!") { edges { cursor } } }');
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expectCleanErrors(sent, [admin.token]);
    });

    it('NOT_FOUND for a missing key', async () => {
      const sent = await post('query($id: ID!) { apiKey(id: $id) { id } }', { id: MISSING_ID });
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(sent.body.errors?.[0]?.message).toBe(`API key "${MISSING_ID}" was not found.`);
      expectCleanErrors(sent, [admin.token]);
    });

    it('FORBIDDEN for a key that is not a manager, saying what it lacks', async () => {
      const sent = await post('{ apiKeys { edges { cursor } } }', undefined, plain.token);
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(sent.body.errors?.[0]?.message).toContain('api_keys_manage');
      expectCleanErrors(sent, [admin.token, plain.token]);
    });

    it('FORBIDDEN for api_keys_manage through the API, pointing at the administration CLI', async () => {
      const sent = await post(create, { input: { name: 'k', roleNames: ['api_keys_manage'] } });
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(sent.body.errors?.[0]?.message).toMatch(/administration CLI/);
      expectCleanErrors(sent, [admin.token]);
    });

    it('UNAUTHENTICATED without a token', async () => {
      const sent = await post('{ currentApiKey { id } }', undefined, null);
      expect(sent.status).toBe(401);
      expect(sent.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expectCleanErrors(sent);
    });
  });

  // Runs last in this file: it takes a table away (and puts it back) to make the database fail.
  describe('unexpected errors are masked', () => {
    it('answers a database failure with INTERNAL_SERVER_ERROR and an error id, without SQL or stack', async () => {
      const fresh = await org.key({ roles: ['viewer'] });
      await post('{ currentApiKey { id } }');
      const rename = (from: string, to: string) =>
        t.domain.db.$executeRawUnsafe(`ALTER TABLE "${from}" RENAME TO "${to}"`);
      const answers: Array<[string, Sent]> = [];
      // A page reads "User" (the creators of its keys), a token's lookup "ApiKeyToken".
      await rename('User', 'User_away');
      await rename('ApiKeyToken', 'ApiKeyToken_away');
      try {
        // A failure while resolving (the admin's token is already verified) and while authenticating.
        answers.push(['resolving', await post('{ apiKeys { edges { node { id teamRoles { name } } } } }')]);
        answers.push(['authenticating', await post('{ currentApiKey { id } }', undefined, fresh.token)]);
      } finally {
        await rename('ApiKeyToken_away', 'ApiKeyToken');
        await rename('User_away', 'User');
      }
      for (const [label, sent] of answers) {
        expect(sent.status, label).toBe(500); // docs/api.md, Errors
        expect(sent.body.data ?? null, label).toBeNull();
        const [error] = sent.body.errors ?? [];
        expect(error?.extensions?.code, label).toBe('INTERNAL_SERVER_ERROR');
        expect(typeof error?.extensions?.errorId, label).toBe('string');
        expect(error?.message, label).toContain(error?.extensions?.errorId as string);
        expectCleanErrors(sent, [admin.token, fresh.token]);
        expect(sent.text, label).not.toMatch(/User|ApiKeyToken/);
      }
      expect((await post('{ apiKeys { edges { node { id } } } }')).body.errors).toBeUndefined();
      expect((await post('{ currentApiKey { id } }', undefined, fresh.token)).status).toBe(200);
    });
  });
});
