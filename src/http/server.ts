// The node:http server around the Yoga app. Authentication happens here, before Yoga: a request with
// a missing, malformed or unknown token is answered 401 for the cost of a header check (and, for a
// well-formed unknown token, one indexed lookup) instead of a trip through the GraphQL pipeline. The
// pipeline is src/auth/authenticate.ts; its answers are src/http/responses.ts's. An admitted request
// enters Yoga with its principal in the server context. Requests it cannot judge alone (GraphiQL
// pages, CORS, probes) go to Yoga without one, whose plugin authenticates them the same way. Before
// any of that, a request whose path or Host a URL parser would read otherwise than they were sent is
// refused (src/http/request-head.ts). Receiving a request is bounded by the request timeout
// (nodeTimeouts below), and an answer given before the body arrived closes the connection
// (src/http/connection-close.ts).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isPromise, sendNodeResponse } from '@whatwg-node/server';
import type { App } from '../app.ts';
import { type Authentication, Authenticator, isRefusal, type Refusal } from '../auth/authenticate.ts';
import type { TokenVerifier } from '../auth/verifier.ts';
import { clientAddress, nodeHeaders } from '../limits/client-address.ts';
import type { RateLimits } from '../limits/rate-limit.ts';
import { createLogger, type Logger } from '../logger.ts';
import { nodeAccessLog, type ObservedResponse } from '../observability/access-log.ts';
import { newRequestId, REQUEST_ID_HEADER } from '../observability/request-id.ts';
import { schema } from '../schema/index.ts';
import type { Principal } from '../verification/principal.ts';
import type { VerifierTokens } from '../verification/verifier-tokens.ts';
import { needsToken, type ServerContext } from './authentication.ts';
import { bodyStillArriving, isClosing, ServedResponse } from './connection-close.ts';
import { pagesFor } from './console.ts';
import { serveGraphiQL } from './graphiql.ts';
import { withRequestDeadline } from './request-deadline.ts';
import { expectationFailed, refusedHead } from './request-head.ts';
import {
  API_HEADERS,
  defaultError,
  GRAPHQL_ERRORS,
  httpErrorBody,
  JSON_CONTENT_TYPE,
  pathOf,
  writeFailure,
} from './responses.ts';

function judgedHere(req: IncomingMessage): boolean {
  if (req.headers.origin !== undefined) return false; // CORS headers are Yoga's business
  return needsToken(req.method, pathOf(req.url), req.headers.accept);
}

/**
 * A request Node's parser refused (malformed, headers too large, too slow) gets a JSON error with a code
 * and the API headers, like every other answer, where Node would send a bare status line. As Node does,
 * only when nothing was written on the connection yet; then the connection is closed. It carries a new
 * x-request-id like every answer (the request's own header may not even have been read): the status line
 * and headers before it, and the rest after it, are made once.
 */
function malformedRequestAnswer(
  status: number,
  message = status === 400 ? 'The request is not valid HTTP.' : defaultError(status)[1],
  more: Record<string, string> = {},
): { head: string; tail: string } {
  const body = httpErrorBody(defaultError(status)[0], message);
  const headers = {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    ...more,
    ...API_HEADERS,
  };
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

/**
 * CONNECT asks for a tunnel, which Node hands to a 'connect' listener instead of the request handler,
 * and without one closes the connection unanswered: it is refused like a request Node's parser refused.
 */
const CONNECT_ANSWER = malformedRequestAnswer(
  405,
  'CONNECT is not served: Keygate is no proxy. Send GraphQL requests as POST (or GET for queries) to /graphql.',
  { allow: 'GET, POST' },
);

function onConnect(_req: IncomingMessage, socket: Duplex): void {
  const connection = socket as Socket;
  if (connection.writable) connection.end(`${CONNECT_ANSWER.head}${newRequestId()}${CONNECT_ANSWER.tail}`);
  else connection.destroy();
}

function onClientError(error: Error & { code?: string }, socket: Duplex): void {
  const connection = socket as Socket;
  if (connection.writable && connection.bytesWritten === 0) {
    const { head, tail } = MALFORMED_ANSWERS.get(PARSER_STATUS[error.code ?? ''] ?? 400) ?? BAD_REQUEST_ANSWER;
    connection.write(`${head}${newRequestId()}${tail}`);
  }
  connection.destroy(error);
}

/** How often Node looks for requests past its timeouts (its default, 30 s, answered them up to 30 s late). */
const TIMEOUT_CHECK_MS = 250;

/**
 * Node's own bounds on receiving a request, tied to the request timeout: the headers must all have
 * arrived within it (else 408 and the connection closed, see onClientError; Node's default was 60 s),
 * and the whole request within it and a second more (the deadline answers first, and an answer before
 * the body arrived closes the connection: this bounds what nothing else would; Node's default, 300 s).
 */
function nodeTimeouts(requestTimeoutMs: number) {
  return {
    headersTimeout: requestTimeoutMs,
    requestTimeout: requestTimeoutMs + 1_000,
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, requestTimeoutMs),
  };
}

export interface HttpServerOptions {
  /** Per-key and failed-authentication limits, shared with the app; none when not given. */
  rateLimits?: RateLimits;
  /** Header a trusted proxy sets to the client address (see src/limits/client-address.ts). */
  clientAddressHeader?: string | undefined;
  /**
   * Every request is answered within this many ms (src/http/request-deadline.ts), and its headers must
   * arrive within it; none, and Node's default bounds, when not given.
   */
  requestTimeoutMs?: number | undefined;
  /** Writes the access log (one line per request); the x-request-id header is set either way. */
  logger?: Logger;
  /** Verifier tokens, shared with the app. */
  verifierTokens?: VerifierTokens;
  /** Answers POST /v1/verify (src/verification/http.ts). */
  verify?: (req: IncomingMessage, res: ServerResponse) => void;
}

