// What is measured: the two baselines and Keygate's scenarios of issue 3, each a request, the status it
// must get and a check of its body.
import { ulid } from 'ulidx';
import { encodeCursor } from '../../src/domain/input.ts';
import { parseListFilter } from '../../src/domain/list-filter.ts';
import { generateToken } from '../../src/domain/tokens.ts';
import type { LoadSpec } from './load.ts';
import type { MixedOperation } from './mixed.ts';

export interface Scenario {
  name: string;
  /** What the table shows. */
  label: string;
  /** Writes: measured after every read scenario of the same server, so reads see the seeded size. */
  writes: boolean;
  spec: LoadSpec;
  /**
   * Brings the server to the steady state the scenario measures, once, before its warm-up (which is
   * timed and may end before a cold start is over); resolves to what it did, for the log.
   */
  prime?: () => Promise<string>;
}

/** Every field of docs/api.md's ApiKey type. */
export const API_KEY_FIELDS = `id name createdAt
  creator { apiKey { id name } user { id email name role slackUserId } }
  roles { name description scopes } teamIds teams { id name } teamRoles { name description scopes }
  tokenLastIssuedAt lastUsedAt`;

export const CURRENT_API_KEY_QUERY = '{ currentApiKey { id name roles { name } } }';

/** apiKeys(first: 50) with every ApiKey field, cursors and pageInfo (Keygate and the list baseline). */
export const API_KEYS_50_QUERY = `{ apiKeys(first: 50) { edges { cursor node { ${API_KEY_FIELDS} } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;

/** API_KEYS_50_QUERY after a given cursor. */
const API_KEYS_50_AFTER_QUERY = API_KEYS_50_QUERY.replace(
  '{ apiKeys(first: 50)',
  'query ($after: String) { apiKeys(first: 50, after: $after)',
);

/** API_KEYS_50_QUERY after a given cursor, under a filter. */
const API_KEYS_50_FILTERED_QUERY = API_KEYS_50_QUERY.replace(
  '{ apiKeys(first: 50)',
  'query ($after: String, $filter: ApiKeyFilter) { apiKeys(first: 50, after: $after, filter: $filter)',
);

/**
 * A cursor of a ULID above any key's (the largest time, random rest): a new one every call. Under a
 * filter, bound to it as the server binds the cursors it issues (a cursor is valid only with its filter).
 */
function cursorAboveAll(filterKey = ''): string {
  return encodeCursor(`7ZZZZZZZZZ${ulid().slice(10)}`, filterKey);
}

const jsonHeaders = {
  'content-type': 'application/json',
  accept: 'application/graphql-response+json, application/json',
};

function graphql(url: string, token: string | null, query: string, variables?: Record<string, unknown>) {
  const headers: Record<string, string> = { ...jsonHeaders };
  if (token) headers.authorization = `Bearer ${token}`;
  return { url, request: { path: '/graphql', headers, body: JSON.stringify({ query, variables }) } };
}

const hasData = (field: string) => (body: string) => body.includes(`"${field}"`) && !body.includes('"errors"');
const isUnauthenticated = (body: string) => body.includes('"UNAUTHENTICATED"');

/** A token whose checksum no longer matches: its last character changed. */
export function withBadChecksum(token: string): string {
  const last = token.at(-1);
  return token.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

export function baselineScenarios(urls: { raw: string; yoga: string; yogaList: string }): Scenario[] {
  return [
    {
      name: 'raw-http',
      label: 'raw node:http, fixed JSON',
      writes: false,
      spec: {
        url: urls.raw,
        request: { path: '/graphql', headers: jsonHeaders, body: JSON.stringify({ query: CURRENT_API_KEY_QUERY }) },
        expectedStatus: 200,
        checkBody: hasData('currentApiKey'),
      },
    },
    {
      name: 'yoga-minimal',
      label: 'graphql-yoga { __typename }',
      writes: false,
      spec: { ...graphql(urls.yoga, null, '{ __typename }'), expectedStatus: 200, checkBody: hasData('__typename') },
    },
    {
      name: 'yoga-list',
      label: 'graphql-yoga + jit apiKeys(50) from memory (info)',
      writes: false,
      spec: { ...graphql(urls.yogaList, null, API_KEYS_50_QUERY), expectedStatus: 200, checkBody: hasData('apiKeys') },
    },
  ];
}

export interface KeygateContext {
  url: string;
  adminToken: string;
  /** A seeded key, for apiKey(id). */
  sampleKeyId: string;
  /** A key made for rotateApiKey, so the admin token stays valid. */
  rotateKeyId: string;
}

export function keygateScenarios(context: KeygateContext): Scenario[] {
  const { url, adminToken } = context;
  const filteredPage = (name: string, label: string, nameContains: string): Scenario => {
    const filter = { nameContains };
    const { key } = parseListFilter(filter);
    const request = () => graphql(url, adminToken, API_KEYS_50_FILTERED_QUERY, { after: cursorAboveAll(key), filter });
    return {
      name,
      label,
      writes: false,
      spec: {
        ...request(),
        request: {
          ...request().request,
          setup: () => ({ headers: request().request.headers, body: request().request.body }),
        },
        expectedStatus: 200,
        checkBody: hasData('apiKeys'),
      },
    };
  };
  const currentKey = (token: string) => graphql(url, token, CURRENT_API_KEY_QUERY);
  const unknownToken = generateToken();
  return [
    {
      name: 'valid',
      label: 'currentApiKey, valid token',
      writes: false,
      spec: { ...currentKey(adminToken), expectedStatus: 200, checkBody: hasData('currentApiKey') },
    },
    {
      name: 'malformed',
      label: 'malformed token (bad checksum) → 401',
      writes: false,
      spec: { ...currentKey(withBadChecksum(adminToken)), expectedStatus: 401, checkBody: isUnauthenticated },
    },
    {
      name: 'unknown',
      label: 'unknown well-formed token → 401',
      writes: false,
      spec: { ...currentKey(unknownToken), expectedStatus: 401, checkBody: isUnauthenticated },
    },
    {
      name: 'unknown-fresh',
      label: 'unknown token, new each request → 401 (info)',
      writes: false,
      spec: {
        ...currentKey(unknownToken),
        request: {
          ...currentKey(unknownToken).request,
          setup: () => ({
            headers: { ...jsonHeaders, authorization: `Bearer ${generateToken()}` },
            body: JSON.stringify({ query: CURRENT_API_KEY_QUERY }),
          }),
        },
        expectedStatus: 401,
        checkBody: isUnauthenticated,
      },
    },
    {
      name: 'apiKey',
      label: 'apiKey(id), every field',
      writes: false,
      spec: {
        ...graphql(url, adminToken, `query ($id: ID!) { apiKey(id: $id) { ${API_KEY_FIELDS} } }`, {
          id: context.sampleKeyId,
        }),
        expectedStatus: 200,
        checkBody: hasData('apiKey'),
      },
    },
    {
      name: 'apiKeys50',
      label: 'apiKeys(first: 50), every field',
      writes: false,
      spec: {
        ...graphql(url, adminToken, API_KEYS_50_QUERY),
        expectedStatus: 200,
        checkBody: hasData('apiKeys'),
      },
    },
    {
      // Every request's `after` is a new cursor above every key: the same first page, but never one the
      // server has read before, so it is read from the database every time (what a list costs right
      // after a change). Information only.
      name: 'apiKeys50-uncached',
      label: 'apiKeys(first: 50), every field, read afresh each time',
      writes: false,
      spec: {
        ...graphql(url, adminToken, API_KEYS_50_AFTER_QUERY, { after: cursorAboveAll() }),
        request: {
          ...graphql(url, adminToken, API_KEYS_50_AFTER_QUERY, { after: cursorAboveAll() }).request,
          setup: () => ({
            headers: { ...jsonHeaders, authorization: `Bearer ${adminToken}` },
            body: JSON.stringify({ query: API_KEYS_50_AFTER_QUERY, variables: { after: cursorAboveAll() } }),
          }),
        },
        expectedStatus: 200,
        checkBody: (body) => hasData('apiKeys')(body) && body.includes('"hasNextPage":true'),
      },
    },
    // The console's search (issue 16): a page filtered by name, read afresh every time like
    // apiKeys50-uncached. A name filter walks the organization's keys newest first until the page is
    // full, so its cost is how far it walks: "7" is in about half the seeded names ("bench key N").
    // Information only.
    filteredPage('apiKeys50-name', 'apiKeys(first: 50, filter: nameContains "7"), read afresh (info)', '7'),
    {
      name: 'create',
      label: 'createApiKey (viewer)',
      writes: true,
      spec: {
        ...graphql(
          url,
          adminToken,
          'mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id name createdAt roles { name } } } }',
          { input: { name: 'bench created key', roleNames: ['viewer'] } },
        ),
        expectedStatus: 200,
        checkBody: hasData('createApiKey'),
      },
    },
    {
      name: 'rotate',
      label: 'rotateApiKey (grace 0)',
      writes: true,
      spec: {
        ...graphql(
          url,
          adminToken,
          'mutation ($input: RotateApiKeyInput!) { rotateApiKey(input: $input) { token previousTokenExpiresAt apiKey { id tokenLastIssuedAt } } }',
          { input: { id: context.rotateKeyId, gracePeriodMinutes: 0 } },
        ),
        expectedStatus: 200,
        checkBody: hasData('rotateApiKey'),
      },
    },
  ];
}

export interface MixedContext {
  /** Keys made for the mix to rotate and to update, so the admin token stays valid. */
  rotateIds: string[];
  updateIds: string[];
  sampleKeyId: string;
}

const anyOf = (ids: string[]) => ids[Math.floor(Math.random() * ids.length)] as string;

/** The mixed workload's operations and their shares (bench/lib/mixed.ts): 5% changes, 95% reads. */
export function mixedOperations(context: MixedContext): MixedOperation[] {
  const body = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, variables });
  let updates = 0;
  return [
    {
      name: 'currentApiKey',
      share: 0.45,
      writes: false,
      field: 'currentApiKey',
      body: () => body(CURRENT_API_KEY_QUERY),
    },
    { name: 'list', share: 0.25, writes: false, field: 'apiKeys', body: () => body(API_KEYS_50_QUERY) },
    {
      name: 'show',
      share: 0.25,
      writes: false,
      field: 'apiKey',
      body: () => body(`query ($id: ID!) { apiKey(id: $id) { ${API_KEY_FIELDS} } }`, { id: context.sampleKeyId }),
    },
    {
      name: 'create',
      share: 0.02,
      writes: true,
      field: 'createApiKey',
      body: () =>
        body('mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id } } }', {
          input: { name: 'bench mixed key', roleNames: ['viewer'] },
        }),
    },
    {
      name: 'rotate',
      share: 0.015,
      writes: true,
      field: 'rotateApiKey',
      body: () =>
        body('mutation ($input: RotateApiKeyInput!) { rotateApiKey(input: $input) { token apiKey { id } } }', {
          input: { id: anyOf(context.rotateIds), gracePeriodMinutes: 0 },
        }),
    },
    {
      name: 'update',
      share: 0.015,
      writes: true,
      field: 'updateApiKey',
      body: () =>
        body('mutation ($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id name } } }', {
          input: {
            id: anyOf(context.updateIds),
            name: `bench mixed update ${++updates}`,
            roleNames: ['viewer'],
            teamIds: [],
            teamRoleNames: [],
          },
        }),
    },
  ];
}

// ---- verification (issue 15) -------------------------------------------------------------------------
// POST /v1/verify and verifyApiKey, with the verifier token and known valid tokens of verify-setup.ts.

export interface VerifyContext {
  url: string;
  verifierToken: string;
  /** Valid tokens (viewer); the first is the one verified repeatedly. */
  tokens: string[];
}

const VERIFY_QUERY = `mutation ($input: VerifyApiKeyInput!) { verifyApiKey(input: $input) {
  valid code scopes tokenExpiresAt apiKey { id name organizationId roleNames teamIds teamRoleNames expiresAt }
  rateLimit { limit remaining resetAt } } }`;

export function verifyScenarios(context: VerifyContext): Scenario[] {
  const { url, verifierToken, tokens } = context;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${verifierToken}` };
  const post = (body: unknown) => ({ url, request: { path: '/v1/verify', headers, body: JSON.stringify(body) } });
  const isCode = (code: string) => (body: string) => body.includes(`"code":"${code}"`);
  const same = tokens[0] as string;
  let next = 0;
  return [
    {
      name: 'verify-valid',
      label: 'POST /v1/verify, VALID, same token',
      writes: false,
      spec: { ...post({ token: same }), expectedStatus: 200, checkBody: isCode('VALID') },
    },
    {
      name: 'verify-scoped',
      label: 'POST /v1/verify, VALID with requiredScopes and teamId',
      writes: false,
      spec: {
        // A team the key does not have adds nothing: its account scopes answer (docs/rules.md).
        ...post({ token: same, requiredScopes: ['incidents.view'], teamId: '01KB0000000000000000000000' }),
        expectedStatus: 200,
        checkBody: isCode('VALID'),
      },
    },
    {
      name: 'verify-unknown-fresh',
      label: 'POST /v1/verify, fresh unknown token each request',
      writes: false,
      spec: {
        ...post({ token: generateToken() }),
        request: {
          ...post({ token: generateToken() }).request,
          setup: () => ({ headers, body: JSON.stringify({ token: generateToken() }) }),
        },
        expectedStatus: 200,
        checkBody: isCode('UNKNOWN'),
      },
    },
    {
      name: 'verify-round-robin',
      label: `POST /v1/verify, ${tokens.length} distinct valid tokens round-robin`,
      writes: false,
      spec: {
        ...post({ token: same }),
        request: {
          ...post({ token: same }).request,
          setup: () => {
            next = (next + 1) % tokens.length;
            return { headers, body: JSON.stringify({ token: tokens[next] }) };
          },
        },
        expectedStatus: 200,
        checkBody: isCode('VALID'),
      },
      // Round-robin over 10,000 tokens means each is verified again well within the token cache's
      // 60 s: that steady state is what is measured. Its cold start (the first lookup of each token) is
      // slower the larger the table and may outlast the timed warm-up, so every token is verified once
      // first, and how long that took is logged (cold lookups per second) as information.
      prime: async () => {
        const started = performance.now();
        let at = 0;
        const worker = async () => {
          while (at < tokens.length) {
            const token = tokens[at++];
            const response = await fetch(`${url}/v1/verify`, {
              method: 'POST',
              headers,
              body: JSON.stringify({ token }),
            });
            const body = await response.text();
            if (!isCode('VALID')(body))
              throw new Error(`priming verify-round-robin: ${response.status} ${body.slice(0, 200)}`);
          }
        };
        await Promise.all(Array.from({ length: 20 }, worker));
        const seconds = (performance.now() - started) / 1000;
        return `verified each of ${tokens.length} tokens once in ${seconds.toFixed(1)} s (${(tokens.length / seconds).toFixed(0)} cold lookups/s)`;
      },
    },
    {
      name: 'verify-graphql',
      label: 'verifyApiKey over GraphQL, VALID',
      writes: false,
      spec: {
        url,
        request: {
          path: '/graphql',
          headers: { ...jsonHeaders, authorization: `Bearer ${verifierToken}` },
          body: JSON.stringify({ query: VERIFY_QUERY, variables: { input: { token: same } } }),
        },
        expectedStatus: 200,
        checkBody: (body) => hasData('verifyApiKey')(body) && body.includes('"VALID"'),
      },
    },
  ];
}
