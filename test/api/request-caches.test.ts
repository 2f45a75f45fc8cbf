// Scope-auth's cache of a request is deleted once the request's result is ready
// (src/schema/request-caches.ts): while Pothos's module-wide WeakMap held it, every request's objects
// were moved to V8's old generation and freed only by full collections.
import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../src/context.ts';
import { builder } from '../../src/schema/builder.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';

/** What the test reads of a RequestCache: the caller's scopes, once they have been evaluated. */
interface Cache {
  scopes: unknown;
}

/** The context's scope-auth cache: Pothos's own, made if the context has none. */
const cacheOf = (context: Context): Cache => RequestCache.fromContext(context, builder) as unknown as Cache;

describe('scope-auth caches of requests', () => {
  let t: TestApp;
  let manager: string;
  let viewer: string;
  /** The context of each executed operation, and the scope-auth cache it was executed with. */
  const executed: Array<{ context: Context; cache: Cache }> = [];

  // Placed before Keygate's plugins: it asks for the context's cache as execution starts, which is the
  // instance the resolvers' scope checks then use (Pothos creates it once per context).
  const capture: Plugin = {
    onExecute: ({ args }) => {
      const context = args.contextValue as unknown as Context;
      executed.push({ context, cache: cacheOf(context) });
    },
  };

  beforeAll(async () => {
    t = await createTestApp('sqlite', { plugins: [capture] });
    const org = await t.org();
    ({ token: manager } = await org.key({ roles: ['api_keys_manage', 'viewer'] }));
    ({ token: viewer } = await org.key({ roles: ['viewer'] }));
  });
  afterAll(() => t.close());

  /** Runs one operation; returns its context's cache as it was used, and the context. */
  async function run(token: string, query: string, variables?: Record<string, unknown>) {
    executed.length = 0;
    const response = await t.gql(token, query, variables);
    expect(executed).toHaveLength(1);
    return { response, ...(executed[0] as { context: Context; cache: Cache }) };
  }

  it.each([
    ['a query', '{ currentApiKey { id roles { name } } }', undefined],
    ['a page of keys', '{ apiKeys(first: 5) { edges { node { id creator { user { id } } } } } }', undefined],
    [
      'a mutation',
      'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }',
      { input: { name: 'released', roleNames: ['viewer'] } },
    ],
  ])(
    '%s: the cache judged its scopes, and is no longer the context’s once answered',
    async (_label, query, variables) => {
      const { response, context, cache } = await run(manager, query, variables);
      expect(response.errors).toBeUndefined();
      // The cache the operation used evaluated the caller's scopes: the instance captured is Pothos's own.
      expect(cache.scopes).toBeDefined();
      // Deleted from Pothos's map: asking again makes a new one.
      expect(cacheOf(context)).not.toBe(cache);
    },
  );

  it('an operation refused by a scope check lets go of its cache too', async () => {
    const { response, context, cache } = await run(viewer, '{ apiKeys(first: 5) { edges { node { id } } } }');
    expect(response.code).toBe('FORBIDDEN');
    expect(cache.scopes).toBeDefined();
    expect(cacheOf(context)).not.toBe(cache);
  });
});
