// Every HTTP answer Keygate builds itself, in one place: the JSON bodies of error responses and the
// headers every response carries. On /graphql an error is a GraphQL response (`errors[].extensions.
// code`); anywhere else it is `{"error": {"code", "message"}}`, the shape of the plain-HTTP endpoints
// (docs/api.md, HTTP). The codes are those of docs/api.md's list.

export const GRAPHQL_PATH = '/graphql';

export type ApiErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

/** A GraphQL response with one error. */
export function graphqlErrorBody(message: string, code: ApiErrorCode, extra: Record<string, string> = {}): string {
  return JSON.stringify({ errors: [{ message, extensions: { code, ...extra } }] });
}

/** The error body of the plain-HTTP endpoints (probes, /v1/…, anything that is not /graphql). */
export function httpErrorBody(code: ApiErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_CONTENT_TYPE = 'application/graphql-response+json; charset=utf-8';

/** GraphQL errors in the media type the client asked for (GraphQL over HTTP), else plain JSON. */
export function errorContentType(accept: string | null | undefined): string {
  return (accept ?? '').includes('application/graphql-response+json')
    ? GRAPHQL_RESPONSE_CONTENT_TYPE
    : JSON_CONTENT_TYPE;
}

/**
 * Headers of every response: no MIME sniffing (a JSON answer is never run as a script or rendered as a
 * page), no Referer leaking a URL onward. API answers (everything but GraphiQL's page and assets, which
 * state their own caching) are never stored by a cache. A page also gets frame protection (see
 * src/http/response-headers.ts); a JSON answer, never rendered as a document, does not need it.
 */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export const API_HEADERS = { ...SECURITY_HEADERS, 'cache-control': 'no-store' } as const;

export const NOT_FOUND_MESSAGE =
  'No such endpoint. GraphQL is served at exactly /graphql; /healthz and /readyz are the probes.';

/** What an answer Yoga gave without a body means, for the client. */
const DEFAULT_ERRORS: Record<number, [ApiErrorCode, string]> = {
  400: ['BAD_USER_INPUT', 'The request could not be read.'],
  401: ['UNAUTHENTICATED', 'Authentication required: send a valid API key as "Authorization: Bearer <token>".'],
  403: ['FORBIDDEN', 'Not allowed.'],
  404: ['NOT_FOUND', NOT_FOUND_MESSAGE],
  405: ['BAD_USER_INPUT', 'Method not allowed: send GraphQL requests as POST (or GET for queries) to /graphql.'],
  406: [
    'BAD_USER_INPUT',
    'Not acceptable: accept application/json or application/graphql-response+json (or text/event-stream).',
  ],
  408: ['BAD_USER_INPUT', 'The request did not arrive in time.'],
  413: ['BAD_USER_INPUT', 'Request body too large.'],
  415: [
    'BAD_USER_INPUT',
    'Unsupported media type: send the request body as JSON with "Content-Type: application/json".',
  ],
  431: ['BAD_USER_INPUT', 'Request headers too large.'],
  429: ['RATE_LIMITED', 'Too many requests; try again later.'],
  503: ['SERVICE_UNAVAILABLE', 'The service is unavailable; try again shortly.'],
};

/** The code and message of an error status that came without a body of its own. */
export function defaultError(status: number): [ApiErrorCode, string] {
  return (
    DEFAULT_ERRORS[status] ??
    (status >= 500 ? ['INTERNAL_SERVER_ERROR', 'Unexpected error.'] : ['BAD_USER_INPUT', 'The request was refused.'])
  );
}

/** An error body in the shape of the path it answers. */
export function errorBodyFor(pathname: string, code: ApiErrorCode, message: string): string {
  return pathname === GRAPHQL_PATH ? graphqlErrorBody(message, code) : httpErrorBody(code, message);
}

/** The 404 of every path that is not an endpoint. */
export function notFoundResponse(pathname: string): Response {
  return new Response(errorBodyFor(pathname, 'NOT_FOUND', NOT_FOUND_MESSAGE), {
    status: 404,
    headers: { 'content-type': JSON_CONTENT_TYPE },
  });
}
