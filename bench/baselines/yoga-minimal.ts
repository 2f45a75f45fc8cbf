// The framework baseline: graphql-yoga with a one-field schema, answering `{ __typename }`. No auth, no
// database, default plugins (parse/validate caches included). PORT and HOST choose where it listens.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { ok: Boolean! }', resolvers: { Query: { ok: () => true } } }),
  graphqlEndpoint: '/graphql',
  landingPage: false,
  graphiql: false,
  logging: false,
});

const server = createServer(yoga);
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 4101), process.env.HOST ?? '127.0.0.1', () => {
  console.log('listening');
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
