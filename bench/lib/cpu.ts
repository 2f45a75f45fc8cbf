// How much CPU the rest of the machine took during a run: all busy time (/proc/stat) minus what the
// benchmark's own processes used (the load generator, the server, its PostgreSQL backends). On a shared
// machine this tells a slow server from a busy neighbour.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Busy ticks of all CPUs: user, nice, system, irq, softirq, steal. */
function busyTicks(): number {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

/** utime + stime of a process (all its threads), or 0 when it is gone. */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

export interface CpuMeter {
  /** Cores' worth of CPU used outside the benchmark's processes since the meter started. */
  stop(): number;
  /**
   * The same, and the milliseconds of CPU the measured processes (the server and its PostgreSQL
   * backends, not the load generator) used meanwhile.
   */
  stopWithServer(): { otherCores: number; serverMs: number };
}

export function startCpuMeter(pids: number[]): CpuMeter {
  const own = [process.pid, ...pids];
  const started = performance.now();
  const busy = busyTicks();
  const before = own.map(processTicks);
  const stopWithServer = () => {
    const seconds = (performance.now() - started) / 1000;
    const used = own.map((pid, i) => Math.max(0, processTicks(pid) - (before[i] ?? 0)));
    const ours = used.reduce((sum, ticks) => sum + ticks, 0);
    const others = Math.max(0, busyTicks() - busy - ours);
    const server = used.slice(1).reduce((sum, ticks) => sum + ticks, 0);
    return {
      otherCores: seconds > 0 ? others / TICKS_PER_SECOND / seconds : 0,
      serverMs: (server * 1000) / TICKS_PER_SECOND,
    };
  };
  return { stop: () => stopWithServer().otherCores, stopWithServer };
}

/**
 * Waits (at most `maxSeconds`) for a second in which other processes used at most `cores` of CPU.
 * Returns the seconds waited.
 */
export async function waitForQuiet(maxSeconds: number, cores: number, pids: number[]): Promise<number> {
  const started = performance.now();
  while ((performance.now() - started) / 1000 < maxSeconds) {
    const meter = startCpuMeter(pids);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (meter.stop() <= cores) break;
  }
  return (performance.now() - started) / 1000;
}
