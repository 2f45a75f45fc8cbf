// Authentication comes first (docs/rules.md: "authentication, input validity, …"): every request to
// /graphql except the GraphiQL page and CORS preflights needs a valid token before its document is
// even parsed. The node:http layer (src/http/server.ts) authenticates what it can and hands the
// principal to Yoga in the server context; this plugin authenticates the rest (app.fetch, and requests
// the node layer passes on unjudged) with the same pipeline (src/auth/authenticate.ts), and the
// context factory (src/app.ts) reads the principal from the server context either way.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { type Authentication, type Authenticator, isRefusal, UNAUTHENTICATED } from '../auth/authenticate.ts';
import type { LastUsedRecorder } from '../auth/last-used.ts';
import type { Domain } from '../domain/types.ts';
import { clientAddress } from '../limits/client-address.ts';
import type { Principal } from '../verification/principal.ts';
import { asksForPage } from './accept.ts';
import { GRAPHQL_ERRORS, GRAPHQL_PATH, notFoundResponse } from './responses.ts';

/**
 * Yoga's server context: node:http's request and response when served through node:http, and the
 * principal of an authenticated request (set by the node:http layer, or by this plugin).
 */
export interface ServerContext {
  req?: IncomingMessage;
  res?: ServerResponse;
  principal?: Principal | undefined;
}

/**
 * GraphiQL (a browser GET, or HEAD, asking for HTML: the same test as the page's, src/http/accept.ts) and
 * preflights load without a token; nothing else does.
 */
export function needsToken(method: string | undefined, pathname: string, accept: string | null | undefined): boolean {
  if (pathname !== GRAPHQL_PATH) return false;
  if (method === 'OPTIONS') return false;
  return !asksForPage(method, accept);
}

export interface AuthenticationOptions {
  domain: Domain;
  /** The pipeline (shared caches and limits with the node:http layer). */
  authenticator: Authenticator;
  lastUsed?: LastUsedRecorder | undefined;
  /** Logs a lookup that failed because the database is unavailable (answered 503). */
  onLookupError?: (error: unknown) => void;
  /** Logs an unexpected failure while authenticating; the client sees only the error id. */
  onUnexpectedError?: (error: unknown, errorId: string) => void;
  /** Header a trusted proxy sets to the client address (see src/limits/client-address.ts). */
  clientAddressHeader?: string | undefined;
}

interface Payload {
  request: Request;
  serverContext: ServerContext;
  endResponse: (response: Response) => void;
}

/** Authenticates in Yoga's onRequest, before parsing; admitted requests carry their principal. */
export function authenticationPlugin(options: AuthenticationOptions): Plugin<object, ServerContext> {
  const { authenticator, lastUsed, domain } = options;
  const addressOf = ({ request, serverContext }: Payload) =>
    clientAddress(request.headers, serverContext.req?.socket?.remoteAddress, options.clientAddressHeader);
  const used = (principal: Principal) => {
    if (principal.kind !== 'verifier') lastUsed?.record(principal.key.id, domain.now());
  };
  const settle = (payload: Payload, outcome: Authentication) => {
    if (!isRefusal(outcome)) {
      payload.serverContext.principal = outcome;
      used(outcome);
      return;
    }
    if (outcome.kind === 'unavailable') options.onLookupError?.(outcome.error);
    else if (outcome.kind === 'failed') options.onUnexpectedError?.(outcome.error, outcome.errorId);
    payload.endResponse(GRAPHQL_ERRORS.response(payload.request.headers.get('accept'), outcome));
  };
  return {
    onRequest(payload) {
      const { request, serverContext, url } = payload;
      if (!needsToken(request.method, url.pathname, request.headers.get('accept'))) return;
      // Authenticated by the node:http layer already: settled synchronously.
      if (serverContext.principal) return used(serverContext.principal);
      const outcome = authenticator.authenticate(request.headers.get('authorization'), payload, addressOf);
      if (outcome instanceof Promise) return outcome.then((settled) => settle(payload, settled));
      settle(payload, outcome);
    },
    // The last step before a body or query string is read: a request no plugin answered and no token
    // admitted goes no further. That is a look-alike path (/graphql/, //graphql, /x/graphql: Yoga's own
    // routing takes any URL ending in /graphql), or a /graphql request let through above for a page or
    // a preflight that nothing served. Nothing is parsed, and no token is looked up, for either. So any
    // other kind of caller must be admitted (given a principal) to reach the parser.
    onRequestParse({ request, url, endResponse, serverContext }) {
      if (serverContext.principal) return;
      if (url.pathname !== GRAPHQL_PATH) return endResponse(notFoundResponse(url.pathname));
      endResponse(GRAPHQL_ERRORS.response(request.headers.get('accept'), UNAUTHENTICATED.missing));
    },
  };
}
