// Random requests for the fuzz test: GraphQL documents built from the served schema (real fields with
// right and wrong arguments, aliases, fragments, directives, deep nesting, unknown names), variables
// of right and wrong types, and malformed HTTP requests (bodies, methods, content types, paths).
// Generation runs inside fast-check's fc.gen(), so failures shrink and replay like any property.
import fc from 'fast-check';
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';

export interface FuzzRequest {
  /** What kind of request this is, for the statistics. */
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Values the fuzzer draws strings and ids from: some real, most not. */
export interface Pools {
  ids: string[];
  teamIds: string[];
  token: string;
}

const GARBAGE_STRINGS = [
  '',
  ' ',
  'a',
  '0',
  '-1',
  'null',
  'undefined',
  'true',
  '1e309',
  'NaN',
  '\u0000',
  '\u0000\u0001\u001f',
  '\\',
  '"',
  "'",
  '`',
  '\n\r\t',
  '🔑🗝️',
  '\u202e\u200b\ufeff',
  'é'.normalize('NFD'),
  '\'; DROP TABLE "ApiKey"; --',
  '" OR 1=1 --',
  '%s%s%n%x',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, meant literally
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '__proto__',
  'constructor',
  '{"a":1}',
  '01ARZ3NDEKTSV4RRFFQ69G5FAV',
  '01arz3ndektsv4rrffq69g5fav',
  '81ARZ3NDEKTSV4RRFFQ69G5FAV',
  'ZZZZZZZZZZZZZZZZZZZZZZZZZZ',
  'keygate_',
  'api_keys_manage',
  'viewer',
  'schedules_editor',
  'x'.repeat(201),
  'y'.repeat(5_000),
  'YXBpa2V5OjAxQVJaM05ERUtUU1Y0UlJGRlE2OUc1RkFW', // a cursor of a ULID that does not exist
  '2021-08-17T13:28:57.801Z',
];

const NUMBERS = [
  0,
  1,
  -1,
  2,
  25,
  30,
  60,
  61,
  250,
  251,
  -0,
  0.5,
  1.5,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 53,
  2 ** 53 + 2,
  1e21,
  -1e21,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
];

/** Number literals JSON.stringify cannot write. */
const RAW_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '0.0000000000000000000000001', '-0'];

const WRONG_VARIABLE_TYPES = [
  'Int',
  'Int!',
  'String',
  'String!',
  'ID',
  'ID!',
  '[ID!]!',
  '[String]',
  'Boolean',
  'Float',
  'DateTime',
  'CreateApiKeyInput',
  'NoSuchType',
  '[[Int]]',
];

const DIRECTIVES = ['@include(if: true)', '@skip(if: false)', '@skip(if: true)', '@deprecated', '@nope', '@include'];

type G = fc.GeneratorValue;

/** Builds one document against the schema, drawing every choice from fast-check. */
class DocumentBuilder {
  readonly variableDefinitions: string[] = [];
  readonly variables: Record<string, unknown> = {};
  readonly fragments: string[] = [];
  #variableCount = 0;
  #aliasCount = 0;

  /** Whether this document may hold mistakes beyond wrong values (unknown names, wrong types, …). */
  readonly sloppy: boolean;

  constructor(
    readonly g: G,
    readonly schema: GraphQLSchema,
    readonly pools: Pools,
  ) {
    this.sloppy = this.chance(50);
  }

  int(max: number): number {
    return this.g(fc.nat, { max });
  }

  chance(percent: number): boolean {
    return this.int(99) < percent;
  }

