// One load run through autocannon's programmatic API. Latencies are taken from every response (exact,
// fractional milliseconds) rather than autocannon's whole-millisecond histogram, and every response is
// checked: its status against the expected one, its body against the scenario's check.
import autocannon from 'autocannon';

export interface LoadRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Builds a request per call instead (e.g. a fresh token each time). */
  setup?: () => { headers: Record<string, string>; body: string };
}

export interface LoadSpec {
  url: string;
  request: LoadRequest;
  expectedStatus: number;
  /** True when a response body is what the scenario expects. */
  checkBody: (body: string) => boolean;
}

export interface RunResult {
  /** Completed responses per second over the run. */
  rps: number;
  p50: number;
  p99: number;
  responses: number;
  seconds: number;
  /** Responses by HTTP status. */
  statuses: Record<string, number>;
  /** Responses with another status or a body failing the check, plus connection errors and timeouts. */
  unexpected: number;
  errors: number;
  timeouts: number;
  /** Cores' worth of CPU that other processes of the machine used during the run (see cpu.ts). */
  otherCores?: number;
  /** Milliseconds of CPU the server (and its PostgreSQL backends) used per response. */
  serverCpuMs?: number;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] as number;
}

export async function runLoad(spec: LoadSpec, options: { seconds: number; connections: number }): Promise<RunResult> {
  const { request } = spec;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let badResponses = 0;
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: options.connections,
        duration: options.seconds,
        pipelining: 1,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: request.path,
            headers: request.headers,
            body: request.body,
            onResponse: (status: number, body: string) => {
              if (status !== spec.expectedStatus || !spec.checkBody(body)) badResponses++;
            },
            ...(request.setup
              ? {
                  setupRequest: (base: autocannon.Request) => ({ ...base, ...request.setup?.() }),
                }
              : {}),
          },
        ],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    rps: latencies.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    responses: latencies.length,
    seconds,
    statuses,
    unexpected: badResponses + result.errors,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** One request outside the load, to check a scenario answers as expected before measuring it. */
export async function probe(spec: LoadSpec): Promise<{ ok: boolean; status: number; bytes: number; body: string }> {
  const built = spec.request.setup?.() ?? { headers: spec.request.headers, body: spec.request.body };
  const response = await fetch(new URL(spec.request.path, spec.url), {
    method: 'POST',
    headers: built.headers,
    body: built.body,
  });
  const body = await response.text();
  const ok = response.status === spec.expectedStatus && spec.checkBody(body);
  return { ok, status: response.status, bytes: Buffer.byteLength(body), body };
}
