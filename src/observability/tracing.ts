// OpenTelemetry tracing, opt-in: OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns
// it on; main.ts imports this module only then, so a process without tracing loads none of it. Each
// GraphQL request gets a server span with graphql.parse, graphql.validate and graphql.execute children;
// Prisma's own instrumentation adds the database spans (prisma:client:operation, …:db_query) under
// execute, and statements run outside Prisma (src/db/raw-read.ts) get a db.query span each. Spans go out in batches over OTLP/HTTP (JSON). Requests refused by the node:http layer
// before GraphQL (401, 429 on the fast path) have no span: they never reach this plugin.
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { PrismaInstrumentation } from '@prisma/instrumentation';
import type { Plugin } from 'graphql-yoga';
import type { TracingConfig } from '../config.ts';
import { traceQueries } from '../db/query-spans.ts';
import { operationNameOf } from './access-log.ts';
import { REQUEST_ID_HEADER } from './request-id.ts';

export interface Tracing {
  plugin: Plugin;
  /** Sends the spans still buffered and stops. */
  close(): Promise<void>;
}

export async function startTracing(config: TracingConfig): Promise<Tracing> {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  // Global provider and the AsyncLocalStorage context manager: Prisma's spans find their parent.
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [new PrismaInstrumentation()],
  });
  const tracer = provider.getTracer('keygate');
  traceQueries((sql, run) =>
    inSpan(tracer, 'db.query', () => {
      trace.getActiveSpan()?.setAttribute('db.query.text', sql);
      return run();
    }),
  );
  return {
    plugin: tracingPlugin(tracer),
    async close() {
      traceQueries(null);
      unregister();
      await provider.shutdown();
    },
  };
}

type Tracer = ReturnType<NodeTracerProvider['getTracer']>;

/** Runs `wrapped` inside `span` (made the active one), ending it when `wrapped` is done. */
function within<T>(span: Span, wrapped: () => T): T {
  const done = () => span.end();
  try {
    const result = context.with(trace.setSpan(context.active(), span), wrapped);
    if (result instanceof Promise) return result.finally(done) as T;
    done();
    return result;
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    done();
    throw error;
  }
}

/** Runs `wrapped` inside a new child span of the active one. */
const inSpan = <T>(tracer: Tracer, name: string, wrapped: () => T): T =>
  within(tracer.startSpan(name, { kind: SpanKind.INTERNAL }), wrapped);

const failed = () => trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR });

/**
 * The request's server span and its parse, validate and execute children, through Yoga's
 * instrumentation hooks: each phase runs inside its span, so whatever it awaits (Prisma's queries)
 * finds its parent through the active context.
 */
export function tracingPlugin(tracer: Tracer): Plugin {
  const requests = new WeakMap<Request, Span>();
  return {
    instrumentation: {
      request({ request }, wrapped) {
        const url = new URL(request.url);
        const span = tracer.startSpan(`${request.method} ${url.pathname}`, {
          kind: SpanKind.SERVER,
          attributes: { 'http.request.method': request.method, 'url.path': url.pathname },
        });
        requests.set(request, span);
        return within(span, wrapped);
      },
      parse: (_, wrapped) => inSpan(tracer, 'graphql.parse', wrapped),
      validate: (_, wrapped) => inSpan(tracer, 'graphql.validate', wrapped),
      execute: (_, wrapped) => inSpan(tracer, 'graphql.execute', wrapped),
    },
    onRequest({ request, serverContext }) {
      // The id of the access log line (set by the node:http layer on its response, else the header).
      const res = (serverContext as { res?: { getHeader?(name: string): unknown } } | undefined)?.res;
      const requestId = res?.getHeader?.(REQUEST_ID_HEADER) ?? request.headers.get(REQUEST_ID_HEADER);
      if (typeof requestId === 'string') requests.get(request)?.setAttribute('keygate.request_id', requestId);
    },
    onParse:
      () =>
      ({ result }) => {
        if (result instanceof Error) failed();
      },
    onValidate:
      () =>
      ({ valid }) => {
        if (!valid) failed();
      },
    onExecute({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      const span = request && requests.get(request);
      span?.setAttribute('graphql.operation.name', operationNameOf(args));
      return {
        onExecuteDone({ result }) {
          if ('errors' in result && result.errors?.length) failed();
        },
      };
    },
    onResponse({ request, response }) {
      const span = requests.get(request);
      if (!span) return;
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
}
