// Every error code the API answers (docs/api.md, Errors) becomes a sentence that says what to do, and
// keeps the server's specifics (which grant, which value, when to retry, the error id), as the console's
// urql client reports them: a GraphQL error with its code, or an answer that never came.
import { CombinedError } from 'urql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ApiErrorCode, graphqlErrorBody } from '../../src/http/responses.ts';
import { consoleClient } from '../../web/console/client.ts';
import { problemOf } from '../../web/console/errors.ts';
import { SessionQuery } from '../../web/console/graphql.ts';

const CODES: Record<ApiErrorCode, { message: string; says: RegExp; retry: boolean }> = {
  UNAUTHENTICATED: { message: 'Invalid or missing API key.', says: /sign in with a valid token/i, retry: false },
  FORBIDDEN: {
    message: 'The caller cannot grant role incident_editor.',
    says: /not allowed.*cannot grant role incident_editor/,
    retry: false,
  },
  NOT_FOUND: { message: 'API key not found.', says: /no longer exists.*Reload the list/, retry: false },
  BAD_USER_INPUT: {
    message: 'name must be 1 to 200 characters.',
    says: /correct the form: name must be/,
    retry: false,
  },
  RATE_LIMITED: { message: 'Rate limit exceeded.', says: /try again in 17 seconds/, retry: true },
  SERVICE_UNAVAILABLE: { message: 'The database is unavailable.', says: /Try again in a moment/, retry: true },
  INTERNAL_SERVER_ERROR: {
    message: 'Unexpected error; quote error id 1234 when reporting it.',
    says: /failed while creating the key.*error id 1234.*Try again/,
    retry: true,
  },
};

const graphQLError = (message: string, extensions: Record<string, unknown>) =>
  new CombinedError({ graphQLErrors: [{ message, extensions }] });

describe('the console turns every API error code into a sentence', () => {
  it.each(Object.entries(CODES))('%s', (code, { message, says, retry }) => {
    const problem = problemOf(
      graphQLError(message, { code, ...(code === 'RATE_LIMITED' ? { retryAfter: 17 } : {}) }),
      'creating the key',
    );
    expect(problem.sentence).toMatch(says);
    expect(problem.retry).toBe(retry);
  });

  it('says so when the server cannot be reached', () => {
    const problem = problemOf(new CombinedError({ networkError: new TypeError('Failed to fetch') }), 'loading');
    expect(problem.sentence).toMatch(/could not be reached/);
    expect(problem.retry).toBe(true);
  });

  it('lets a view say better what FORBIDDEN means to it', () => {
    expect(problemOf(graphQLError('no', { code: 'FORBIDDEN' }), 'loading', 'Not for you.').sentence).toBe(
      'Not for you.',
    );
  });
});

describe('through the console client, from the HTTP answers the server gives', () => {
  afterEach(() => vi.unstubAllGlobals());

  /** Runs the session query with a console client whose fetch answers `answer`; returns what it sent too. */
  const ask = async (answer: () => Response | Promise<Response>) => {
    const sent: Array<{ url: string; init: RequestInit }> = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      sent.push({ url, init });
      return answer();
    });
    const result = await consoleClient('keygate_secret').query(SessionQuery, {}).toPromise();
    return { result, sent };
  };
  const json =
    (status: number, body: string, headers: Record<string, string> = {}) =>
    () =>
      new Response(body, {
        status,
        headers: { 'content-type': 'application/graphql-response+json; charset=utf-8', ...headers },
      });

  it('POSTs to /graphql beside the page with the token as a bearer token', async () => {
    const { sent } = await ask(json(401, graphqlErrorBody('Invalid or missing API key.', 'UNAUTHENTICATED')));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe('graphql');
    expect(sent[0]?.init.method).toBe('POST');
    expect(new Headers(sent[0]?.init.headers).get('authorization')).toBe('Bearer keygate_secret');
  });

  it('401: sign in again', async () => {
    const { result } = await ask(json(401, graphqlErrorBody('Invalid or missing API key.', 'UNAUTHENTICATED')));
    expect(problemOf(result.error as CombinedError, 'signing in')).toEqual({
      sentence: expect.stringMatching(/sign in with a valid token/i),
      retry: false,
    });
  });

  it('429: when to retry, from the body (or else the Retry-After header)', async () => {
    const limited = json(429, graphqlErrorBody('Rate limit exceeded.', 'RATE_LIMITED', { retryAfter: 17 }));
    const { result } = await ask(limited);
    expect(problemOf(result.error as CombinedError, 'signing in').sentence).toMatch(/try again in 17 seconds/);
    const headerOnly = json(429, graphqlErrorBody('Rate limit exceeded.', 'RATE_LIMITED'), { 'retry-after': '9' });
    const { result: second } = await ask(headerOnly);
    expect(problemOf(second.error as CombinedError, 'signing in').sentence).toMatch(/try again in 9 seconds/);
  });

  it('503: offers to try again', async () => {
    const { result } = await ask(json(503, graphqlErrorBody('The database is unavailable.', 'SERVICE_UNAVAILABLE')));
    expect(problemOf(result.error as CombinedError, 'signing in')).toEqual({
      sentence: expect.stringMatching(/cannot reach its database.*Try again/),
      retry: true,
    });
  });

  it('an answer that is not GraphQL (a proxy error page) names its status; no answer says so', async () => {
    const { result } = await ask(
      () =>
        new Response('<h1>Bad gateway</h1>', {
          status: 502,
          statusText: 'Bad Gateway',
          headers: { 'content-type': 'text/html' },
        }),
    );
    expect(problemOf(result.error as CombinedError, 'signing in').sentence).toMatch(/answered 502 without a GraphQL/);
    const { result: none } = await ask(() => Promise.reject(new TypeError('fetch failed')));
    expect(problemOf(none.error as CombinedError, 'signing in').sentence).toMatch(/could not be reached/);
  });
});
