import { createApiKey, deleteApiKey, rotateApiKey, updateApiKey } from '../domain/api-keys.ts';
import type { ApiKeyRecord } from '../domain/records.ts';
import { ApiKeyRef } from './api-key.ts';
import { builder } from './builder.ts';

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    roleNames: t.stringList({ defaultValue: [] }),
    teamIds: t.idList({ defaultValue: [] }),
    teamRoleNames: t.stringList({ defaultValue: [] }),
    expiresAt: t.field({
      type: 'DateTime',
      description: 'When the key expires (must be in the future); absent or null: never.',
    }),
  }),
});

const UpdateApiKeyInput = builder.inputType('UpdateApiKeyInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: true }),
    roleNames: t.stringList({ required: true }),
    teamIds: t.idList({ required: true }),
    teamRoleNames: t.stringList({ required: true }),
    expiresAt: t.field({
      type: 'DateTime',
      description: 'Absent: unchanged. null: never expires. A time: expires then (must be in the future).',
    }),
  }),
});

const RotateApiKeyInput = builder.inputType('RotateApiKeyInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    gracePeriodMinutes: t.int({ defaultValue: 30, description: 'How long the current token keeps working: 0 to 60.' }),
  }),
});

const DeleteApiKeyInput = builder.inputType('DeleteApiKeyInput', {
  fields: (t) => ({ id: t.id({ required: true }) }),
});

const CreateApiKeyPayload = builder
  .objectRef<{ apiKey: ApiKeyRecord; token: string }>('CreateApiKeyPayload')
  .implement({
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }),
      token: t.exposeString('token', { description: 'The new token. It is never shown again.' }),
    }),
  });

const UpdateApiKeyPayload = builder.objectRef<{ apiKey: ApiKeyRecord }>('UpdateApiKeyPayload').implement({
  fields: (t) => ({ apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }) }),
});

const RotateApiKeyPayload = builder
  .objectRef<{ apiKey: ApiKeyRecord; token: string; previousTokenExpiresAt: Date }>('RotateApiKeyPayload')
  .implement({
    fields: (t) => ({
      apiKey: t.field({ type: ApiKeyRef, resolve: (p) => p.apiKey }),
      token: t.exposeString('token', { description: 'The new token. It is never shown again.' }),
      previousTokenExpiresAt: t.expose('previousTokenExpiresAt', {
        type: 'DateTime',
        description: 'When the token that was current until now stops working.',
      }),
    }),
  });

const DeleteApiKeyPayload = builder.objectRef<{ deletedApiKeyId: string }>('DeleteApiKeyPayload').implement({
  fields: (t) => ({ deletedApiKeyId: t.exposeID('deletedApiKeyId') }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    description: 'Returns the new key and its token. The token is never shown again.',
    type: CreateApiKeyPayload,
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    authScopes: (_root, { input }) => ({ mayCreateApiKey: input }),
    resolve: (_root, { input }, { domain, caller }) => createApiKey(domain, { kind: 'key', caller }, input),
  }),
  updateApiKey: t.field({
    description: 'Replaces name and all grants (PUT semantics). A key cannot update itself.',
    type: UpdateApiKeyPayload,
    args: { input: t.arg({ type: UpdateApiKeyInput, required: true }) },
    authScopes: (_root, { input }) => ({ mayUpdateApiKey: input }),
    resolve: async (_root, { input }, { domain, caller }) => ({ apiKey: await updateApiKey(domain, caller, input) }),
  }),
  rotateApiKey: t.field({
    description: 'Issues a new token; the current one keeps working for gracePeriodMinutes.',
    type: RotateApiKeyPayload,
    args: { input: t.arg({ type: RotateApiKeyInput, required: true }) },
    authScopes: (_root, { input }) => ({ mayRotateApiKey: input }),
    resolve: (_root, { input }, { domain, caller }) => rotateApiKey(domain, caller, input),
  }),
  deleteApiKey: t.field({
    description: 'Deletes the key; all of its tokens stop working at once.',
    type: DeleteApiKeyPayload,
    args: { input: t.arg({ type: DeleteApiKeyInput, required: true }) },
    authScopes: (_root, { input }) => ({ mayDeleteApiKey: input.id }),
    resolve: async (_root, { input }, { domain, caller }) => ({
      deletedApiKeyId: await deleteApiKey(domain, caller, input.id),
    }),
  }),
}));
