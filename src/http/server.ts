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
import { unauthenticated } from '../domain/errors.ts';

/** Callers authenticated by the server before Yoga saw the request. */
export const preAuthenticated = new WeakMap<IncomingMessage, Caller>();

const UNAUTHENTICATED_BODY = JSON.stringify({
  errors: [{ message: unauthenticated().message, extensions: { code: 'UNAUTHENTICATED' } }],
});

function judgedHere(req: IncomingMessage): boolean {
  if (req.headers.origin !== undefined) return false; // CORS headers are Yoga's business
  const path = req.url?.split('?', 1)[0];
  if (path !== '/graphql') return false;
  if (req.method === 'POST') return true;
  return req.method === 'GET' && !(req.headers.accept ?? '').includes('text/html');
}

function refuse(req: IncomingMessage, res: ServerResponse): void {
  const accept = req.headers.accept ?? '';
  const type = accept.includes('application/graphql-response+json')
    ? 'application/graphql-response+json; charset=utf-8'
    : 'application/json; charset=utf-8';
  res.writeHead(401, {
    'content-type': type,
    'content-length': Buffer.byteLength(UNAUTHENTICATED_BODY),
    'www-authenticate': 'Bearer',
  });
  res.end(UNAUTHENTICATED_BODY);
}

export function createHttpServer(app: App, verifier: TokenVerifier, onError: (error: unknown) => void): Server {
  return createServer((req, res) => {
    if (!judgedHere(req)) {
      void app(req, res);
      return;
    }
    const token = bearerToken(req.headers.authorization);
    if (!verifier.mayBeValid(token)) {
      req.resume(); // discard the body
      refuse(req, res);
      return;
    }
    verifier.verify(token).then(
      (caller) => {
        if (!caller) {
          req.resume();
          refuse(req, res);
          return;
        }
        preAuthenticated.set(req, caller);
        void app(req, res);
      },
      (error) => {
        // A lookup failure (database down) is Yoga's to report, with its SERVICE_UNAVAILABLE answer.
        onError(error);
        void app(req, res);
      },
    );
  });
}
