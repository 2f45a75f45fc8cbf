// `--tracing=on`: a local OTLP/HTTP endpoint that accepts every span batch and counts the spans, so the
// benchmark measures Keygate with tracing on (spans made, batched, encoded and sent) without a collector.
import { createServer } from 'node:http';

export interface OtlpSink {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  /** Span batches received so far. */
  batches(): number;
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let batches = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') batches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    batches: () => batches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
