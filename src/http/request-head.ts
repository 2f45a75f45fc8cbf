// The request line and Host header, judged before anything else looks at a request.
//
// The path a request is served for is the path it sent. Yoga reads a request's URL with a URL parser,
// from the Host header and the request target as sent (@whatwg-node/server): the parser folds dot
// segments in any spelling ("/x/../graphql", "/./graphql", "/%2e/graphql"), reads "\" as "/" and drops a
// fragment, and a Host such as "x/graphql?" puts a path of its own before the one sent. The node:http
// layer, which matches paths as sent, then judged one path while Yoga served another: "/x/../graphql"
// with a valid token was answered 200. So a folded path is 404 here, like any path that is no endpoint
// (README, HTTP answers), and a Host that is no host name or address, or none in HTTP/1.1, is 400
// (RFC 9112, 3.2). Node answers a missing Host and an Expect it does not know itself, with a bare
// status line: these answers, in JSON with a code and the headers of every answer, replace them.
// A second Authorization header is 400 too: node:http keeps the first and drops the others unseen, so
// a request with two tokens was judged by one of them, chosen by their order on the wire.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { VERIFY_PATH } from '../verification/http.ts';
import {
  API_HEADERS,
  type ApiErrorCode,
  errorBodyFor,
  errorContentType,
  GRAPHQL_PATH,
  JSON_CONTENT_TYPE,
  NOT_FOUND_MESSAGE,
  pathOf,
} from './responses.ts';

/** A dot segment in any spelling a URL parser reads as one (".", "..", "%2e", ".%2E", …), "\", "#". */
const FOLDED_PATH = /(?:^|[/\\])(?:\.|%2e){1,2}(?:[/\\#]|$)|[\\#]/i;

/** A host name or IPv4 address, or an IPv6 literal in brackets, and an optional port. */
const HOST = /^(?:[\w.~-]+|\[[\da-f:.]+\])(?::\d{1,5})?$/i;

/** The last Host header accepted: a server's clients nearly all send the same one. */
let lastHost = '';

/**
 * Whether a Host header names a host (HOST) that the URL parser Yoga reads it with accepts too: HOST
 * alone let through what that parser refuses ("127.0.0.1:99999", "[::1::1]", "256.1.1.1", "a.123"),
 * and Yoga then failed the request with 500.
 */
function acceptedHost(host: string): boolean {
  if (host === lastHost) return true;
  if (!HOST.test(host) || !URL.canParse(`http://${host}/`)) return false;
  lastHost = host;
  return true;
}

const BAD_HOST_MESSAGE = 'The Host header must name this server: a host name or address, and a port.';
const REPEATED_AUTHORIZATION_MESSAGE = 'More than one Authorization header: send one, with one token.';
const EXPECTATION_MESSAGE = 'Unsupported Expect header: only "Expect: 100-continue" is understood.';

/**
 * Whether the request sent Authorization more than once. Looked for only when it sent one, in
 * rawHeaders (names and values alternately, as sent: a few entries), by the name's length first.
 */
function repeatedAuthorization(req: IncomingMessage): boolean {
  if (req.headers.authorization === undefined) return false;
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization' && ++seen > 1) return true;
  }
  return false;
}

/** An error in the shape of its path (src/http/responses.ts), with the headers of every API answer. */
function answer(req: IncomingMessage, res: ServerResponse, status: number, code: ApiErrorCode, message: string) {
  const path = pathOf(req.url);
  const body = errorBodyFor(path, code, message);
  res.writeHead(status, {
    'content-type': path === GRAPHQL_PATH ? errorContentType(req.headers.accept) : JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    ...API_HEADERS,
  });
  res.end(body);
}

/**
 * Answers, and returns true for, a request whose path a URL parser would read otherwise than it was
 * sent (or that is no path: absolute-form, "*"), one whose Host header is no host or, in HTTP/1.1,
 * missing (the server is created with Node's own check of it off: createHttpServer), and one with more
 * than one Authorization header (before any token is judged).
 */
export function refusedHead(req: IncomingMessage, res: ServerResponse): boolean {
  const path = pathOf(req.url);
  // The endpoints as sent (nearly every request) need no pattern; the Host is checked for all.
  if (path !== GRAPHQL_PATH && path !== VERIFY_PATH && (path[0] !== '/' || FOLDED_PATH.test(path))) {
    answer(req, res, 404, 'NOT_FOUND', NOT_FOUND_MESSAGE);
    return true;
  }
  const host = req.headers.host;
  if (host === undefined ? req.httpVersion === '1.1' : !acceptedHost(host)) {
    answer(req, res, 400, 'BAD_USER_INPUT', BAD_HOST_MESSAGE);
    return true;
  }
  if (repeatedAuthorization(req)) {
    answer(req, res, 400, 'BAD_USER_INPUT', REPEATED_AUTHORIZATION_MESSAGE);
    return true;
  }
  return false;
}

/** The answer to an Expect header other than 100-continue (node:http's 'checkExpectation'). */
export function expectationFailed(req: IncomingMessage, res: ServerResponse): void {
  answer(req, res, 417, 'BAD_USER_INPUT', EXPECTATION_MESSAGE);
}
