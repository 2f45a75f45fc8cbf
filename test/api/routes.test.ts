// Only the exact endpoints serve (issue 12, item 8): /graphql, the probes, and whatever a plugin answers
// before parsing (GraphiQL's page). A look-alike path (/graphql/, //graphql, /x/graphql, …) is 404 with a
// JSON error, answered before any token is looked up and before any document is parsed: no "Cannot
// query field", no required input fields named, no lookup that escapes the failed-authentication limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/domain/tokens.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { providers } from '../helpers/databases.ts';
import { LOOK_ALIKE_PATHS } from '../helpers/look-alike-paths.ts';

// A document whose validation would name a field and a required input field if it ever ran.
const PROBE = '{ nope currentApiKey { id } apiKey { id } }';
const MUTATION_PROBE = 'mutation { createApiKey(input: {}) { token } }';

describe.each(providers)('only the exact endpoints serve, on %s (app.fetch)', (provider) => {
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp(provider);
    const org = await t.org();
    token = (await org.key({ roles: ['api_keys_manage', 'viewer'] })).token;
  });
  afterAll(() => t.close());

  async function send(path: string, init: { method?: string; token?: string | null; query?: string } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const method = init.method ?? 'POST';
    const query = init.query ?? PROBE;
    const url =
      method === 'GET'
        ? `http://keygate.test${path}${path.includes('?') ? '&' : '?'}query=${encodeURIComponent(query)}`
        : `http://keygate.test${path}`;
    const response = await t.app.fetch(url, {
      method,
      headers,
      body: method === 'GET' ? undefined : JSON.stringify({ query }),
    });
    const text = await response.text();
    return { status: response.status, text, contentType: response.headers.get('content-type') };
  }

  function expectNotFound(answer: { status: number; text: string; contentType: string | null }) {
    expect(answer.status).toBe(404);
    expect(answer.contentType).toMatch(/^application\/json/);
    const body = JSON.parse(answer.text) as { error?: { code?: string; message?: string } };
    expect(body.error?.code).toBe('NOT_FOUND');
    expect(body.error?.message).toMatch(/\/graphql/);
    // Nothing of the schema: the document was never parsed, let alone validated.
    expect(answer.text).not.toMatch(/Cannot query|nope|createApiKey|CreateApiKeyInput|Syntax Error|required/i);
  }

  it.each(LOOK_ALIKE_PATHS)('POST %s without a token: 404, nothing parsed', async (path) => {
    expectNotFound(await send(path, { token: null }));
    expectNotFound(await send(path, { token: null, query: MUTATION_PROBE }));
  });

  it.each(LOOK_ALIKE_PATHS)('GET %s without a token: 404, nothing parsed', async (path) => {
    expectNotFound(await send(path, { method: 'GET', token: null }));
  });

  it('a look-alike path with a well-formed unknown token is 404 without a token lookup', async () => {
    const before = t.lookups.count;
    for (const path of LOOK_ALIKE_PATHS) expectNotFound(await send(path, { token: generateToken() }));
    expect(t.lookups.count).toBe(before);
  });

  it('a look-alike path is 404 even with a valid token (one endpoint, one spelling)', async () => {
    for (const path of ['/graphql/', '//graphql', '/x/graphql']) {
      expectNotFound(await send(path, { token, query: '{ currentApiKey { id } }' }));
    }
  });

  it('other paths and methods are 404 with the same JSON body', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/nothing'],
      ['POST', '/'],
      ['DELETE', '/nothing'],
      ['PUT', '/graphql/'],
    ] as const) {
      expectNotFound(await send(path, { method, token: null }));
    }
  });

  it('the exact endpoints still serve', async () => {
    const ok = await send('/graphql', { token, query: '{ currentApiKey { id } }' });
    expect(ok.status).toBe(200);
    const refused = await send('/graphql', { token: null });
    expect(refused.status).toBe(401);
    expect(refused.text).not.toMatch(/Cannot query|nope/);
    for (const path of ['/healthz', '/readyz']) {
      expect((await t.app.fetch(`http://keygate.test${path}`)).status).toBe(200);
    }
  });

  it('the GraphiQL page may not be framed, is not sniffed and leaks no referrer', async () => {
    const page = await t.app.fetch('http://keygate.test/graphql', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    await page.arrayBuffer();
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('/graphql requests that need no token (preflight, page) never reach the parser without one', async () => {
    // OPTIONS without CORS configured and GET with Accept: text/html are let through authentication;
    // whatever answers them, no document in them is parsed or validated without a token.
    const options = await t.app.fetch('http://keygate.test/graphql', {
      method: 'OPTIONS',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: PROBE }),
    });
    expect(await options.text()).not.toMatch(/Cannot query|nope/);
    expect(options.status).toBeGreaterThanOrEqual(400);
  });
});
