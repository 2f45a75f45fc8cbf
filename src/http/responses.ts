// Every HTTP answer Keygate builds itself, in one place: the JSON bodies of error responses, the
// headers every response carries, and the answers to a refused authentication (401, 429, 503, 500:
// ErrorAnswers below), for node:http and for Yoga alike. On /graphql an error is a GraphQL response
// (`errors[].extensions.code`); anywhere else it is `{"error": {"code", "message"}}`, the shape of the
// plain-HTTP endpoints (docs/api.md, HTTP). The codes are those of docs/api.md's list.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Refusal } from '../auth/authenticate.ts';
import { unauthenticated } from '../domain/errors.ts';
import { UNAUTHENTICATED_HEADERS } from '../errors.ts';

export const GRAPHQL_PATH = '/graphql';

export type ApiErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

/** What an error body may carry beside its code and message (retryAfter, errorId). */
type Extra = Record<string, string | number>;

/** A GraphQL response with one error. */
export function graphqlErrorBody(message: string, code: ApiErrorCode, extra: Extra = {}): string {
  return JSON.stringify({ errors: [{ message, extensions: { code, ...extra } }] });
}

/** The error body of the plain-HTTP endpoints (probes, /v1/…, anything that is not /graphql). */
export function httpErrorBody(code: ApiErrorCode, message: string, extra: Extra = {}): string {
  return JSON.stringify({ error: { code, message, ...extra } });
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

/**
 * The path of a request target as sent, without its query string (which may hold anything a client
 * pasted, a token included): what every endpoint is matched on and the access log records.
 */
export function pathOf(url: string | undefined): string {
  if (!url) return '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
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

export const UNAVAILABLE_MESSAGE = 'The database is unavailable; try again shortly.';

/** A JSON body that is not UTF-8 (RFC 8259): refused on /graphql and POST /v1/verify alike. */
export const NOT_UTF8_MESSAGE = 'The request body is not valid UTF-8: send JSON text encoded in UTF-8.';

export const unexpectedMessage = (errorId: string) => `Unexpected error; quote error id ${errorId} when reporting it.`;

const RETRY_SOON: Record<string, string> = { 'retry-after': '1' };

/** Status, body and the headers beyond content type and length of an answer to a refusal. */
interface Answer {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * The answers to refused authentications of one kind of endpoint: GraphQL's (/graphql: a GraphQL
 * response, in the media type the client accepts) or a plain-HTTP endpoint's (POST /v1/verify: JSON).
 * 401 with `WWW-Authenticate: Bearer`, 429 with `Retry-After`, 503 with `Retry-After: 1`, 500 with the
 * error id the log has. Every answer carries the API headers.
 */
export class ErrorAnswers {
  readonly #graphql: boolean;
  readonly #unauthenticated: string;
  /** The 401's headers, made once per content type: a refusal costs no header object of its own. */
  readonly #unauthenticatedHeaders: Map<string, Record<string, string | number>>;

  constructor(kind: 'graphql' | 'http', unauthenticatedMessage: string) {
    this.#graphql = kind === 'graphql';
    this.#unauthenticated = this.body('UNAUTHENTICATED', unauthenticatedMessage);
    const contentTypes = this.#graphql ? [JSON_CONTENT_TYPE, GRAPHQL_RESPONSE_CONTENT_TYPE] : [JSON_CONTENT_TYPE];
    this.#unauthenticatedHeaders = new Map(
      contentTypes.map((contentType) => [
        contentType,
        {
          'content-type': contentType,
          'content-length': Buffer.byteLength(this.#unauthenticated),
          ...UNAUTHENTICATED_HEADERS,
          ...API_HEADERS,
        },
      ]),
    );
  }

  /** An error body in this endpoint's shape. */
  body(code: ApiErrorCode, message: string, extra: Extra = {}): string {
    return this.#graphql ? graphqlErrorBody(message, code, extra) : httpErrorBody(code, message, extra);
  }

  contentType(accept: string | null | undefined): string {
    return this.#graphql ? errorContentType(accept) : JSON_CONTENT_TYPE;
  }

  /**
   * Answers a refusal on node:http (the caller discards the request body); nothing when the request was
   * answered already (by its deadline): a second answer would throw.
   */
  write(res: ServerResponse, accept: string | undefined, refusal: Refusal): void {
    if (res.headersSent || res.writableEnded) return;
    if (refusal.kind === 'unauthenticated') {
      res.writeHead(401, this.#unauthenticatedHeaders.get(this.contentType(accept)));
      res.end(this.#unauthenticated);
      return;
    }
    const { status, body, headers } = this.#answer(refusal);
    res.writeHead(status, {
      'content-type': this.contentType(accept),
      'content-length': Buffer.byteLength(body),
      ...headers,
      ...API_HEADERS,
    });
    res.end(body);
  }

  /** The answer to a refusal as a Fetch Response (Yoga's endResponse). */
  response(accept: string | null, refusal: Refusal): Response {
    const { status, body, headers } =
      refusal.kind === 'unauthenticated'
        ? { status: 401, body: this.#unauthenticated, headers: UNAUTHENTICATED_HEADERS }
        : this.#answer(refusal);
    return new Response(body, {
      status,
      headers: { 'content-type': this.contentType(accept), ...headers, ...API_HEADERS },
    });
  }

  #answer(refusal: Exclude<Refusal, { kind: 'unauthenticated' }>): Answer {
    switch (refusal.kind) {
      case 'rate-limited':
        return {
          status: 429,
          body: this.body('RATE_LIMITED', refusal.message, { retryAfter: refusal.retryAfterSeconds }),
          headers: { 'retry-after': String(refusal.retryAfterSeconds) },
        };
      case 'unavailable':
        return { status: 503, body: this.body('SERVICE_UNAVAILABLE', UNAVAILABLE_MESSAGE), headers: RETRY_SOON };
      case 'failed':
        return {
          status: 500,
          body: this.body('INTERNAL_SERVER_ERROR', unexpectedMessage(refusal.errorId), { errorId: refusal.errorId }),
          headers: {},
        };
    }
  }
}

/** The answers of /graphql. */
export const GRAPHQL_ERRORS = new ErrorAnswers('graphql', unauthenticated().message);

/** The answers of every other path Yoga serves (pages, probes), none of which refuses a token. */
const OTHER_ERRORS = new ErrorAnswers('http', unauthenticated().message);

/**
 * Answers 500 for a request whose answer failed after the endpoint made it (writing it out, say), in
 * the shape of its path; a request whose answer was partly written can only be cut off.
 */
export function writeFailure(req: IncomingMessage, res: ServerResponse, error: unknown, errorId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const answers = pathOf(req.url) === GRAPHQL_PATH ? GRAPHQL_ERRORS : OTHER_ERRORS;
  answers.write(res, req.headers.accept, { refused: true, kind: 'failed', error, errorId });
}
