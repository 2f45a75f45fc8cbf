// The README's walkthrough works as printed: every GraphQL block runs, in order, against a freshly
// bootstrapped Keygate with the admin token it prints, with "01J..." standing for the key created.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapIfEmpty } from '../src/domain/bootstrap.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const walkthrough = readme.slice(readme.indexOf('## GraphiQL walkthrough'), readme.indexOf('## Who may do what'));
const blocks = [...walkthrough.matchAll(/```graphql\n([\s\S]*?)```/g)].map((match) => match[1] as string);

describe('README GraphiQL walkthrough', () => {
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    const created = await bootstrapIfEmpty(t.domain);
    token = created?.token as string;
  });
  afterAll(() => t.close());

  it('has an example for each of the six operations', () => {
    const all = blocks.join('\n');
    for (const operation of ['createApiKey', 'apiKey(', 'apiKeys(', 'updateApiKey', 'rotateApiKey', 'deleteApiKey']) {
      expect(all).toContain(operation);
    }
  });

  it('every example runs without errors, in order', async () => {
    let createdId: string | null = null;
    for (const block of blocks) {
      const query: string = createdId ? block.replaceAll('01J...', createdId) : block;
      const response = await t.gql<Record<string, { apiKey?: { id: string } }>>(token, query);
      expect(response.errors, query).toBeUndefined();
      createdId ??= response.data?.createApiKey?.apiKey?.id ?? null;
    }
    expect(createdId).not.toBeNull();
  });

  it("the printed curl request's query runs", async () => {
    const curl = /-d '(\{"query":"\{ roles[^']*)'/.exec(readme)?.[1] as string;
    const { query } = JSON.parse(curl) as { query: string };
    expect((await t.gql(token, query)).errors).toBeUndefined();
  });
});
