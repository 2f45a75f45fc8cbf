// createApp → the Yoga instance (tests call app.fetch; main.ts hands it to node:http).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import { bearerToken } from './auth/bearer.ts';
import type { LastUsedRecorder } from './auth/last-used.ts';
import { createTokenLookup } from './auth/token-lookup.ts';
import { TokenVerifier } from './auth/verifier.ts';
import type { Config } from './config.ts';
import { type Context, createContext } from './context.ts';
import type { Database } from './db/client.ts';
import type { Caller, Domain } from './domain/api-keys.ts';
import { unauthenticated } from './domain/errors.ts';
import { isDatabaseUnavailable, toClientError } from './errors.ts';
import type { Logger } from './logger.ts';
import { schema } from './schema/index.ts';

export interface AppOptions {
  domain: Domain;
  database: Database;
  config: Pick<Config, 'corsOrigins' | 'production'>;
  logger: Logger;
  lastUsed?: LastUsedRecorder;
  /** Shared with the HTTP server; one is made from the database when not given. */
  verifier?: TokenVerifier;
  /** Callers the HTTP server already authenticated (see src/http/server.ts). */
  preAuthenticated?: WeakMap<IncomingMessage, Caller>;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** /healthz and /readyz answer before GraphQL is involved. */
function probes(database: Database): Plugin {
  return {
    async onRequest({ url, endResponse }) {
      if (url.pathname === '/healthz') return endResponse(json(200, { status: 'ok' }));
      if (url.pathname === '/readyz') {
        try {
          await database.ping();
          return endResponse(json(200, { status: 'ready' }));
        } catch {
          return endResponse(json(503, { status: 'unavailable', reason: 'database is not answering' }));
        }
      }
    },
  };
}

export function createApp(options: AppOptions) {
  const { database, config, logger, lastUsed, preAuthenticated } = options;
  const verifier = options.verifier ?? new TokenVerifier(options.domain, createTokenLookup(database.raw));
  // Changes made through this app drop the changed key's cached tokens at once.
  const domain: Domain = {
    ...options.domain,
    onChange: (change) => {
      verifier.invalidateKey(change.apiKeyId);
      options.domain.onChange?.(change);
    },
  };
  return createYoga<{ req?: IncomingMessage }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // GraphiQL's assets are bundled, not fetched from a CDN: it works on machines without Internet.
    renderGraphiQL,
    healthCheckEndpoint: null as unknown as string,
    graphiql: {
      title: 'Keygate',
      headers: JSON.stringify({ Authorization: 'Bearer ' }, null, 2),
      defaultQuery:
        '# Paste your token after "Bearer " in the Headers tab below, then run:\n{\n  currentApiKey {\n    id\n    name\n    roles { name }\n  }\n}\n',
    },
    cors: config.corsOrigins.length
      ? { origin: config.corsOrigins, allowedHeaders: ['authorization', 'content-type'], methods: ['GET', 'POST'] }
      : false,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error(args.map(String).join(' ')),
    },
    maskedErrors: {
      // Every masked error gets an id that is in the response and in the log line, never the details.
      maskError: (error) => {
        const errorId = randomUUID();
        const graphQLError =
          error instanceof GraphQLError ? error : new GraphQLError('error', { originalError: error as Error });
        return toClientError(graphQLError, errorId, (original) =>
          logger.error({ err: original, errorId }, 'request failed'),
        );
      },
    },
    plugins: [probes(database)],
    context: async ({ request, req }) => {
      let caller = req ? (preAuthenticated?.get(req) ?? null) : null;
      try {
        caller ??= await verifier.verify(bearerToken(request.headers.get('authorization')));
      } catch (error) {
        if (isDatabaseUnavailable(error)) {
          logger.warn('database unavailable during authentication');
          throw new GraphQLError('The database is unavailable; try again shortly.', {
            extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } },
          });
        }
        throw error;
      }
      if (!caller) {
        const failure = unauthenticated();
        throw new GraphQLError(failure.message, {
          extensions: { code: failure.code, http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } } },
        });
      }
      lastUsed?.record(caller.key.id, domain.now());
      return createContext(domain, caller);
    },
  });
}

export type App = ReturnType<typeof createApp>;
