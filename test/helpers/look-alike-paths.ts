// Paths a lenient router would take for /graphql (issue 12, item 8); each must be 404.
export const LOOK_ALIKE_PATHS = [
  '/graphql/',
  '//graphql',
  '/x/graphql',
  '/graphql/graphql',
  '/graphql/x',
  '/graphql;x',
  '/GRAPHQL',
  '/Graphql',
  '/graphql%2F',
  '/%67raphql',
  '/graphql.json',
  '/graphqlx',
  '/anything?next=/graphql',
  '/v1/graphql',
];
