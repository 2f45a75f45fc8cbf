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

/** A run with the latency of each of its responses (ms, sorted), to be measured as one with others (mergeRuns). */
export type SlicedRun = RunResult & { latencies: Float64Array };

/**
 * Runs measured as one (the slices of a measurement taken beside another server, bench/run.ts): req/s
 * over their summed time, percentiles over every response of all of them, CPU over all their responses.
 */
export function mergeRuns(runs: Array<SlicedRun & { serverMs: number }>): RunResult {
  const latencies = new Float64Array(runs.reduce((sum, run) => sum + run.latencies.length, 0));
  let at = 0;
  for (const run of runs) {
    latencies.set(run.latencies, at);
    at += run.latencies.length;
  }
  latencies.sort();
  const statuses: Record<string, number> = {};
  for (const run of runs) {
    for (const [status, count] of Object.entries(run.statuses)) statuses[status] = (statuses[status] ?? 0) + count;
  }
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const responses = runs.reduce((sum, run) => sum + run.responses, 0);
  const serverMs = runs.reduce((sum, run) => sum + run.serverMs, 0);
  const sum = (of: (run: RunResult) => number) => runs.reduce((total, run) => total + of(run), 0);
  return {
    rps: seconds > 0 ? responses / seconds : 0,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    responses,
    seconds,
    statuses,
    unexpected: sum((run) => run.unexpected),
    errors: sum((run) => run.errors),
    timeouts: sum((run) => run.timeouts),
    otherCores: seconds > 0 ? sum((run) => (run.otherCores ?? 0) * run.seconds) / seconds : 0,
    serverCpuMs: responses > 0 ? serverMs / responses : Number.NaN,
  };
}

export async function runLoad(spec: LoadSpec, options: { seconds: number; connections: number }): Promise<SlicedRun> {
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
    latencies: sorted,
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
