// GraphQL abuse limits (issue 4, README "Limits and rate limits"): depth, aliases, tokens, directives
// and cost of a document (graphql-armor), field suggestions hidden in production, request body size,
// batched requests, mutations over GET, and CSRF prevention. Each refusal is a client error with code
// BAD_USER_INPUT and a message that names the limit, and nothing runs.
import { getIntrospectionQuery, Lexer, Source, TokenKind } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, loadConfig } from '../../src/config.ts';
import { graphqlLimits } from '../../src/limits/graphql-limits.ts';
import { schema } from '../../src/schema/index.ts';
import { createTestApp, type Org, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { API_KEY_FIELDS } from '../helpers/documents.ts';

interface Sent {
  status: number;
  body: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

/** `field` `count` times, each with an alias of its own. */
const aliased = (count: number, field = 'id') => Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ');

/** A selection `depth` (4 or more) levels deep: __type is level 1, each ofType one more. */
function nested(depth: number): string {
  let inner = 'name';
  for (let level = 4; level < depth; level++) inner = `ofType { ${inner} }`;
  return `{ __type(name: "ApiKey") { fields { type { ${inner} } } } }`;
}

describe('configuration', () => {
  it('has defaults that fit the schema, each settable from the environment', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxDepth: 8,
      maxAliases: 15,
      maxTokens: 1_000,
      maxDirectives: 10,
      maxCost: 50_000,
      maxBodyBytes: 102_400,
      maxKeysPerOrganization: 10_000,
    });
    expect(loadConfig({}).limits).toEqual(DEFAULT_LIMITS);
    expect(
      loadConfig({
        KEYGATE_MAX_DEPTH: '5',
        KEYGATE_MAX_ALIASES: '3',
        KEYGATE_MAX_TOKENS: '200',
        KEYGATE_MAX_DIRECTIVES: '2',
        KEYGATE_MAX_COST: '900',
        KEYGATE_MAX_BODY_BYTES: '2048',
        KEYGATE_MAX_KEYS_PER_ORG: '0',
      }).limits,
    ).toEqual({
      maxDepth: 5,
      maxAliases: 3,
      maxTokens: 200,
      maxDirectives: 2,
      maxCost: 900,
      maxBodyBytes: 2048,
      maxKeysPerOrganization: 0,
    });
    expect(() => loadConfig({ KEYGATE_MAX_DEPTH: 'deep' })).toThrow(/KEYGATE_MAX_DEPTH/);
  });

  it('hides field suggestions only in production', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).production).toBe(true);
    expect(loadConfig({}).production).toBe(false);
  });
});

