// The framework ceiling of `apiKeys(first: 50)`: graphql-yoga with the same types as Keygate's ApiKey
// connection, answering the benchmark's list query from 50 objects held in memory. No auth, no database,
// no per-field logic: what the list costs in GraphQL execution and serialisation alone, executed as
// Keygate executes it (graphql-jit; Yoga's body-counting stream off, as Keygate's node:http path skips
// it). PORT and HOST choose where it listens.
import { createServer } from 'node:http';
import { useGraphQlJit } from '@envelop/graphql-jit';
import { createSchema, createYoga } from 'graphql-yoga';
import { listen } from './listen.ts';

const typeDefs = /* GraphQL */ `
  type Query { apiKeys(first: Int, after: String): ApiKeyConnection! }
  type ApiKeyConnection { edges: [ApiKeyEdge!]! pageInfo: PageInfo! }
  type ApiKeyEdge { cursor: String! node: ApiKey! }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
  type Role { name: String! description: String! scopes: [String!]! }
  type Team { id: ID! name: String! }
  type User { id: ID! email: String! name: String! role: String! slackUserId: String }
  type CreatorKey { id: ID! name: String! }
  type Creator { apiKey: CreatorKey user: User }
  type ApiKey {
    id: ID! name: String! createdAt: String! creator: Creator! roles: [Role!]! teamIds: [ID!]!
    teams: [Team!]! teamRoles: [Role!]! tokenLastIssuedAt: String! lastUsedAt: String
  }
`;

const viewer = {
  name: 'viewer',
  description: 'See incidents and organisation settings.',
  scopes: ['incidents.view', 'organisation_settings.view'],
};
const user = {
  id: '01M8E07WVVSXVY71HRAYTZWS31',
  email: 'admin@keygate.local',
  name: 'Keygate administrator',
  role: 'owner',
  slackUserId: null,
};
const now = new Date().toISOString();
const edges = Array.from({ length: 50 }, (_, i) => {
  const id = `01M8E07ZRQVA6V1JEBC7W9J${String(i).padStart(3, '0')}`;
  return {
    cursor: Buffer.from(`apikey:${id}`).toString('base64'),
    node: {
      id,
      name: `bench key ${i}`,
      createdAt: now,
      creator: { apiKey: null, user },
      roles: [viewer],
      teamIds: [],
      teams: [],
      teamRoles: [],
      tokenLastIssuedAt: now,
      lastUsedAt: null,
    },
  };
});
const connection = { edges, pageInfo: { hasNextPage: true, hasPreviousPage: false, endCursor: edges[49]?.cursor } };

const yoga = createYoga({
  schema: createSchema({ typeDefs, resolvers: { Query: { apiKeys: () => connection } } }),
  graphqlEndpoint: '/graphql',
  landingPage: false,
  graphiql: false,
  logging: false,
  maxRequestBodySize: false,
  plugins: [useGraphQlJit()],
});

const server = createServer(yoga);
listen(server, 4102);
