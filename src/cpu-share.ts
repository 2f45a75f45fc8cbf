// How many cores the server may run on, and what V8's garbage collector should do about it.
//
// V8 marks the old generation on a thread of its own while JavaScript runs (concurrent marking). With
// a second core that thread runs beside the server. With one (a container limited to one CPU, a process
// pinned to a core, a one-vCPU machine) it runs instead of the server: the kernel gives it slices of
// several milliseconds, during which every request in flight waits. Marked on the main thread instead
// (incremental marking, in steps of about a millisecond between tasks), the same work delays requests
// far less. Measured on one pinned core of this project's 2-core machines, 20 connections, with the
// benchmark (`--providers=sqlite --sizes=1k --scenarios=mixed,valid,apiKeys50-uncached`, alternating
// runs; docs/operations.md, "On one core"): currentApiKey p99 32-33 ms → 19-20 ms, a page read afresh
// p99 54 → 40-43 ms, the mixed workload's p99s 50-56 → 29-43 ms, at the same CPU a request within noise.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/** cgroup v2's CPU limit of this process's group (`quota period`, or `max period` without one). */
const CPU_MAX = '/sys/fs/cgroup/cpu.max';

function readCpuMax(): string | null {
  try {
    return readFileSync(CPU_MAX, 'utf8');
  } catch {
    return null;
  }
}

/** The cores a cgroup v2 `cpu.max` line allows ("150000 100000": 1.5); Infinity without a limit. */
export function cgroupCores(cpuMax: string | null): number {
  const [quota, period] = (cpuMax ?? '').trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period);
  if (!Number.isFinite(q) || !Number.isFinite(p) || q <= 0 || p <= 0) return Number.POSITIVE_INFINITY;
  return q / p;
}

/** The cores this process may use: those it may be scheduled on, bounded by its cgroup's CPU quota. */
export function usableCores(affinity = availableParallelism(), cpuMax = readCpuMax()): number {
  return Math.min(affinity, cgroupCores(cpuMax));
}

export interface GcChoice {
  cores: number;
  concurrentMarking: boolean;
}

/**
 * Turns V8's concurrent marking off when fewer than two cores are usable (see the top of this file).
 * Called once by `keygate serve`, before the server's heap is first marked; the flag is read each time
 * marking starts.
 */
export function tuneGarbageCollection(cores = usableCores(), setFlags = setFlagsFromString): GcChoice {
  const concurrentMarking = cores >= 2;
  if (!concurrentMarking) setFlags('--no-concurrent-marking');
  return { cores, concurrentMarking };
}
