// How many cores the server may run on, and what V8's garbage collector should do about it.
//
// V8 collects garbage partly on threads of its own while JavaScript runs (concurrent marking and
// sweeping, parallel scavenges). With a second core those threads run beside the server. With one (a
// container limited to one CPU, a process pinned to a core, a one-vCPU machine) they run instead of it:
// the kernel gives them slices of several milliseconds, during which every request in flight waits.
// Done on the main thread instead (marking in steps of about a millisecond between tasks), the same
// work delays requests far less. Measured on one pinned core of this project's 2-core machines, 20
// connections, with the benchmark (docs/operations.md, "On one core"): p99s a third lower.
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
  /** Whether V8 may collect garbage on threads of its own. */
  backgroundGc: boolean;
}

/**
 * V8's --single-threaded-gc and the flags it implies when given on the command line, named one by one:
 * set while V8 runs, a flag's implications are not applied. Only concurrent marking off lowered the
 * p99s as much, but it let the heap grow further between collections (the benchmark's RSS at 1M keys
 * 183 → 216 MB; with all of these 192 MB).
 */
export const SINGLE_THREADED_GC_FLAGS = [
  '--single-threaded-gc',
  '--no-concurrent-marking',
  '--no-concurrent-sweeping',
  '--no-concurrent-array-buffer-sweeping',
  '--no-concurrent-minor-mc-marking',
  '--no-cppheap-concurrent-marking',
  '--no-parallel-compaction',
  '--no-parallel-marking',
  '--no-parallel-pointer-update',
  '--no-parallel-scavenge',
].join(' ');

/**
 * Keeps V8's garbage collection on the main thread when fewer than two cores are usable (see the top
 * of this file). Called once by `keygate serve`, before the server's heap is first collected; V8 reads
 * these flags each time it starts a collection.
 */
export function tuneGarbageCollection(cores = usableCores(), setFlags = setFlagsFromString): GcChoice {
  const backgroundGc = cores >= 2;
  if (!backgroundGc) setFlags(SINGLE_THREADED_GC_FLAGS);
  return { cores, backgroundGc };
}
