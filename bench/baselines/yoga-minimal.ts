// The framework baseline: graphql-yoga with a one-field schema, answering `{ __typename }`. No auth, no
// database, default plugins (parse/validate caches included). PORT and HOST choose where it listens.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { listen } from './listen.ts';

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { ok: Boolean! }', resolvers: { Query: { ok: () => true } } }),
  graphqlEndpoint: '/graphql',
  landingPage: false,
  graphiql: false,
  logging: false,
});

const server = createServer(yoga);
listen(server, 4101);
