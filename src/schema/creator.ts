import type { UserRecord } from '../domain/organizations.ts';
import type { ApiKeyRecord } from '../domain/records.ts';
import { builder } from './builder.ts';

export const UserRef = builder.objectRef<UserRecord>('User').implement({
  description: 'A person of the organization, acting through the administration CLI.',
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    name: t.exposeString('name'),
    role: t.exposeString('role'),
    slackUserId: t.exposeString('slackUserId', { nullable: true }),
  }),
});

const CreatorApiKeyRef = builder.objectRef<{ id: string; name: string }>('CreatorApiKey').implement({
  description: 'The key that created another key, as it was then (readable after it is deleted).',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
  }),
});

export const CreatorRef = builder.objectRef<ApiKeyRecord>('Creator').implement({
  description: 'Exactly one of apiKey and user is set.',
  fields: (t) => ({
    apiKey: t.field({
      type: CreatorApiKeyRef,
      nullable: true,
      resolve: (key) => (key.creatorKeyId !== null ? { id: key.creatorKeyId, name: key.creatorKeyName ?? '' } : null),
    }),
    user: t.field({
      type: UserRef,
      nullable: true,
      resolve: (key, _args, { loaders }) => (key.creatorUserId ? loaders.user.get(key.creatorUserId) : null),
    }),
  }),
});
