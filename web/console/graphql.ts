// Every document the console sends, typed by gql.tada from schema.graphql (scripts/console-types.ts
// writes graphql-env.d.ts): a schema change that breaks one of them fails `npm run typecheck`.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string };
  // Fragments are shared field lists here, not component data boundaries.
  disableMasking: true;
}>();
export type { ResultOf, VariablesOf } from 'gql.tada';

const RoleFields = graphql(`
  fragment RoleFields on Role {
    name
    description
    scopes
    teamAssignable
  }
`);

const KeyFields = graphql(
  `
  fragment KeyFields on ApiKey {
    id
    name
    roles { name description scopes teamAssignable }
    teamIds
    teams { id name }
    teamRoles { name description scopes teamAssignable }
    creator {
      apiKey { id name }
      user { id name email }
    }
    createdAt
    lastUsedAt
    tokenLastIssuedAt
    expiresAt
  }
`,
);

export const SessionQuery = graphql(
  `
  query Session {
    currentApiKey { ...KeyFields }
    roles { ...RoleFields }
    teams { id name }
  }
`,
  [KeyFields, RoleFields],
);

export const KeysQuery = graphql(
  `
  query Keys($first: Int!, $after: String, $filter: ApiKeyFilter) {
    apiKeys(first: $first, after: $after, filter: $filter) {
      edges { node { ...KeyFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`,
  [KeyFields],
);

export const CreateKeyMutation = graphql(
  `
  mutation CreateKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      token
      apiKey { ...KeyFields }
    }
  }
`,
  [KeyFields],
);

export const UpdateKeyMutation = graphql(
  `
  mutation UpdateKey($input: UpdateApiKeyInput!) {
    updateApiKey(input: $input) {
      apiKey { ...KeyFields }
    }
  }
`,
  [KeyFields],
);

export const RotateKeyMutation = graphql(
  `
  mutation RotateKey($input: RotateApiKeyInput!) {
    rotateApiKey(input: $input) {
      token
      previousTokenExpiresAt
      apiKey { ...KeyFields }
    }
  }
`,
  [KeyFields],
);

export const DeleteKeyMutation = graphql(`
  mutation DeleteKey($input: DeleteApiKeyInput!) {
    deleteApiKey(input: $input) { deletedApiKeyId }
  }
`);

export const AuditQuery = graphql(`
  query Audit($first: Int!, $after: String) {
    auditEvents(first: $first, after: $after) {
      edges {
        node {
          id
          action
          createdAt
          actor {
            apiKey { id name }
            user { id name email }
          }
          target { id name }
          grantsBefore { roleNames teamIds teamRoleNames }
          grantsAfter { roleNames teamIds teamRoleNames }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
