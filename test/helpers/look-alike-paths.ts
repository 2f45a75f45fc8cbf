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

/**
 * Paths that only a client writing the request line itself can send, which a URL parser folds into an
 * endpoint (dot segments in any spelling, a backslash read as "/", a fragment dropped): each must be 404
 * over HTTP, however valid the token. `fetch` and `new URL` fold them before sending, so they are sent raw.
 */
export const FOLDED_PATHS = [
  '/x/../graphql',
  '/./graphql',
  '/%2e/graphql',
  '/%2E%2e/graphql',
  '/.%2e/graphql',
  '/graphql/x/..',
  '/graphql/.',
  '/graphql/..//graphql',
  '/./graphql/',
  '/x\\..\\graphql',
  '/graphql#x',
  '/./healthz',
  '/x/../readyz',
  '/./console',
  '/x/../v1/verify',
];