const silent = createLogger('silent');

/**
 * Hands a request to Yoga with the server context made here, principal included: Yoga's own node
 * listener would merge a context given to it into its own, property by property, on every request.
 */
function yogaListener(app: App, onError: (error: unknown, errorId: string) => void) {
  const handle = app.handleNodeRequestAndResponse;
  const waitUntil = app.waitUntil;
  // Yoga answers its own errors; this is for what escapes it (writing the answer out, say).
  const failed = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    const errorId = randomUUID();
    onError(error, errorId);
    writeFailure(req, res, error, errorId);
  };
  const send = (req: IncomingMessage, res: ServerResponse, response: Response) => {
    const sent = sendNodeResponse(response, res, req, true);
    if (isPromise(sent)) sent.then(undefined, (error: unknown) => failed(req, res, error));
  };
  return (req: IncomingMessage, res: ServerResponse, principal: Principal | undefined): void => {
    const context: ServerContext & { waitUntil: typeof waitUntil } = { req, res, waitUntil, principal };
    let answer: Response | PromiseLike<Response>;
    try {
      answer = handle(req, res, context);
    } catch (error) {
      failed(req, res, error);
      return;
    }
    // Yoga answers synchronously when it can (a thenable otherwise), as its own listener handles it.
    if (isPromise(answer)) {
      answer.then(
        (response) => send(req, res, response),
        (error: unknown) => failed(req, res, error),
      );
    } else send(req, res, answer);
  };
}

/**
 * `onError` logs a failure the client sees only as a status: a lookup while the database is down
 * (503, no errorId) or an unexpected one (500, with the errorId the answer carries).
 */
export function createHttpServer(
  app: App,
  verifier: TokenVerifier,
  onError: (error: unknown, errorId?: string) => void,
  options: HttpServerOptions = {},
): Server {
  const authenticator = new Authenticator({
    apiKeys: verifier,
    verifierTokens: options.verifierTokens,
    rateLimits: options.rateLimits,
  });
  const header = options.clientAddressHeader;
  const addressOf = (req: IncomingMessage) => clientAddress(nodeHeaders(req.headers), req.socket.remoteAddress, header);
  const yoga = yogaListener(app, onError);
  const verification = options.verify;
  const pages = pagesFor(schema);
  // Request id, access log line and request metrics of every request (src/observability/access-log.ts).
  const observe = nodeAccessLog(options.logger ?? silent, options);
  const refuse = (req: IncomingMessage, res: ObservedResponse, outcome: Refusal): void => {
    if (outcome.kind === 'unavailable') onError(outcome.error);
    else if (outcome.kind === 'failed') onError(outcome.error, outcome.errorId);
    GRAPHQL_ERRORS.write(res, req.headers.accept, outcome);
  };
  const settle = (req: IncomingMessage, res: ObservedResponse, outcome: Authentication): void => {
    // Answered already: the request's deadline (src/http/request-deadline.ts) came while its token was
    // being judged (a lookup or a limit waiting for its database). Nothing of it may run or be written.
    if (res.headersSent || res.writableEnded) {
      req.resume();
      return;
    }
    if (!isRefusal(outcome)) {
      // A verifier token is no key: the access log names none.
      if (outcome.kind !== 'verifier') res.keyId = outcome.key.id;
      yoga(req, res, outcome);
      return;
    }
    req.resume(); // the body is read and dropped
    // Refused while the packets that brought the headers are still being parsed (from the token's
    // format, the cache or a limit counted in memory): the body that came with them is read by the
    // next turn of the event loop, when the answer then keeps the connection. A body still arriving
    // then is not waited for: the answer closes the connection (src/http/connection-close.ts).
    if (bodyStillArriving(req)) setImmediate(refuse, req, res, outcome);
    else refuse(req, res, outcome);
  };
  const handle = (req: IncomingMessage, res: ObservedResponse): void => {
    // A request sent on after an answer that closes its connection (pipelined) is not served.
    if (isClosing(req.socket)) {
      req.socket.destroy();
      return;
    }
    observe(req, res);
    if (refusedHead(req, res)) return;
    // The path without the query string, as /graphql is matched (a startsWith, not a split, on every request).
    if (verification && (req.url === '/v1/verify' || req.url?.startsWith('/v1/verify?'))) {
      verification(req, res);
      return;
    }
    if (serveGraphiQL(pages, req, res)) return;
    if (!judgedHere(req)) {
      yoga(req, res, undefined);
      return;
    }
    // Settled synchronously when the cache (or the token's format) tells and no limit counts.
    const outcome = authenticator.authenticate(req.headers.authorization, req, addressOf);
    if (outcome instanceof Promise) outcome.then((settled) => settle(req, res, settled));
    else settle(req, res, outcome);
  };
  const server = createServer(
    {
      ServerResponse: ServedResponse,
      // Answered by refusedHead, in JSON with the headers, where Node would send a bare 400.
      requireHostHeader: false,
      ...(options.requestTimeoutMs ? nodeTimeouts(options.requestTimeoutMs) : {}),
    },
    withRequestDeadline(options.requestTimeoutMs, handle as (req: IncomingMessage, res: ServerResponse) => void),
  );
  server.on('clientError', onClientError);
  server.on('connect', onConnect);
  // An Expect other than 100-continue: Node would answer a bare 417.
  server.on('checkExpectation', (req: IncomingMessage, res: ObservedResponse) => {
    observe(req, res);
    expectationFailed(req, res);
  });
  return server as unknown as Server;
}
