// schema.graphql is the file snapshot of the schema: it is printed from the code, so any schema change
// is a visible diff (docs/architecture.md). And the schema keeps every name of docs/api.md's GraphQL block, with the same
// types, nullability, arguments and defaults: clients are written against them (docs/api.md: "do not rename
// or remove these"; additions are allowed).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type DocumentNode, Kind, parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSchemaSdl } from '../src/schema/index.ts';
import { runCli } from './helpers/cli-process.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCHEMA_FILE = `${ROOT}schema.graphql`;

/** docs/api.md's GraphQL block, type by type: every field (or input field) signature as SDL writes it. */
const API_MD: Record<string, { kind: 'type' | 'input'; fields: string[] }> = {
  Query: {
    kind: 'type',
    fields: [
      'currentApiKey: ApiKey!',
      'apiKey(id: ID!): ApiKey!',
      'apiKeys(first: Int = 25, after: String, filter: ApiKeyFilter): ApiKeyConnection!',
      'roles: [Role!]!',
      'teams: [Team!]!',
    ],
  },
  Mutation: {
    kind: 'type',
    fields: [
      'createApiKey(input: CreateApiKeyInput!): CreateApiKeyPayload!',
      'updateApiKey(input: UpdateApiKeyInput!): UpdateApiKeyPayload!',
      'rotateApiKey(input: RotateApiKeyInput!): RotateApiKeyPayload!',
      'deleteApiKey(input: DeleteApiKeyInput!): DeleteApiKeyPayload!',
    ],
  },
  ApiKey: {
    kind: 'type',
    fields: [
      'id: ID!',
      'name: String!',
      'createdAt: DateTime!',
      'creator: Creator!',
      'roles: [Role!]!',
      'teamIds: [ID!]!',
      'teams: [Team!]!',
      'teamRoles: [Role!]!',
      'tokenLastIssuedAt: DateTime!',
      'lastUsedAt: DateTime',
    ],
  },
  Creator: { kind: 'type', fields: ['apiKey: CreatorApiKey', 'user: User'] },
  CreatorApiKey: { kind: 'type', fields: ['id: ID!', 'name: String!'] },
  User: {
    kind: 'type',
    fields: ['id: ID!', 'email: String!', 'name: String!', 'role: String!', 'slackUserId: String'],
  },
  Role: {
    kind: 'type',
    fields: ['name: String!', 'description: String!', 'scopes: [String!]!', 'teamAssignable: Boolean!'],
  },
  ApiKeyFilter: { kind: 'input', fields: ['nameContains: String', 'teamId: ID', 'expiringBefore: DateTime'] },
  Team: { kind: 'type', fields: ['id: ID!', 'name: String!'] },
  ApiKeyConnection: { kind: 'type', fields: ['edges: [ApiKeyEdge!]!', 'pageInfo: PageInfo!'] },
  ApiKeyEdge: { kind: 'type', fields: ['cursor: String!', 'node: ApiKey!'] },
  PageInfo: {
    kind: 'type',
    fields: ['hasNextPage: Boolean!', 'hasPreviousPage: Boolean!', 'startCursor: String', 'endCursor: String'],
  },
  CreateApiKeyInput: {
    kind: 'input',
    fields: ['name: String!', 'roleNames: [String!] = []', 'teamIds: [ID!] = []', 'teamRoleNames: [String!] = []'],
  },
  CreateApiKeyPayload: { kind: 'type', fields: ['apiKey: ApiKey!', 'token: String!'] },
  UpdateApiKeyInput: {
    kind: 'input',
    fields: ['id: ID!', 'name: String!', 'roleNames: [String!]!', 'teamIds: [ID!]!', 'teamRoleNames: [String!]!'],
  },
  UpdateApiKeyPayload: { kind: 'type', fields: ['apiKey: ApiKey!'] },
  RotateApiKeyInput: { kind: 'input', fields: ['id: ID!', 'gracePeriodMinutes: Int = 30'] },
  RotateApiKeyPayload: {
    kind: 'type',
    fields: ['apiKey: ApiKey!', 'token: String!', 'previousTokenExpiresAt: DateTime!'],
  },
  DeleteApiKeyInput: { kind: 'input', fields: ['id: ID!'] },
  DeleteApiKeyPayload: { kind: 'type', fields: ['deletedApiKeyId: ID!'] },
};

const API_MD_SCALARS = ['DateTime'];

interface FieldLike {
  name: { value: string };
  type: Parameters<typeof print>[0];
  defaultValue?: Parameters<typeof print>[0];
  arguments?: readonly FieldLike[];
}

