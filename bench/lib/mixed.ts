// The mixed workload (issue 17): what a production Keygate serves. 20 connections, each sending one
// request after the other, every request drawn at random from a mix in which about 5% are changes
// (create, rotate, update), so kept pages and keys are invalidated all the time, and the rest are reads
// (pages of keys, one key, currentApiKey). Every response is checked; latencies are taken per operation.
import { Agent, request } from 'node:http';
import type { RunResult } from './load.ts';

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

/** Sends the mix on `connections` keep-alive connections for `seconds`. */
export async function runMixed(
  url: string,
  token: string,
  operations: MixedOperation[],
  options: { seconds: number; connections: number },
): Promise<MixedRunResult> {
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
  const all: number[] = [];
  const results: Record<string, OperationResult> = {};
  for (const operation of operations) {
    const values = latencies.get(operation.name) as number[];
    all.push(...values);
    const sorted = Float64Array.from(values).sort();
    results[operation.name] = {
      rps: values.length / seconds,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      responses: values.length,
      unexpected: unexpected.get(operation.name) ?? 0,
    };
  }
  const sorted = Float64Array.from(all).sort();
  return {
    rps: all.length / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    responses: all.length,
    seconds,
    statuses,
    unexpected: errors + [...unexpected.values()].reduce((sum, n) => sum + n, 0),
    errors,
    timeouts: 0,
    operations: results,
  };
}
