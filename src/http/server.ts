// The node:http server around the Yoga app. Authentication happens here, before Yoga: a request with
// a missing, malformed or unknown token is answered 401 for the cost of a header check (and, for a
// well-formed unknown token, one indexed lookup) instead of a trip through the GraphQL pipeline.
// Requests it cannot judge alone (GraphiQL pages, CORS, probes) go to Yoga, which authenticates the
// same way through the same verifier.
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { App } from '../app.ts';
import { bearerToken } from '../auth/bearer.ts';
import type { TokenVerifier } from '../auth/verifier.ts';
import { clientAddress, nodeHeaders } from '../limits/client-address.ts';
import { RateLimits, rateLimitedBody } from '../limits/rate-limit.ts';
import { createLogger, type Logger } from '../logger.ts';
import { nodeAccessLog, ObservedResponse } from '../observability/access-log.ts';
import { newRequestId, REQUEST_ID_HEADER } from '../observability/request-id.ts';
import { refusalOf, signals } from '../observability/signals.ts';
import { schema } from '../schema/index.ts';
import { knownPrincipal, type Principal, principalOf } from '../verification/principal.ts';
import type { VerifierTokens } from '../verification/verifier-tokens.ts';
import { needsToken, UNAUTHENTICATED_BODY, UNAUTHENTICATED_HEADERS } from './authentication.ts';
import { pagesFor } from './console.ts';
import { serveGraphiQL } from './graphiql.ts';
import { withRequestDeadline } from './request-deadline.ts';
import { API_HEADERS, defaultError, errorContentType, httpErrorBody, JSON_CONTENT_TYPE } from './responses.ts';

/** Callers authenticated by the server before Yoga saw the request. */
export const preAuthenticated = new WeakMap<IncomingMessage, Principal>();

function judgedHere(req: IncomingMessage): boolean {
  if (req.headers.origin !== undefined) return false; // CORS headers are Yoga's business
  return needsToken(req.method, req.url?.split('?', 1)[0] ?? '', req.headers.accept);
}

// The 401's headers, made once per content type: a refusal costs no header object of its own.
const REFUSAL_HEADERS = new Map(
  [JSON_CONTENT_TYPE, errorContentType('application/graphql-response+json')].map((contentType) => [
    contentType,
    {
      'content-type': contentType,
      'content-length': Buffer.byteLength(UNAUTHENTICATED_BODY),
      ...UNAUTHENTICATED_HEADERS,
      ...API_HEADERS,
    },
  ]),
);

function refuse(req: IncomingMessage, res: ServerResponse, token: string | null): void {
  signals.authentication(refusalOf(token));
  res.writeHead(401, REFUSAL_HEADERS.get(errorContentType(req.headers.accept)));
  res.end(UNAUTHENTICATED_BODY);
}

/**
 * A request Node's parser refused (malformed, headers too large, too slow) gets a JSON error with a code
 * and the API headers, like every other answer, where Node would send a bare status line. As Node does,
 * only when nothing was written on the connection yet; then the connection is closed. It carries a new
 * x-request-id like every answer (the request's own header may not even have been read): the status line
 * and headers before it, and the rest after it, are made once.
 */
function malformedRequestAnswer(status: number): { head: string; tail: string } {
  const [code, message] = defaultError(status);
  const body = httpErrorBody(code, status === 400 ? 'The request is not valid HTTP.' : message);
  const headers = { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(body), ...API_HEADERS };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return {
    head: `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}${REQUEST_ID_HEADER}: `,
    tail: `\r\nconnection: close\r\n\r\n${body}`,
  };
}

const PARSER_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};
const MALFORMED_ANSWERS = new Map([400, 408, 413, 431].map((status) => [status, malformedRequestAnswer(status)]));
const BAD_REQUEST_ANSWER = malformedRequestAnswer(400);

function onClientError(error: Error & { code?: string }, socket: Duplex): void {
  const connection = socket as Socket;
  if (connection.writable && connection.bytesWritten === 0) {
    const { head, tail } = MALFORMED_ANSWERS.get(PARSER_STATUS[error.code ?? ''] ?? 400) ?? BAD_REQUEST_ANSWER;
    connection.write(`${head}${newRequestId()}${tail}`);
  }
  connection.destroy(error);
}

