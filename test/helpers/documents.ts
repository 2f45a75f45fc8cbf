// The GraphQL documents many tests send, and the shapes of what they answer. A test that needs other
// fields writes its own document beside it.

/** Every field of ApiKey in docs/api.md. */
export const API_KEY_FIELDS = `
  id name createdAt
  creator { apiKey { id name } user { id email name role slackUserId } }
  roles { name description scopes }
  teamIds teams { id name }
  teamRoles { name description scopes }
  tokenLastIssuedAt lastUsedAt expiresAt
`;

/** The calling key's id: the cheapest request that authenticates. */
export const WHOAMI = '{ currentApiKey { id } }';
/** The calling key with every field. */
export const CURRENT_KEY = `{ currentApiKey { ${API_KEY_FIELDS} } }`;
/** One key with every field. */
export const SHOW_KEY = `query($id: ID!) { apiKey(id: $id) { ${API_KEY_FIELDS} } }`;

/** Creates a key; answers its token and id. */
export const CREATE_ID = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { id } } }';
/** Creates a key; answers its token and every field. */
export const CREATE_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token apiKey { ${API_KEY_FIELDS} } } }`;
/** Updates a key; answers its id and name. */
export const UPDATE_NAME =
  'mutation($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { apiKey { id name } } }';
/** Rotates a key; answers the new token. */
export const ROTATE_TOKEN = 'mutation($input: RotateApiKeyInput!) { rotateApiKey(input: $input) { token } }';
/** Deletes a key given as `input`. */
export const DELETE = 'mutation($input: DeleteApiKeyInput!) { deleteApiKey(input: $input) { deletedApiKeyId } }';
/** Deletes the key `id`. */
export const DELETE_BY_ID = 'mutation($id: ID!) { deleteApiKey(input: { id: $id }) { deletedApiKeyId } }';

export interface RoleView {
  name: string;
  description: string;
  scopes: string[];
}

/** An ApiKey as API_KEY_FIELDS reads it. */
export interface ApiKeyView {
  id: string;
  name: string;
  createdAt: string;
  creator: {
    apiKey: { id: string; name: string } | null;
    user: { id: string; email: string; name: string; role: string; slackUserId: string | null } | null;
  };
  roles: RoleView[];
  teamIds: string[];
  teams: Array<{ id: string; name: string }>;
  teamRoles: RoleView[];
  tokenLastIssuedAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

const sorted = (values: Iterable<string>) => [...values].sort();

/** The grants of a shown key, order-independent. */
export const shownGrants = (key: Pick<ApiKeyView, 'roles' | 'teamIds' | 'teamRoles'> | undefined) => ({
  roleNames: sorted((key?.roles ?? []).map((role) => role.name)),
  teamIds: sorted(key?.teamIds ?? []),
  teamRoleNames: sorted((key?.teamRoles ?? []).map((role) => role.name)),
});

/** Expected grants, in the form of shownGrants: order-independent and without duplicates. */
export const expectedGrants = (roleNames: string[] = [], teamIds: string[] = [], teamRoleNames: string[] = []) => ({
  roleNames: sorted(new Set(roleNames)),
  teamIds: sorted(new Set(teamIds)),
  teamRoleNames: sorted(new Set(teamRoleNames)),
});
