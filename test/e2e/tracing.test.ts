import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providers } from '../helpers/databases.ts';
import { type ServerProcess, startServerOnFreshDatabase } from '../helpers/server-process.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: { stringValue?: string; intValue?: number | string } }>;
}

interface Receiver {
  url: string;
  spans: OtlpSpan[];
  contentTypes: Set<string>;
  close(): Promise<void>;
}

/** A minimal OTLP/HTTP collector: POST /v1/traces with a JSON body. */
async function startReceiver(): Promise<Receiver> {
  const spans: OtlpSpan[] = [];
  const contentTypes = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

describe.each(providers)('tracing of a real server on %s', (provider) => {
  let receiver: Receiver;
  let server: ServerProcess;
  let admin: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    receiver = await startReceiver();
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      KEYGATE_RATE_LIMIT_PER_KEY: '0',
      KEYGATE_FAILED_AUTH_LIMIT: '0',
    };
    ({ server, cleanup } = await startServerOnFreshDatabase(provider, env));
    admin = server.bootstrapToken() as string;
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await cleanup?.();
  }, 60_000);

  async function traceOf(requestId: string): Promise<OtlpSpan[]> {
    for (let i = 0; i < 400; i++) {
      const root = receiver.spans.find((span) => attribute(span, 'keygate.request_id') === requestId);
      if (root) {
        const inTrace = receiver.spans.filter((span) => span.traceId === root.traceId);
        // Children end before their parent: with the root here, the whole trace has been sent.
        if (inTrace.some((span) => span.name === 'graphql.execute')) return inTrace;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no trace for request ${requestId}; spans: ${receiver.spans.map((s) => s.name).join(', ')}`);
  }

  it('sends one server span per request with parse, validate, execute and database children', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, 'x-request-id': 'traced-1' },
      body: JSON.stringify({ query: 'query Page { apiKeys(first: 3) { edges { node { id name } } } }' }),
    });
    expect(response.status).toBe(200);
    const spans = await traceOf('traced-1');
    const roots = spans.filter((span) => !span.parentSpanId);
    expect(roots).toHaveLength(1);
    const root = roots[0] as OtlpSpan;
    expect(root.name).toBe('POST /graphql');
    expect(root.kind).toBe(2); // SPAN_KIND_SERVER
    expect(attribute(root, 'http.response.status_code')).toBe(200);
    expect(attribute(root, 'graphql.operation.name')).toBe('Page');
    const byName = (name: string) => spans.filter((span) => span.name === name);
    for (const name of ['graphql.parse', 'graphql.validate', 'graphql.execute']) {
      expect(byName(name), name).toHaveLength(1);
      expect(byName(name)[0]?.parentSpanId, name).toBe(root.spanId);
    }
    const execute = byName('graphql.execute')[0] as OtlpSpan;
    // Database spans (Prisma's, and db.query for statements run outside Prisma), each under execute.
    const database = spans.filter((span) => span.name.startsWith('prisma:') || span.name === 'db.query');
    expect(database.length, spans.map((s) => s.name).join(', ')).toBeGreaterThan(0);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    for (const span of database) {
      let ancestor = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
      while (ancestor && ancestor !== execute)
        ancestor = ancestor.parentSpanId ? byId.get(ancestor.parentSpanId) : undefined;
      expect(ancestor, span.name).toBe(execute);
    }
    expect([...receiver.contentTypes].every((type) => type.startsWith('application/json'))).toBe(true);
  });

  it('marks a request that failed validation: its validate span carries an error status', async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, 'x-request-id': 'traced-2' },
      body: JSON.stringify({ query: '{ currentApiKey { nope } }' }),
    });
    await response.arrayBuffer();
    for (let i = 0; i < 400; i++) {
      if (receiver.spans.some((span) => attribute(span, 'keygate.request_id') === 'traced-2')) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const root = receiver.spans.find((span) => attribute(span, 'keygate.request_id') === 'traced-2') as OtlpSpan;
    expect(root).toBeDefined();
    const validate = receiver.spans.find((span) => span.traceId === root.traceId && span.name === 'graphql.validate');
    expect((validate as unknown as { status?: { code?: number } })?.status?.code).toBe(2); // STATUS_CODE_ERROR
    expect(receiver.spans.some((span) => span.traceId === root.traceId && span.name === 'graphql.execute')).toBe(false);
  });
});