export interface HttpServerOptions {
  /** Per-key and failed-authentication limits, shared with the app; none when not given. */
  rateLimits?: RateLimits;
  /** Header a trusted proxy sets to the client address (see src/limits/client-address.ts). */
  clientAddressHeader?: string | undefined;
  /** Every request is answered within this many ms (src/http/request-deadline.ts); none when not given. */
  requestTimeoutMs?: number | undefined;
  /** Writes the access log (one line per request); the x-request-id header is set either way. */
  logger?: Logger;
  /** Verifier tokens, shared with the app. */
  verifierTokens?: VerifierTokens;
  /** Answers POST /v1/verify (src/verification/http.ts). */
  verify?: (req: IncomingMessage, res: ServerResponse) => void;
}

function tooMany(req: IncomingMessage, res: ServerResponse, outcome: { message: string; retryAfterSeconds: number }) {
  signals.authentication('rate_limited');
  const body = rateLimitedBody(outcome);
  res.writeHead(429, {
    'content-type': errorContentType(req.headers.accept),
    'content-length': Buffer.byteLength(body),
    'retry-after': String(outcome.retryAfterSeconds),
    ...API_HEADERS,
  });
  res.end(body);
}

const silent = createLogger('silent');

export function createHttpServer(
  app: App,
  verifier: TokenVerifier,
  onError: (error: unknown) => void,
  options: HttpServerOptions = {},
): Server {
  const rateLimits = options.rateLimits ?? RateLimits.off();
  // verify() itself refuses a malformed token, or one already known to be unknown, without a lookup.
  const verify = principalOf(verifier, options.verifierTokens);
  const knownToken = (token: string | null) => knownPrincipal(verifier, options.verifierTokens, token);
  const verification = options.verify;
  const pages = pagesFor(schema);
  // Request id, access log line and request metrics of every request (src/observability/access-log.ts).
  const observe = nodeAccessLog(options.logger ?? silent, options);
  const handle = (req: IncomingMessage, res: ObservedResponse): void => {
    observe(req, res);
    // The path without the query string, as /graphql is matched (a startsWith, not a split, on every request).
    if (verification && (req.url === '/v1/verify' || req.url?.startsWith('/v1/verify?'))) {
      verification(req, res);
      return;
    }
    if (serveGraphiQL(pages, req, res)) return;
    if (!judgedHere(req)) {
      void app(req, res);
      return;
    }
    const token = bearerToken(req.headers.authorization);
    if (!rateLimits.active) {
      // Nothing to count: a cached or a refused token is settled synchronously, without a promise.
      const known = knownToken(token);
      if (known) {
        // Counted as an authentication when the response closes; a verifier token is no key.
        if (known.kind !== 'verifier') res.keyId = known.key.id;
        preAuthenticated.set(req, known);
        void app(req, res);
        return;
      }
      if (known === null) {
        req.resume();
        refuse(req, res, token);
        return;
      }
    }
    const address = clientAddress(nodeHeaders(req.headers), req.socket.remoteAddress, options.clientAddressHeader);
    rateLimits.authenticate(token, address, verify, knownToken).then(
      (outcome) => {
        if (outcome.kind === 'authenticated') {
          if (outcome.caller.kind !== 'verifier') res.keyId = outcome.caller.key.id;
          preAuthenticated.set(req, outcome.caller);
          void app(req, res);
          return;
        }
        req.resume(); // discard the body
        if (outcome.kind === 'rate-limited') tooMany(req, res, outcome);
        else refuse(req, res, token);
      },
      (error) => {
        // A lookup failure (database down) is Yoga's to report, with its SERVICE_UNAVAILABLE answer.
        onError(error);
        void app(req, res);
      },
    );
  };
  const server = createServer(
    { ServerResponse: ObservedResponse },
    withRequestDeadline(options.requestTimeoutMs, handle as (req: IncomingMessage, res: ServerResponse) => void),
  );
  server.on('clientError', onClientError);
  return server as unknown as Server;
}
