// The node:http server around the Yoga app. Authentication happens here, before Yoga: a request with
// a missing, malformed or unknown token is answered 401 for the cost of a header check (and, for a
// well-formed unknown token, one indexed lookup) instead of a trip through the GraphQL pipeline.
// Requests it cannot judge alone (GraphiQL pages, CORS, probes) go to Yoga, which authenticates the
// same way through the same verifier.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { App } from '../app.ts';
import { bearerToken } from '../auth/bearer.ts';
import type { TokenVerifier } from '../auth/verifier.ts';
import type { Caller } from '../domain/api-keys.ts';
import { clientAddress, nodeHeaders } from '../limits/client-address.ts';
import { RateLimits, rateLimitedBody } from '../limits/rate-limit.ts';
import { createLogger, type Logger } from '../logger.ts';
import { nodeAccessLog, ObservedResponse } from '../observability/access-log.ts';
import { refusalOf, signals } from '../observability/signals.ts';
import { errorContentType, needsToken, UNAUTHENTICATED_BODY, UNAUTHENTICATED_HEADERS } from './authentication.ts';

/** Callers authenticated by the server before Yoga saw the request. */
export const preAuthenticated = new WeakMap<IncomingMessage, Caller>();

function judgedHere(req: IncomingMessage): boolean {
  if (req.headers.origin !== undefined) return false; // CORS headers are Yoga's business
  return needsToken(req.method, req.url?.split('?', 1)[0] ?? '', req.headers.accept);
}

function refuse(req: IncomingMessage, res: ServerResponse, token: string | null): void {
  signals.authentication(refusalOf(token));
  res.writeHead(401, {
    'content-type': errorContentType(req.headers.accept),
    'content-length': Buffer.byteLength(UNAUTHENTICATED_BODY),
    ...UNAUTHENTICATED_HEADERS,
  });
  res.end(UNAUTHENTICATED_BODY);
}

export interface HttpServerOptions {
  /** Per-key and failed-authentication limits, shared with the app; none when not given. */
  rateLimits?: RateLimits;
  /** Header a trusted proxy sets to the client address (see src/limits/client-address.ts). */
  clientAddressHeader?: string | undefined;
  /** Writes the access log (one line per request); the x-request-id header is set either way. */
  logger?: Logger;
}

function tooMany(req: IncomingMessage, res: ServerResponse, outcome: { message: string; retryAfterSeconds: number }) {
  signals.authentication('rate_limited');
  const body = rateLimitedBody(outcome);
  res.writeHead(429, {
    'content-type': errorContentType(req.headers.accept),
    'content-length': Buffer.byteLength(body),
    'retry-after': String(outcome.retryAfterSeconds),
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
  const verify = (token: string | null) => verifier.verify(token);
  // Request id, access log line and request metrics of every request (src/observability/access-log.ts).
  const observe = nodeAccessLog(options.logger ?? silent, options);
  const server = createServer({ ServerResponse: ObservedResponse }, (req, res) => {
    observe(req, res);
    if (!judgedHere(req)) {
      void app(req, res);
      return;
    }
    const token = bearerToken(req.headers.authorization);
    if (!rateLimits.active) {
      // Nothing to count: a cached or a refused token is settled synchronously, without a promise.
      const known = verifier.known(token);
      if (known) {
        res.keyId = known.key.id; // counted as an authentication when the response closes
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
    rateLimits.authenticate(token, address, verify).then(
      (outcome) => {
        if (outcome.kind === 'authenticated') {
          res.keyId = outcome.caller.key.id;
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
  });
  return server as unknown as Server;
}
