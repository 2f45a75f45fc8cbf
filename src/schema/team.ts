import { listTeams, type TeamRecord } from '../domain/organizations.ts';
import { builder } from './builder.ts';

export const TeamRef = builder.objectRef<TeamRecord>('Team').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
  }),
});

builder.queryField('teams', (t) =>
  t.field({
    description: "Teams of the caller's organization.",
    type: [TeamRef],
    authScopes: { authenticated: true },
    resolve: (_root, _args, { domain, caller }) => listTeams(domain.db, caller.key.organizationId),
  }),
);
