// The console's GraphQL client: urql, with graphcache's normalized cache, sending every document to this
// origin's /graphql with the signed-in token. One client per sign-in (main.tsx makes a new one for each
// token and drops it at sign-out), so nothing cached for one key is ever shown to another.
import { type Cache, cacheExchange, type KeyingConfig, type UpdatesConfig } from '@urql/exchange-graphcache';
import { Client, fetchExchange } from 'urql';

const embedded = () => null;

/**
 * How records are identified: an ApiKey, Team or User by its id (the default), a Role by its name.
 * The snapshots ("as it was then": an audit event's target and actor, a key's creator) carry the id of
 * a key or user but its name at one moment, so they stay inside the object that holds them instead of
 * being merged into one record per id. The rest have no identity of their own.
 */
export const keys: KeyingConfig = {
  Role: (role) => role.name as string,
  AuditTarget: embedded,
  AuditActorApiKey: embedded,
  AuditActorUser: embedded,
  CreatorApiKey: embedded,
  ...Object.fromEntries(
    [
      'ApiKeyConnection',
      'ApiKeyEdge',
      'AuditEventConnection',
      'AuditEventEdge',
      'PageInfo',
      'Creator',
      'AuditActor',
      'Grants',
      'AuditEventDetails',
      'CreateApiKeyPayload',
      'UpdateApiKeyPayload',
      'RotateApiKeyPayload',
      'DeleteApiKeyPayload',
    ].map((type) => [type, embedded]),
  ),
};

/** Drops every cached page of a list, so the lists on screen are fetched again. */
const forget = (cache: Cache, ...lists: string[]) => {
  for (const field of cache.inspectFields('Query')) {
    if (lists.includes(field.fieldName)) cache.invalidate('Query', field.fieldName, field.arguments ?? undefined);
  }
};

/**
 * After a change the lists are fetched again: a key may have joined or left a page (created, deleted,
 * renamed out of a search), and every change adds an audit event. The key itself is updated in place
 * from the mutation's answer; a deleted one is dropped.
 */
const updates: UpdatesConfig = {
  Mutation: {
    createApiKey: (_result, _args, cache) => forget(cache, 'apiKeys', 'auditEvents'),
    updateApiKey: (_result, _args, cache) => forget(cache, 'apiKeys', 'auditEvents'),
    rotateApiKey: (_result, _args, cache) => forget(cache, 'auditEvents'),
    deleteApiKey: (result, _args, cache) => {
      const { deletedApiKeyId } = result.deleteApiKey as { deletedApiKeyId: string };
      cache.invalidate({ __typename: 'ApiKey', id: deletedApiKeyId });
      forget(cache, 'apiKeys', 'auditEvents');
    },
  },
};

export function consoleClient(token: string): Client {
  return new Client({
    // Relative to /console: the API of the server that served this page, wherever it is mounted.
    url: 'graphql',
    exchanges: [cacheExchange({ keys, updates }), fetchExchange],
    fetchOptions: { headers: { authorization: `Bearer ${token}` } },
    // Always POST: a GET would need the CSRF-prevention header, and would put documents in access logs.
    preferGetMethod: false,
    // Show what is cached at once, and fetch it again: other people change keys too.
    requestPolicy: 'cache-and-network',
  });
}
