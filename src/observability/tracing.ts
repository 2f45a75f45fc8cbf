// OpenTelemetry tracing, opt-in: OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns
// it on; main.ts imports this module only then, so a process without tracing loads none of it. Each
// GraphQL request gets a server span with graphql.parse, graphql.validate and graphql.execute children;
// Prisma's own instrumentation adds the database spans (prisma:client:operation, …:db_query) under
// execute. Spans go out in batches over OTLP/HTTP (JSON). Requests refused by the node:http layer
// before GraphQL (401, 429 on the fast path) have no span: they never reach this plugin.
import { type Context, context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { PrismaInstrumentation } from '@prisma/instrumentation';
import type { Plugin } from 'graphql-yoga';
import type { TracingConfig } from '../config.ts';
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
  return {
    plugin: tracingPlugin(provider.getTracer('keygate')),
    async close() {
      unregister();
      await provider.shutdown();
    },
  };
}

interface RequestTrace {
  span: Span;
  context: Context;
}

type Tracer = ReturnType<NodeTracerProvider['getTracer']>;

/** The request's server span and its parse, validate and execute children. */
export function tracingPlugin(tracer: Tracer): Plugin {
  const requests = new WeakMap<Request, RequestTrace>();
  const child = (request: Request | undefined, name: string): Span | undefined => {
    const parent = request && requests.get(request);
    return parent ? tracer.startSpan(name, { kind: SpanKind.INTERNAL }, parent.context) : undefined;
  };
  const endWith = (span: Span | undefined, failed: boolean) => {
    if (!span) return;
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  return {
    onRequest({ request, url, serverContext }) {
      const span = tracer.startSpan(`${request.method} ${url.pathname}`, {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'url.path': url.pathname },
      });
      // The id of the access log line (set by the node:http layer on its response, else the header).
      const res = (serverContext as { res?: { getHeader?(name: string): unknown } } | undefined)?.res;
      const requestId = res?.getHeader?.(REQUEST_ID_HEADER) ?? request.headers.get(REQUEST_ID_HEADER);
      if (typeof requestId === 'string') span.setAttribute('keygate.request_id', requestId);
      requests.set(request, { span, context: trace.setSpan(context.active(), span) });
    },
    onParse({ context: yogaContext }) {
      const span = child((yogaContext as { request?: Request }).request, 'graphql.parse');
      return ({ result }) => endWith(span, result instanceof Error);
    },
    onValidate({ context: yogaContext }) {
      const span = child((yogaContext as { request?: Request }).request, 'graphql.validate');
      return ({ valid }) => endWith(span, !valid);
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const request = (args.contextValue as { request?: Request }).request;
      const parent = request && requests.get(request);
      if (!parent) return;
      const operation = args.operationName ?? undefined;
      if (operation) parent.span.setAttribute('graphql.operation.name', operation);
      const span = tracer.startSpan('graphql.execute', { kind: SpanKind.INTERNAL }, parent.context);
      const executing = trace.setSpan(parent.context, span);
      // Whatever execution awaits (Prisma's queries) runs inside the execute span.
      setExecuteFn((executeArgs) => context.with(executing, () => executeFn(executeArgs)));
      return {
        onExecuteDone({ result }) {
          endWith(span, 'errors' in result && Boolean(result.errors?.length));
        },
      };
    },
    onResponse({ request, response }) {
      const traced = requests.get(request);
      if (!traced) return;
      traced.span.setAttribute('http.response.status_code', response.status);
      endWith(traced.span, response.status >= 500);
    },
  };
}
