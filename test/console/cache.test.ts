// The console's normalized cache (web/console/client.ts): snapshots "as it was then" are never merged
// into one record per id, and after a change the lists on screen are fetched again.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleClient } from '../../web/console/client.ts';
import { AuditQuery, CreateKeyMutation, DeleteKeyMutation, KeysQuery } from '../../web/console/graphql.ts';

const key = (id: string, name: string) => ({
  __typename: 'ApiKey',
  id,
  name,
  roles: [],
  teamIds: [],
  teams: [],
  teamRoles: [],
  creator: {
    __typename: 'Creator',
    apiKey: { __typename: 'CreatorApiKey', id: 'k0', name: `creator-of-${name}` },
    user: null,
  },
  createdAt: '2026-01-01T00:00:00.000Z',
  lastUsedAt: null,
  tokenLastIssuedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: null,
});
const page = (typename: string, nodes: unknown[]) => ({
  __typename: typename,
  edges: nodes.map((node) => ({ __typename: `${typename.replace('Connection', '')}Edge`, node })),
  pageInfo: { __typename: 'PageInfo', hasNextPage: false, endCursor: null },
});

/** A stub server: answers each operation by name from `answers`, counting the requests. */
function stubServer(answers: Record<string, () => unknown>) {
  const asked: string[] = [];
  vi.stubGlobal('fetch', async (_url: string, init: RequestInit) => {
    const { operationName } = JSON.parse(String(init.body)) as { operationName: string };
    asked.push(operationName);
    const answer = answers[operationName];
    if (!answer) throw new Error(`unexpected ${operationName}`);
    return Response.json({ data: answer() });
  });
  return asked;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("the console's cache", () => {
  afterEach(() => vi.unstubAllGlobals());

  it('keeps each audit event’s target and actor as they were then, though they share an id', async () => {
    const event = (id: string, name: string) => ({
      __typename: 'AuditEvent',
      id,
      action: 'api_key.updated',
      createdAt: '2026-01-01T00:00:00.000Z',
      actor: {
        __typename: 'AuditActor',
        apiKey: { __typename: 'AuditActorApiKey', id: 'k0', name: `actor-${name}` },
        user: null,
      },
      target: { __typename: 'AuditTarget', id: 'k1', name },
      grantsBefore: null,
      grantsAfter: null,
    });
    stubServer({
      Audit: () => ({ auditEvents: page('AuditEventConnection', [event('e2', 'renamed'), event('e1', 'original')]) }),
    });
    const result = await consoleClient('t').query(AuditQuery, { first: 25, after: null }).toPromise();
    const nodes = result.data?.auditEvents.edges.map((edge) => edge.node);
    expect(nodes?.map((node) => [node.target.name, node.actor.apiKey?.name])).toEqual([
      ['renamed', 'actor-renamed'],
      ['original', 'actor-original'],
    ]);
  });

  it('fetches the keys on screen again after a key is created or deleted', async () => {
    let keys = [key('k1', 'one')];
    const asked = stubServer({
      Keys: () => ({ apiKeys: page('ApiKeyConnection', keys) }),
      CreateKey: () => {
        keys = [key('k2', 'two'), ...keys];
        return { createApiKey: { __typename: 'CreateApiKeyPayload', token: 'keygate_x', apiKey: keys[0] } };
      },
      DeleteKey: () => {
        keys = keys.filter((k) => k.id !== 'k1');
        return { deleteApiKey: { __typename: 'DeleteApiKeyPayload', deletedApiKeyId: 'k1' } };
      },
    });
    const client = consoleClient('t');
    const seen: string[][] = [];
    const { unsubscribe } = client.query(KeysQuery, { first: 20, after: null, filter: {} }).subscribe((result) => {
      if (result.data && !result.stale) seen.push(result.data.apiKeys.edges.map((edge) => edge.node.name));
    });
    await settle();
    expect(seen.at(-1)).toEqual(['one']);
    await client.mutation(CreateKeyMutation, { input: { name: 'two' } }).toPromise();
    await settle();
    expect(seen.at(-1)).toEqual(['two', 'one']);
    await client.mutation(DeleteKeyMutation, { input: { id: 'k1' } }).toPromise();
    await settle();
    expect(seen.at(-1)).toEqual(['two']);
    expect(asked).toEqual(['Keys', 'CreateKey', 'Keys', 'DeleteKey', 'Keys']);
    unsubscribe();
  });
});
