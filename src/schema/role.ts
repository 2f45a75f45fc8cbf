import type { RoleDefinition } from '../domain/roles.ts';
import { builder } from './builder.ts';

export const RoleRef = builder.objectRef<RoleDefinition>('Role').implement({
  description: 'A named bundle of scopes.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    scopes: t.exposeStringList('scopes'),
    teamAssignable: t.exposeBoolean('teamLevel', {
      description: 'May be granted as a team role (teamRoleNames), applying in every team of the key.',
    }),
  }),
});

builder.queryField('roles', (t) =>
  t.field({
    description: 'The role catalogue.',
    type: [RoleRef],
    authScopes: { authenticated: true },
    resolve: (_root, _args, { domain }) => domain.catalogue.roles,
  }),
);