  /** A deliberate mistake, in sloppy documents only. */
  mistake(percent: number): boolean {
    return this.sloppy && this.chance(percent);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length - 1)] as T;
  }

  string(): string {
    const { ids, teamIds } = this.pools;
    const from = this.int(9);
    if (from < 3 && ids.length > 0) return this.pick(ids);
    if (from < 4 && teamIds.length > 0) return this.pick(teamIds);
    if (from < 5) return this.g(fc.string, { maxLength: 30, unit: 'binary' });
    return this.pick(GARBAGE_STRINGS);
  }

  number(): number {
    return this.chance(70) ? this.pick(NUMBERS) : this.g(fc.integer);
  }

  /** A JS value for an input type: usually of that type, sometimes of another. */
  value(type: GraphQLInputType, depth = 0, nullable = true): unknown {
    if (this.mistake(8)) return this.anyValue(depth);
    if (isNonNullType(type)) return this.mistake(5) ? null : this.value(type.ofType, depth, false);
    if (nullable && this.chance(5)) return null;
    if (isListType(type)) {
      if (this.chance(15)) return this.value(type.ofType, depth + 1); // a single value stands for a list
      return Array.from({ length: this.int(depth > 2 ? 1 : 4) }, () => this.value(type.ofType, depth + 1));
    }
    if (isInputObjectType(type)) {
      const object: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        if (!this.mistake(15)) object[field.name] = this.value(field.type, depth + 1);
      }
      if (this.mistake(10)) object[this.pick(['extra', 'id', '__proto__', 'name'])] = this.anyValue(depth + 1);
      return object;
    }
    if (isEnumType(type)) return this.pick(type.getValues()).name;
    if (isScalarType(type)) {
      switch (type.name) {
        case 'Int':
        case 'Float':
          return this.number();
        case 'Boolean':
          return this.chance(50);
        default:
          return this.string();
      }
    }
    return this.anyValue(depth);
  }

  anyValue(depth: number): unknown {
    if (depth > 3) return this.string();
    return this.g(fc.jsonValue, { maxDepth: 2 });
  }

  /** A GraphQL literal for a JS value. */
  literal(value: unknown): string {
    if (value === null || value === undefined) return 'null';
    if (typeof value === 'string') return JSON.stringify(value);
    if (typeof value === 'number') return Number.isFinite(value) ? String(value) : this.pick(RAW_NUMBERS);
    if (typeof value === 'boolean') return String(value);
    if (Array.isArray(value)) return `[${value.map((item) => this.literal(item)).join(', ')}]`;
    const entries = Object.entries(value as Record<string, unknown>).filter(([key]) => /^[_A-Za-z]\w*$/.test(key));
    return `{ ${entries.map(([key, item]) => `${key}: ${this.literal(item)}`).join(', ')} }`;
  }

  argument(argument: GraphQLArgument): string {
    if (this.chance(40)) {
      const name = `v${this.#variableCount++}`;
      const declared = this.mistake(20) ? this.pick(WRONG_VARIABLE_TYPES) : String(argument.type);
      if (!this.mistake(5)) this.variableDefinitions.push(`$${name}: ${declared}`);
      if (!this.mistake(10)) this.variables[name] = this.value(argument.type);
      return `${argument.name}: $${name}`;
    }
    return `${argument.name}: ${this.literal(this.value(argument.type))}`;
  }

  arguments(field: GraphQLField<unknown, unknown>): string {
    const parts = field.args
      .filter((argument) => !(isNonNullType(argument.type) ? this.mistake(10) : this.chance(30)))
      .map((argument) => this.argument(argument));
    if (this.mistake(5)) parts.push(`${this.pick(['nope', 'id', 'first', 'input'])}: ${this.literal(this.string())}`);
    return parts.length > 0 ? `(${parts.join(', ')})` : '';
  }

  field(field: GraphQLField<unknown, unknown>, depth: number): string {
    // Reused alias names on different fields conflict; only sloppy documents reuse them.
    const alias = !this.chance(10)
      ? ''
      : this.sloppy
        ? `${this.pick(['a', 'b', 'id', 'x_1', '__a'])}: `
        : `a${this.#aliasCount++}: `;
    const directive = this.chance(5) ? ` ${this.pick(this.sloppy ? DIRECTIVES : DIRECTIVES.slice(0, 3))}` : '';
    const named = getNamedType(field.type);
    let selection = '';
    if (isObjectType(named)) {
      if (!this.mistake(5)) selection = ` ${this.selection(named, depth + 1)}`;
    } else if (isLeafType(named) && this.mistake(3)) {
      selection = ' { id }';
    }
    return `${alias}${field.name}${this.arguments(field)}${directive}${selection}`;
  }

  /** `most`: at most that many fields (a mutation runs one root field: docs/api.md). */
  selection(type: GraphQLObjectType, depth: number, most = 5): string {
    const fields = Object.values(type.getFields());
    const chosen = depth > 5 ? fields.filter((field) => isLeafType(getNamedType(field.type))) : fields;
    const parts: string[] = [];
    const count = 1 + this.int(Math.min(most - 1, chosen.length));
    // The same field twice with other arguments conflicts; only sloppy documents repeat fields.
    const pool = chosen.length > 0 ? [...chosen] : [...fields];
    for (let i = 0; i < count && pool.length > 0; i++) {
      const index = this.int(pool.length - 1);
      const field = pool[index] as GraphQLField<unknown, unknown>;
      if (!this.sloppy) pool.splice(index, 1);
      parts.push(this.field(field, depth));
    }
    if (this.mistake(8)) parts.push(this.pick(['nope', 'id', 'token', '__schema { types { name } }']));
    if (this.chance(8)) parts.push('__typename');
    if (this.mistake(5)) {
      const other = this.pick(Object.values(this.schema.getTypeMap()).filter(isObjectType));
      parts.push(`... on ${other.name} { __typename }`);
    }
    if (this.chance(4)) {
      const name = `F${this.fragments.length}`;
      if (!this.mistake(20)) this.fragments.push(`fragment ${name} on ${type.name} { __typename }`);
      parts.push(`...${name}`);
    }
    return `{ ${parts.join(' ')} }`;
  }

  operation(): { query: string; variables: Record<string, unknown>; operationName?: string } {
    const mutation = this.schema.getMutationType();
    const root = mutation && this.chance(45) ? mutation : this.schema.getQueryType();
    if (!root) throw new Error('the schema has no query type');
    const keyword = root === mutation ? 'mutation' : this.mistake(10) ? 'subscription' : this.pick(['query', '']);
    const name = this.chance(30) ? ` Op${this.int(3)}` : '';
    // Documents that break the one-mutation-field rule are refused before they run: only a mistake's share.
    const selection = this.selection(root, 0, root === mutation && !this.mistake(15) ? 1 : 5);
    const head = keyword || this.variableDefinitions.length > 0 || name ? `${keyword || 'query'}${name}` : '';
    const definitions = this.variableDefinitions.length > 0 ? `(${this.variableDefinitions.join(', ')})` : '';
    const query = [`${head}${definitions} ${selection}`, ...this.fragments].join('\n');
    const operationName = this.mistake(10) ? this.pick(['Op0', 'Op1', 'Nope', '']) : undefined;
    return { query, variables: this.variables, ...(operationName !== undefined ? { operationName } : {}) };
  }
}

