// The mixed workload (issue 17): what a production Keygate serves. 20 connections, each sending one
// request after the other, every request drawn at random from a mix in which about 5% are changes
// (create, rotate, update), so kept pages and keys are invalidated all the time, and the rest are reads
// (pages of keys, one key, currentApiKey). Every response is checked; latencies are taken per operation.
import { Agent, request } from 'node:http';
import { mergeRuns, type RunResult } from './load.ts';

export interface MixedOperation {
  name: string;
  /** Share of requests (the shares of a mix add up to 1). */
  share: number;
  writes: boolean;
  /** The body of the next request of this operation. */
  body: () => string;
  /** The name of the field the answer's data must hold. */
  field: string;
}

export interface OperationResult {
  rps: number;
  p50: number;
  p99: number;
  responses: number;
  unexpected: number;
}

export interface MixedRunResult extends RunResult {
  operations: Record<string, OperationResult>;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] as number;
}

/** A run of the mix with each operation's latencies (ms, sorted), to be measured as one with others (mergeMixed). */
export type SlicedMixedRun = MixedRunResult & { latencies: Record<string, Float64Array> };

/** The figures of an operation from its latencies (sorted) over `seconds`. */
function operationResult(sorted: Float64Array, seconds: number, unexpected: number): OperationResult {
  return {
    rps: sorted.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    responses: sorted.length,
    unexpected,
  };
}

function sortedConcat(arrays: Float64Array[]): Float64Array {
  const all = new Float64Array(arrays.reduce((sum, array) => sum + array.length, 0));
  let at = 0;
  for (const array of arrays) {
    all.set(array, at);
    at += array.length;
  }
  return all.sort();
}

/**
 * Runs of the mix measured as one (the slices of a measurement taken beside a baseline, bench/run.ts):
 * the totals as mergeRuns takes them, and each operation's req/s over the runs' summed time and
 * percentiles over all its responses.
 */
export function mergeMixed(runs: Array<SlicedMixedRun & { serverMs: number }>): MixedRunResult {
  const totals = mergeRuns(runs.map((run) => ({ ...run, latencies: sortedConcat(Object.values(run.latencies)) })));
  const operations: Record<string, OperationResult> = {};
  for (const name of Object.keys(runs[0]?.operations ?? {})) {
    operations[name] = operationResult(
      sortedConcat(runs.map((run) => run.latencies[name] ?? new Float64Array())),
      totals.seconds,
      runs.reduce((sum, run) => sum + (run.operations[name]?.unexpected ?? 0), 0),
    );
  }
  return { ...totals, operations };
}

/** Sends the mix on `connections` keep-alive connections for `seconds`. */
export async function runMixed(
  url: string,
  token: string,
  operations: MixedOperation[],
  options: { seconds: number; connections: number },
): Promise<SlicedMixedRun> {
  const target = new URL('/graphql', url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies = new Map<string, number[]>(operations.map((operation) => [operation.name, []]));
  const unexpected = new Map<string, number>(operations.map((operation) => [operation.name, 0]));
  const statuses: Record<string, number> = {};
  let errors = 0;
  const pick = () => {
    let r = Math.random();
    for (const operation of operations) {
      r -= operation.share;
      if (r < 0) return operation;
    }
    return operations.at(-1) as MixedOperation;
  };
  const send = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            authorization: `Bearer ${token}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const operation = pick();
      const sent = performance.now();
      try {
        const { status, text } = await send(operation.body());
        (latencies.get(operation.name) as number[]).push(performance.now() - sent);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status !== 200 || text.includes('"errors"') || !text.includes(`"${operation.field}"`)) {
          unexpected.set(operation.name, (unexpected.get(operation.name) ?? 0) + 1);
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const results: Record<string, OperationResult> = {};
  const sortedByOperation: Record<string, Float64Array> = {};
  for (const operation of operations) {
    const sorted = Float64Array.from(latencies.get(operation.name) as number[]).sort();
    sortedByOperation[operation.name] = sorted;
    results[operation.name] = operationResult(sorted, seconds, unexpected.get(operation.name) ?? 0);
  }
  const sorted = sortedConcat(Object.values(sortedByOperation));
  return {
    latencies: sortedByOperation,
    rps: sorted.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    responses: sorted.length,
    seconds,
    statuses,
    unexpected: errors + [...unexpected.values()].reduce((sum, n) => sum + n, 0),
    errors,
    timeouts: 0,
    operations: results,
  };
}
