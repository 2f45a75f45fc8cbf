// Server processes for the benchmark: started pinned to the server core, watched (stdout lines, RSS),
// stopped by their pid. Nothing here outlives a run: every process is stopped and every temp dir removed.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Pinning {
  enabled: boolean;
  serverCpu: number;
  loadCpu: number;
  /** Why pinning is off, when it is. */
  note?: string;
}

/** Pins this process (the load generator) to one core and reports whether servers can be pinned too. */
export function setUpPinning(): Pinning {
  const serverCpu = 0;
  const loadCpu = 1;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return { enabled: false, serverCpu, loadCpu, note: 'taskset not found: server and load generator share cores' };
  }
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(loadCpu), String(process.pid)], { stdio: 'ignore' });
    return { enabled: true, serverCpu, loadCpu };
  } catch (error) {
    return { enabled: false, serverCpu, loadCpu, note: `taskset failed (${(error as Error).message.split('\n')[0]})` };
  }
}

/** The tests' free-port probe: one implementation for tests and bench. */
export { freePort } from '../../test/helpers/ports.ts';

/** VmRSS of a process in bytes, or null when it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  pinning: Pinning;
}

export class ServerProcess {
  readonly name: string;
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  private rssTimer: NodeJS.Timeout | undefined;
  maxRss = 0;

  constructor(options: StartOptions) {
    this.name = options.name;
    const [command, args] = options.pinning.enabled
      ? ['taskset', ['-c', String(options.pinning.serverCpu), options.command, ...options.args]]
      : [options.command, options.args];
    // taskset execs the command: the child's pid is the server's.
    this.child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (stream: NodeJS.ReadableStream | null) => {
      let rest = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        this.lines.push(...parts);
        for (const wake of this.waiters.splice(0)) wake();
      });
    };
    collect(this.child.stdout);
    collect(this.child.stderr);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exitCode = code;
        for (const wake of this.waiters.splice(0)) wake();
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  output(): string {
    return this.lines.join('\n');
  }

  /** Resolves with the first value `find` returns for a line of output (stdout and stderr), in order. */
  async waitForLine<T>(
    find: (line: string, index: number, lines: string[]) => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let index = 0; ; ) {
      for (; index < this.lines.length; index++) {
        const found = find(this.lines[index] as string, index, this.lines);
        if (found !== undefined) return found;
      }
      if (this.exitCode !== undefined) throw new Error(`${this.name} exited (${this.exitCode}):\n${this.output()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name}: timed out waiting for its output:\n${this.output()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Polls `url` until it answers 200. */
  async waitForHttp(url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitCode !== undefined) throw new Error(`${this.name} exited (${this.exitCode}):\n${this.output()}`);
      try {
        const response = await fetch(url);
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {}
      if (Date.now() > deadline) throw new Error(`${this.name}: ${url} did not answer 200 in time:\n${this.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Samples VmRSS every `everyMs` and keeps the maximum in maxRss. */
  sampleRss(everyMs = 250): void {
    const sample = () => {
      const rss = rssBytes(this.pid);
      if (rss !== null && rss > this.maxRss) this.maxRss = rss;
    };
    sample();
    this.rssTimer = setInterval(sample, everyMs);
    this.rssTimer.unref();
  }

  /** SIGTERM (a graceful drain), then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    clearInterval(this.rssTimer);
    if (this.exitCode !== undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