/** Documents and bodies that stress the parser and the limits. */
function extremeDocument(b: DocumentBuilder): string {
  const n = b.pick([10, 50, 200, 2_000, 20_000]);
  switch (b.int(7)) {
    case 0:
      return `${'{ a '.repeat(n)}${'}'.repeat(n)}`;
    case 1:
      return `{ ${Array.from({ length: n }, (_, i) => `a${i}: currentApiKey { id }`).join(' ')} }`;
    case 2:
      return `{ currentApiKey ${'@include(if: true) '.repeat(n)}{ id } }`;
    case 3:
      return `{ ${'apiKeys { edges { node { creator { apiKey { id } } } } } '.repeat(Math.min(n, 500))} }`;
    case 4:
      return `query(${Array.from({ length: Math.min(n, 2_000) }, (_, i) => `$v${i}: Int`).join(', ')}) { teams { id } }`;
    case 5:
      return `{ apiKey(id: ${'['.repeat(n)}"x"${']'.repeat(n)}) { id } }`;
    case 6:
      return `{ teams { id } } ${'fragment F on Team { id } '.repeat(Math.min(n, 2_000))}`;
    default:
      return b.g(fc.string, { maxLength: 200, unit: 'binary' });
  }
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/graphql-response+json',
  'application/graphql',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  'application/xml',
  '',
];