/** `name(a: T = d, b: U): Type`, arguments in name order so that order does not matter. */
function signature(field: FieldLike): string {
  const value = (f: FieldLike) =>
    `${f.name.value}: ${print(f.type)}${f.defaultValue ? ` = ${print(f.defaultValue)}` : ''}`;
  const args = [...(field.arguments ?? [])].sort((a, b) => a.name.value.localeCompare(b.name.value)).map(value);
  return args.length > 0 ? `${field.name.value}(${args.join(', ')}): ${print(field.type)}` : value(field);
}

/** Type name → kind and field signatures, read from SDL text (AST only, nothing executable). */
function typesOf(document: DocumentNode) {
  const types = new Map<string, { kind: 'type' | 'input' | 'scalar' | 'other'; fields: Map<string, string> }>();
  for (const definition of document.definitions) {
    if (!('name' in definition) || !definition.name) continue;
    const kind =
      definition.kind === Kind.OBJECT_TYPE_DEFINITION
        ? 'type'
        : definition.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION
          ? 'input'
          : definition.kind === Kind.SCALAR_TYPE_DEFINITION
            ? 'scalar'
            : 'other';
    const fields = new Map<string, string>();
    if ('fields' in definition) {
      for (const field of (definition.fields ?? []) as readonly FieldLike[])
        fields.set(field.name.value, signature(field));
    }
    types.set(definition.name.value, { kind, fields });
  }
  return types;
}

/** Normalizes a hand-written signature the same way as the schema's. */
function normalized(kind: 'type' | 'input', field: string): string {
  const [parsed] =
    typesOf(parse(`${kind} T { ${field} }`))
      .get('T')
      ?.fields.values() ?? [];
  return parsed as string;
}

/** The arguments of a field signature, e.g. ['after: String', 'first: Int = 25']. */
const argumentsOf = (sig: string) => (/^\w+\((.*)\):/.exec(sig)?.[1] ?? '').split(', ').filter(Boolean);

describe('schema.graphql is the printed schema', () => {
  const printed = printSchemaSdl();

  it('schema.graphql equals the schema printed from the code (run `npm run schema:print` after a change)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(printed);
  });

  it('`keygate print-schema` prints the same SDL', async () => {
    const result = await runCli({}, ['print-schema']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(printed);
  }, 30_000);
});

describe("the schema keeps every name of docs/api.md's GraphQL block", () => {
  const actual = typesOf(parse(printSchemaSdl()));

  it.each(API_MD_SCALARS)('scalar %s exists', (name) => {
    expect(actual.get(name)?.kind).toBe('scalar');
  });

  it('DateTime is described as RFC 3339 in UTC', () => {
    expect(printSchemaSdl()).toContain(
      '"""A point in time, RFC 3339 in UTC, e.g. "2021-08-17T13:28:57.801Z"."""\nscalar DateTime',
    );
  });

  it.each(Object.entries(API_MD))(
    '%s has the fields of docs/api.md, same types, nullability and defaults',
    (name, spec) => {
      const type = actual.get(name);
      expect(type?.kind, `${name} should be an ${spec.kind}`).toBe(spec.kind);
      const expected = spec.fields.map((field) => normalized(spec.kind, field));
      const present = expected.map((field) => type?.fields.get(field.split(/[(:]/, 1)[0] as string));
      expect(present).toEqual(expected);
    },
  );

  it('input types have no required field beyond those of docs/api.md (clients written against it keep working)', () => {
    for (const [name, spec] of Object.entries(API_MD)) {
      if (spec.kind !== 'input') continue;
      const known = new Set(spec.fields.map((field) => field.split(':', 1)[0]));
      const extraRequired = [...(actual.get(name)?.fields ?? new Map<string, string>())]
        .filter(([field, sig]) => !known.has(field) && /!$/.test(sig))
        .map(([field]) => field);
      expect(extraRequired, name).toEqual([]);
    }
  });

  it('arguments added to docs/api.md fields are optional', () => {
    for (const [name, spec] of Object.entries(API_MD)) {
      if (spec.kind !== 'type') continue;
      for (const field of spec.fields) {
        const fieldName = field.split(/[(:]/, 1)[0] as string;
        const expectedArgs = new Set(argumentsOf(field).map((arg) => arg.split(':', 1)[0]));
        const sig = actual.get(name)?.fields.get(fieldName) ?? '';
        const extraRequired = argumentsOf(sig)
          .filter((arg) => !expectedArgs.has(arg.split(':', 1)[0]) && /!$/.test(arg))
          .map((arg) => `${name}.${fieldName}(${arg})`);
        expect(extraRequired).toEqual([]);
      }
    }
  });
});