describe.each(providers)('GraphQL abuse limits on %s', (provider) => {
  let t: TestApp;
  let org: Org;
  let admin: { id: string; token: string };

  beforeAll(async () => {
    t = await createTestApp(provider);
    org = await t.org();
    admin = await org.key({ roles: ['api_keys_manage', 'viewer'] });
  });
  afterAll(() => t.close());

  async function send(
    init: { method?: string; body?: BodyInit; query?: string; headers?: Record<string, string> } = {},
    app: TestApp = t,
  ): Promise<Sent> {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${admin.token}`, ...init.headers };
    const search = init.query === undefined ? '' : `?query=${encodeURIComponent(init.query)}`;
    const response = await app.app.fetch(
      new Request(`http://keygate.test/graphql${search}`, {
        method: init.method ?? 'POST',
        headers,
        ...(init.body === undefined ? {} : { body: init.body, duplex: 'half' }),
      } as RequestInit),
    );
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {} };
  }

  const post = (query: string, app?: TestApp) => send({ body: JSON.stringify({ query }) }, app);

  function expectRefused(sent: Sent, message: RegExp, status = 200) {
    expect(sent.status).toBe(status);
    expect(sent.body.data ?? null).toBeNull();
    expect(sent.body.errors).toHaveLength(1);
    expect(sent.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(sent.body.errors?.[0]?.message).toMatch(message);
  }

  function expectServed(sent: Sent) {
    expect(sent.body.errors).toBeUndefined();
    expect(sent.status).toBe(200);
  }

  it('lets the largest legitimate request through: a page of 250 keys with every field', async () => {
    const sent = await post(
      `{ apiKeys(first: 250) { edges { cursor node { ${API_KEY_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
    );
    expectServed(sent);
  });

  it("lets GraphiQL's schema query through (depth and cost limits ignore introspection)", async () => {
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const sent = await post(query);
    expectServed(sent);
    expect(JSON.stringify(sent.body.data)).toContain('"name":"ApiKey"');
  });

  describe('depth', () => {
    it('refuses a selection nested deeper than 8 levels, naming the limit', async () => {
      expectServed(await post(nested(8)));
      expectRefused(await post(nested(9)), /depth limit of 8 exceeded, found 9/);
    });

    it('counts fields, not fragments: a document as deep as written out, however its fragments split it', async () => {
      // Depth 6 written out (apiKeys, edges, node, creator, apiKey, id): served, as the console's
      // documents with fragments must be.
      expectServed(
        await post(
          '{ apiKeys(first: 1) { edges { node { ...F } } } } fragment F on ApiKey { creator { ...G } } fragment G on Creator { apiKey { id } }',
        ),
      );
      // nested(8) and nested(9) with every ofType behind a fragment spread: the same depths, 8 and 9.
      const split = (depth: number) => {
        const levels = depth - 4;
        const fragments = Array.from(
          { length: levels },
          (_, i) => `fragment L${i} on __Type { ofType { ${i + 1 < levels ? `...L${i + 1}` : 'name'} } }`,
        );
        return `{ __type(name: "ApiKey") { fields { type { ...L0 } } } } ${fragments.join(' ')}`;
      };
      expectServed(await post(split(8)));
      expectRefused(await post(split(9)), /depth limit of 8 exceeded, found 9/);
    });

    it('follows KEYGATE_MAX_DEPTH', async () => {
      const shallow = await createTestApp(provider, { limits: { maxDepth: 3 } });
      try {
        const key = await (await shallow.org()).key({ roles: ['viewer'] });
        const depth4 = '{ currentApiKey { creator { user { id } } } }';
        expect((await shallow.gql(key.token, '{ currentApiKey { roles { name } } }')).errors).toBeUndefined();
        const refused = await shallow.gql(key.token, depth4);
        expect(refused.code).toBe('BAD_USER_INPUT');
        expect(refused.errors?.[0]?.message).toMatch(/depth limit of 3 exceeded, found 4/);
      } finally {
        await shallow.close();
      }
    });
  });

  describe('aliases', () => {
    it('refuses more than 15 aliases, naming the limit', async () => {
      expectServed(await post(`{ currentApiKey { ${aliased(15)} } }`));
      expectRefused(await post(`{ currentApiKey { ${aliased(16)} } }`), /Aliases limit of 15 exceeded, found 16/);
    });

    it('counts aliases of top-level fields too (many copies of one expensive query)', async () => {
      const copies = Array.from({ length: 16 }, (_, i) => `k${i}: apiKeys(first: 1) { edges { cursor } }`).join(' ');
      expectRefused(await post(`{ ${copies} }`), /Aliases limit of 15 exceeded/);
    });
  });

  describe('tokens', () => {
    /**
     * A document of exactly `count` tokens: "{" and "}" around 15 aliased "aN: currentApiKey { id … }"
     * (5 tokens each besides the ids). The ids are spread over the aliases because graphql-js gives up
     * comparing hundreds of same-named fields in one selection set.
     */
    const ofTokens = (count: number) => {
      const ids = count - 2 - 15 * 5;
      const parts = Array.from({ length: 15 }, (_, i) => {
        const share = Math.floor(ids / 15) + (i < ids % 15 ? 1 : 0);
        return `a${i}: currentApiKey { ${Array(share).fill('id').join(' ')} }`;
      });
      return `{ ${parts.join(' ')} }`;
    };

    const tokensIn = (document: string) => {
      const lexer = new Lexer(new Source(document));
      let count = 0;
      while (lexer.advance().kind !== TokenKind.EOF) count++;
      return count;
    };

    it('refuses a document of more than 1,000 tokens, naming the limit', async () => {
      expect([tokensIn(ofTokens(1_000)), tokensIn(ofTokens(1_001))]).toEqual([1_000, 1_001]);
      expectServed(await post(ofTokens(1_000)));
      expectRefused(await post(ofTokens(1_001)), /Token limit of 1000 exceeded/);
    });
  });

  describe('directives', () => {
    const withDirectives = (count: number) =>
      `{ currentApiKey { ${Array(count).fill('id @skip(if: false)').join(' ')} } }`;

    it('refuses more than 10 directives, naming the limit', async () => {
      expectServed(await post(withDirectives(10)));
      expectRefused(await post(withDirectives(11)), /Directives limit of 10 exceeded, found 11/);
    });
  });

  describe('cost', () => {
    it('refuses an operation estimated above 50,000, naming the limit', async () => {
      const page = `apiKeys(first: 250) { edges { node { ${API_KEY_FIELDS} } } }`;
      expectServed(await post(`{ ${page} }`));
      expectRefused(await post(`{ one: ${page} two: ${page} }`), /Cost limit of 50000 exceeded/);
    });
  });

  describe('field suggestions', () => {
    it('are given outside production (they help a developer)', async () => {
      const sent = await post('{ currentApiKey { nam } }');
      expectRefused(sent, /Cannot query field "nam" on type "ApiKey"\. Did you mean "name"\?/);
    });

    it('are hidden in production (they would map the schema for an attacker)', async () => {
      const production = await createTestApp(provider, { production: true });
      try {
        const key = await (await production.org()).key({ roles: ['viewer'] });
        const sent = await production.gql(key.token, '{ currentApiKey { nam } }');
        expect(sent.code).toBe('BAD_USER_INPUT');
        expect(sent.errors?.[0]?.message).toBe('Cannot query field "nam" on type "ApiKey".');
        expect(JSON.stringify(sent.errors)).not.toMatch(/Did you mean|"name"/);
      } finally {
        await production.close();
      }
    });
  });

  describe('request body size', () => {
    const padded = (bytes: number) => {
      const body = JSON.stringify({ query: '{ currentApiKey { id } }', variables: { pad: '' } });
      return body.replace('"pad":""', `"pad":"${'x'.repeat(bytes - body.length)}"`);
    };

    it('serves a body of exactly 100 KiB', async () => {
      const body = padded(102_400);
      expect(Buffer.byteLength(body)).toBe(102_400);
      expectServed(await send({ body, headers: { 'content-length': '102400' } }));
    });

    it('answers 413 to a declared length over 100 KiB, naming the limit', async () => {
      const body = padded(102_401);
      const sent = await send({ body, headers: { 'content-length': String(Buffer.byteLength(body)) } });
      expectRefused(sent, /Request body too large: the limit is 102400 bytes/, 413);
    });

    it('answers 413 to a body without a declared length once it passes 100 KiB', async () => {
      const chunk = new TextEncoder().encode(' '.repeat(10_000));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 11; i++) controller.enqueue(chunk);
          controller.enqueue(new TextEncoder().encode(JSON.stringify({ query: '{ currentApiKey { id } }' })));
          controller.close();
        },
      });
      expectRefused(await send({ body: stream }), /Request body too large/, 413);
    });

    it('counts a body given to app.fetch even when it declares a length within the limit (nothing enforces it)', async () => {
      const body = padded(150_000);
      const sent = await send({ body, headers: { 'content-length': '1000' } });
      expectRefused(sent, /Request body too large: the limit is 102400 bytes/, 413);
    });

    it('answers 400 to a Content-Length that is not one decimal number', async () => {
      const body = JSON.stringify({ query: '{ currentApiKey { id } }' });
      for (const declared of ['12, 12', '-1', '0x10']) {
        expectRefused(await send({ body, headers: { 'content-length': declared } }), /Content-Length/, 400);
      }
    });
  });

  describe('batched requests', () => {
    it('refuses a JSON array of operations with 400 and runs none of them', async () => {
      const create = (name: string) => ({ query: `mutation { createApiKey(input: { name: "${name}" }) { token } }` });
      const sent = await send({ body: JSON.stringify([create('batched 1'), create('batched 2')]) });
      expectRefused(sent, /Batching is not supported/, 400);
      expect(await t.domain.db.apiKey.count({ where: { name: { startsWith: 'batched' } } })).toBe(0);
    });
  });

  describe('mutations over GET', () => {
    it('refuses a mutation sent with GET (405, Allow: POST) and writes nothing', async () => {
      const target = await org.key({ roles: ['viewer'] });
      const response = await t.app.fetch(
        `http://keygate.test/graphql?query=${encodeURIComponent(`mutation { deleteApiKey(input: { id: "${target.id}" }) { deletedApiKeyId } }`)}`,
        { headers: { authorization: `Bearer ${admin.token}` } },
      );
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      const body = (await response.json()) as Sent['body'];
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toMatch(/mutation operation from a POST request/);
      expect(await t.domain.db.apiKey.count({ where: { id: target.id } })).toBe(1);
    });
  });

  describe('CSRF prevention', () => {
    it('serves a GET query from a script that sends only the Authorization header', async () => {
      const response = await t.app.fetch(
        `http://keygate.test/graphql?query=${encodeURIComponent('{ currentApiKey { id } }')}`,
        { headers: { authorization: `Bearer ${admin.token}` } },
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { currentApiKey: { id: admin.id } } });
    });

    it('still loads GraphiQL in a browser, without a token', async () => {
      const response = await t.app.fetch('http://keygate.test/graphql', { headers: { accept: 'text/html' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      expect(await response.text()).toContain('<title>Keygate</title>');
    });

    it('answers a cross-site "simple" request (no Authorization, form content type) 401 before anything runs', async () => {
      const response = await t.app.fetch('http://keygate.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `query=${encodeURIComponent('mutation { createApiKey(input: { name: "csrf" }) { token } }')}`,
      });
      expect(response.status).toBe(401);
      expect(await t.domain.db.apiKey.count({ where: { name: 'csrf' } })).toBe(0);
    });
  });
});

// Keygate authenticates every operation before parsing it, and Authorization counts as CSRF proof, so
// through the app the plugin can never be the one to refuse; this shows what it does on its own.
describe('the CSRF prevention plugin on its own (defense in depth)', () => {
  const yoga = createYoga({ schema, plugins: graphqlLimits(DEFAULT_LIMITS, { production: false }), logging: false });
  const get = (headers: Record<string, string>) =>
    yoga.fetch(`http://keygate.test/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers });

  it('refuses a request that a browser could send cross-site without a preflight: 403, saying what to send', async () => {
    const response = await get({});
    expect(response.status).toBe(403);
    const body = (await response.json()) as Sent['body'];
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.message).toMatch(/Authorization header.*application\/json.*x-graphql-yoga-csrf/);
  });

  it.each([
    ['an Authorization header', { authorization: 'Bearer x' }],
    ['a JSON content type', { 'content-type': 'application/json' }],
    ['an x-graphql-yoga-csrf header', { 'x-graphql-yoga-csrf': '1' }],
  ])('accepts a request with %s (a browser sends it only after a CORS preflight)', async (_label, headers) => {
    const response = await get(headers);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