const ACCEPTS = [
  'application/json',
  'application/graphql-response+json',
  'application/graphql-response+json, application/json',
  'text/event-stream',
  'multipart/mixed',
  'text/html',
  '*/*',
  'image/png',
];

/** One random request: mostly a schema-shaped GraphQL POST, sometimes malformed in any way. */
export function fuzzRequest(g: G, schema: GraphQLSchema, pools: Pools): FuzzRequest {
  const b = new DocumentBuilder(g, schema, pools);
  const authorization = `Bearer ${pools.token}`;
  const json = { 'content-type': 'application/json', authorization };
  const mode = b.int(99);
  if (mode < 65) {
    const { query, variables, operationName } = b.operation();
    if (b.chance(10)) {
      // Variables written by hand: numbers JSON cannot express, or not an object at all.
      const raw = b.pick([
        ...RAW_NUMBERS.map((n) => `{"v0": ${n}}`),
        '"vars"',
        '[1,2]',
        '42',
        'null',
        '{"v0": {"v0": {}}}',
      ]);
      return {
        kind: 'document with raw variables',
        method: 'POST',
        path: '/graphql',
        headers: json,
        body: `{"query": ${JSON.stringify(query)}, "variables": ${raw}}`,
      };
    }
    if (b.chance(8)) {
      const params = new URLSearchParams({ query, variables: JSON.stringify(variables) });
      return { kind: 'document over GET', method: 'GET', path: `/graphql?${params}`, headers: { authorization } };
    }
    return {
      kind: 'document',
      method: 'POST',
      path: '/graphql',
      headers: b.chance(10) ? { ...json, accept: b.pick(ACCEPTS) } : json,
      body: JSON.stringify({ query, variables, operationName }),
    };
  }
  if (mode < 75) {
    return {
      kind: 'extreme document',
      method: 'POST',
      path: '/graphql',
      headers: json,
      body: JSON.stringify({ query: extremeDocument(b) }),
    };
  }
  if (mode < 88) {
    const bodies = [
      () => b.g(fc.string, { maxLength: 100, unit: 'binary' }),
      () => JSON.stringify(b.g(fc.jsonValue, { maxDepth: 3 })),
      () => JSON.stringify({ query: b.g(fc.jsonValue, { maxDepth: 2 }) }),
      () => JSON.stringify({ query: '{ teams { id } }', variables: b.g(fc.jsonValue, { maxDepth: 2 }) }),
      () => JSON.stringify({ query: '{ teams { id } }', extensions: b.g(fc.jsonValue, { maxDepth: 2 }) }),
      () => JSON.stringify({ query: '{ teams { id } }', operationName: b.g(fc.jsonValue, { maxDepth: 1 }) }),
      () => JSON.stringify([{ query: '{ teams { id } }' }, { query: '{ roles { name } }' }]),
      () => '{"query": "{ teams { id } }"',
      () => '',
      () => 'null',
      () => `{"query": "{ teams { id } }", "pad": "${'p'.repeat(b.pick([1_000, 200_000, 2_000_000]))}"}`,
    ];
    return {
      kind: 'malformed body',
      method: 'POST',
      path: '/graphql',
      headers: { 'content-type': b.pick(CONTENT_TYPES), authorization },
      body: b.pick(bodies)(),
    };
  }
  const method = b.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST']);
  const paths = [
    '/graphql',
    '/graphql/',
    '/GRAPHQL',
    '/graphql?query=',
    `/graphql?query=${encodeURIComponent('{ teams { id } }')}&variables=%7Bnope`,
    `/graphql?query=${encodeURIComponent('mutation { deleteApiKey(input: { id: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }) { deletedApiKeyId } }')}`,
    `/graphql?query=${encodeURIComponent(b.string())}`,
    '/healthz',
    '/readyz',
    '/',
    '/nope',
    '/graphql%00',
    '//graphql',
    '/graphql?extensions=%7B%22persistedQuery%22%3A%7B%7D%7D',
  ];
  const headers: Record<string, string> = { authorization, accept: b.pick(ACCEPTS) };
  if (b.chance(50)) headers['content-type'] = b.pick(CONTENT_TYPES);
  if (b.chance(20)) headers.authorization = b.pick(['Bearer', 'Bearer ', 'Basic abc', `bearer ${pools.token}`, 'x']);
  if (b.chance(10)) headers.origin = b.pick(['https://evil.example', 'null', 'http://127.0.0.1']);
  const withBody = method !== 'GET' && method !== 'HEAD';
  return {
    kind: `${method} request`,
    method,
    path: b.pick(paths),
    headers,
    ...(withBody && b.chance(60) ? { body: JSON.stringify({ query: '{ teams { id } }' }) } : {}),
  };
}

