import { showApiKey } from '../domain/api-keys.ts';
import { encodeCursor, NAME_MAX_LENGTH } from '../domain/input.ts';
import { listApiKeys, type Page } from '../domain/key-list.ts';
import type { ApiKeyRecord } from '../domain/records.ts';
import type { RoleCatalogue, RoleDefinition } from '../domain/roles.ts';
import { builder } from './builder.ts';
import { forwardPage } from './connection.ts';
import { CreatorRef } from './creator.ts';
import { RoleRef } from './role.ts';
import { TeamRef } from './team.ts';

export const ApiKeyRef = builder.objectRef<ApiKeyRecord>('ApiKey').implement({
  description: 'An API key. Its token is shown only when the key is created or rotated.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'A ULID, e.g. "01FCNDV6P870EA6S7TK1DSYDG0".' }),
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    creator: t.field({ type: CreatorRef, resolve: (key) => key }),
    roles: t.field({
      type: [RoleRef],
      description: 'Account-level roles.',
      resolve: (key, _args, { domain }) => rolesNamed(domain.catalogue, key.grants.roleNames),
    }),
    teamIds: t.idList({ resolve: (key) => key.grants.teamIds }),
    teams: t.field({ type: [TeamRef], resolve: (key) => key.teams }),
    teamRoles: t.field({
      type: [RoleRef],
      description: 'Roles that apply in every team of teamIds.',
      resolve: (key, _args, { domain }) => rolesNamed(domain.catalogue, key.grants.teamRoleNames),
    }),
    tokenLastIssuedAt: t.expose('tokenLastIssuedAt', {
      type: 'DateTime',
      description: 'When the key was created or last rotated.',
    }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Last successful authentication; null until first use. May lag by a few seconds.',
    }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'From this instant every token of the key is refused; null: never expires.',
    }),
  }),
});

// Most keys hold no role or one at each level: their lists are shared rather than made for every key
// of every page (a page of 50 keys made 100 arrays). Never modified, like the catalogue's roles.
const NO_ROLES: readonly RoleDefinition[] = Object.freeze([]);
const alone = new WeakMap<RoleDefinition, readonly RoleDefinition[]>();

/** The catalogue's roles of `names`, in their order (a name not in the catalogue is left out). */
function rolesNamed(catalogue: RoleCatalogue, names: readonly string[]): readonly RoleDefinition[] {
  if (names.length === 0) return NO_ROLES;
  if (names.length === 1) {
    const role = catalogue.get(names[0] as string);
    if (!role) return NO_ROLES;
    let list = alone.get(role);
    if (!list) {
      list = Object.freeze([role]);
      alone.set(role, list);
    }
    return list;
  }
  const roles: RoleDefinition[] = [];
  for (const name of names) {
    const role = catalogue.get(name);
    if (role) roles.push(role);
  }
  return roles;
}

/**
 * The connection of each page, while the page is kept (src/domain/read-cache.ts): a page served again
 * gets the same edges and cursors. Like the page, never modified.
 */
const connections = new WeakMap<Page, ReturnType<typeof forwardPage<ApiKeyRecord>>>();

const ApiKeyFilter = builder.inputType('ApiKeyFilter', {
  description: 'All given conditions must hold. A cursor is only valid with the filter it was issued under.',
  fields: (t) => ({
    nameContains: t.string({
      description: `A substring of the name, 1 to ${NAME_MAX_LENGTH} characters; ASCII letters match in either case, every other character only as given.`,
    }),
    teamId: t.id({ description: 'Keys that have this team among their teamIds.' }),
    expiringBefore: t.field({
      type: 'DateTime',
      description: 'Keys whose expiresAt is set and earlier than this.',
    }),
  }),
});

const ApiKeyConnection = builder.connectionObject(
  { type: ApiKeyRef, name: 'ApiKeyConnection' },
  { name: 'ApiKeyEdge' },
);

builder.queryFields((t) => ({
  currentApiKey: t.field({
    description: 'The API key that authenticated this request (any valid key may ask).',
    type: ApiKeyRef,
    authScopes: { authenticated: true },
    resolve: (_root, _args, { caller }) => caller.key,
  }),
  apiKey: t.field({
    description: 'Show one API key. NOT_FOUND when it does not exist or is not visible to the caller.',
    type: ApiKeyRef,
    args: { id: t.arg.id({ required: true }) },
    authScopes: (_root, args) => ({ mayShowApiKey: args.id }),
    // The gate judged the caller (a manager) and the id; the key is read here, once, and shown if visible.
    resolve: async (_root, args, { domain, caller, loaders }) => {
      const shown = await showApiKey(domain, caller, args.id);
      // The key came with its creator: `creator { user }` needs no query of its own.
      if (shown.creatorUser) loaders.user.prime(shown.creatorUser.id, shown.creatorUser);
      return shown.key;
    },
  }),
  apiKeys: t.field({
    description: 'List the API keys visible to the caller, newest first (Relay cursor connection).',
    type: ApiKeyConnection,
    args: {
      first: t.arg.int({ defaultValue: 25, description: '1 to 250.' }),
      after: t.arg.string({ description: 'An endCursor or edge cursor from an earlier page.' }),
      filter: t.arg({ type: ApiKeyFilter }),
    },
    authScopes: (_root, args) => ({ mayListApiKeys: args }),
    resolve: async (_root, args, { domain, caller, loaders }) => {
      const page = await listApiKeys(domain, caller, args);
      // The page came with its creators: `creator { user }` needs no query of its own.
      for (const user of page.creatorUsers) loaders.user.prime(user.id, user);
      let connection = connections.get(page);
      if (!connection) {
        const filterKey = page.filterKey;
        connection = forwardPage(page.keys, page.hasNextPage, (id) => encodeCursor(id, filterKey));
        connections.set(page, connection);
      }
      return connection;
    },
  }),
}));
