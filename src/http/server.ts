// The node:http server around the Yoga app. Authentication happens here, before Yoga: a request with
// a missing, malformed or unknown token is answered 401 for the cost of a header check (and, for a
// well-formed unknown token, one indexed lookup) instead of a trip through the GraphQL pipeline.
// Requests it cannot judge alone (GraphiQL pages, CORS, probes) go to Yoga, which authenticates the
// same way through the same verifier.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { App } from '../app.ts';
import { bearerToken } from '../auth/bearer.ts';
import type { TokenVerifier } from '../auth/verifier.ts';
import { clientAddress, nodeHeaders } from '../limits/client-address.ts';
import { RateLimits, rateLimitedBody } from '../limits/rate-limit.ts';
import { knownPrincipal, type Principal, principalOf } from '../verification/principal.ts';
import type { VerifierTokens } from '../verification/verifier-tokens.ts';
import { errorContentType, needsToken, UNAUTHENTICATED_BODY, UNAUTHENTICATED_HEADERS } from './authentication.ts';

/** Callers authenticated by the server before Yoga saw the request. */
export const preAuthenticated = new WeakMap<IncomingMessage, Principal>();

function judgedHere(req: IncomingMessage): boolean {
  if (req.headers.origin !== undefined) return false; // CORS headers are Yoga's business
  return needsToken(req.method, req.url?.split('?', 1)[0] ?? '', req.headers.accept);
}

function refuse(req: IncomingMessage, res: ServerResponse): void {
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
  /** Verifier tokens, shared with the app. */
  verifierTokens?: VerifierTokens;
  /** Answers POST /v1/verify (src/verification/http.ts). */
  verify?: (req: IncomingMessage, res: ServerResponse) => void;
}

function tooMany(req: IncomingMessage, res: ServerResponse, outcome: { message: string; retryAfterSeconds: number }) {
  const body = rateLimitedBody(outcome);
  res.writeHead(429, {
    'content-type': errorContentType(req.headers.accept),
    'content-length': Buffer.byteLength(body),
    'retry-after': String(outcome.retryAfterSeconds),
  });
  res.end(body);
}

export function createHttpServer(
  app: App,
  verifier: TokenVerifier,
  onError: (error: unknown) => void,
  options: HttpServerOptions = {},
): Server {
  const rateLimits = options.rateLimits ?? RateLimits.off();
  // verify() itself refuses a malformed token, or one already known to be unknown, without a lookup.
  const verify = principalOf(verifier, options.verifierTokens);
  const verification = options.verify;
  return createServer((req, res) => {
    if (verification && req.url === '/v1/verify') {
      verification(req, res);
      return;
    }
    if (!judgedHere(req)) {
      void app(req, res);
      return;
    }
    const token = bearerToken(req.headers.authorization);
    if (!rateLimits.active) {
      // Nothing to count: a cached or a refused token is settled synchronously, without a promise.
      const known = knownPrincipal(verifier, options.verifierTokens, token);
      if (known) {
        preAuthenticated.set(req, known);
        void app(req, res);
        return;
      }
      if (known === null) {
        req.resume();
        refuse(req, res);
        return;
      }
    }
    const address = clientAddress(nodeHeaders(req.headers), req.socket.remoteAddress, options.clientAddressHeader);
    rateLimits.authenticate(token, address, verify).then(
      (outcome) => {
        if (outcome.kind === 'authenticated') {
          preAuthenticated.set(req, outcome.caller);
          void app(req, res);
          return;
        }
        req.resume(); // discard the body
        if (outcome.kind === 'rate-limited') tooMany(req, res, outcome);
        else refuse(req, res);
      },
      (error) => {
        // A lookup failure (database down) is Yoga's to report, with its SERVICE_UNAVAILABLE answer.
        onError(error);
        void app(req, res);
      },
    );
  });
}