/** Requests sent on every run, whatever the random ones do: shapes known to have tripped servers. */
export function knownNastyRequests(pools: Pools): FuzzRequest[] {
  const authorization = `Bearer ${pools.token}`;
  const json = { 'content-type': 'application/json', authorization };
  const teams = encodeURIComponent('{ teams { id } }');
  const post = (kind: string, body: string, headers: Record<string, string> = json): FuzzRequest => ({
    kind,
    method: 'POST',
    path: '/graphql',
    headers,
    body,
  });
  const get = (kind: string, query: string): FuzzRequest => ({
    kind,
    method: 'GET',
    path: `/graphql?${query}`,
    headers: { authorization },
  });
  return [
    get('GET with variables that are not JSON', `query=${teams}&variables=%7Bnope`),
    get('GET with extensions that are not JSON', `query=${teams}&extensions=%7Bnope`),
    get('GET with variables that are not an object', `query=${teams}&variables=%5B1%5D`),
    get('GET without a query', 'variables=%7B%7D'),
    get(
      'GET with a mutation',
      `query=${encodeURIComponent('mutation { deleteApiKey(input: { id: "x" }) { deletedApiKeyId } }')}`,
    ),
    post('no query', '{}'),
    post('query that is not a string', '{"query": {"a": 1}}'),
    post('variables that are not an object', '{"query": "{ teams { id } }", "variables": [1, 2]}'),
    post(
      'a number JSON cannot hold',
      '{"query": "query($n: Int) { apiKeys(first: $n) { edges { cursor } } }", "variables": {"n": 1e400}}',
    ),
    post(
      'a variable of the wrong type',
      '{"query": "query($n: Int) { apiKeys(first: $n) { edges { cursor } } }", "variables": {"n": "x"}}',
    ),
    post('an operation name that is not a string', '{"query": "{ teams { id } }", "operationName": ["a"]}'),
    post('extensions that are not an object', '{"query": "{ teams { id } }", "extensions": "x"}'),
    post('a persisted query hash', '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}'),
    post('deep nesting', JSON.stringify({ query: `${'{ a '.repeat(20_000)}${'}'.repeat(20_000)}` })),
    post('deep list nesting', JSON.stringify({ query: `{ apiKey(id: ${'['.repeat(20_000)}) { id } }` })),
    post('a body over the size limit', JSON.stringify({ query: '{ teams { id } }', pad: 'p'.repeat(3_000_000) })),
    post('a GraphQL body', '{ teams { id } }', { 'content-type': 'application/graphql', authorization }),
    post('a text body', '{ teams { id } }', { 'content-type': 'text/plain', authorization }),
    post('a batch', JSON.stringify([{ query: '{ teams { id } }' }])),
    post('a subscription', JSON.stringify({ query: 'subscription { teams { id } }' }), {
      ...json,
      accept: 'text/event-stream',
    }),
    post('an event stream', JSON.stringify({ query: '{ teams { id } }' }), { ...json, accept: 'text/event-stream' }),
    post(
      'a NUL in a name',
      JSON.stringify({
        query: 'mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { apiKey { id } } }',
        variables: { i: { name: 'nul\u0000name' } },
      }),
    ),
    post(
      'a lone surrogate in a name',
      '{"query": "mutation { createApiKey(input: { name: \\"\\ud800\\" }) { apiKey { id } } }"}',
    ),
  ];
}
