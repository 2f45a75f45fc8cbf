import { execFileSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { cgroupCores, SINGLE_THREADED_GC_FLAGS, tuneGarbageCollection, usableCores } from '../../src/cpu-share.ts';

describe('the cores a process may use', () => {
  it('reads the CPU quota of a cgroup v2 cpu.max line', () => {
    expect(cgroupCores('100000 100000\n')).toBe(1);
    expect(cgroupCores('150000 100000')).toBe(1.5);
    expect(cgroupCores('400000 100000')).toBe(4);
  });

  it('no limit, no file or an unreadable line: no bound', () => {
    expect(cgroupCores('max 100000\n')).toBe(Number.POSITIVE_INFINITY);
    expect(cgroupCores(null)).toBe(Number.POSITIVE_INFINITY);
    expect(cgroupCores('')).toBe(Number.POSITIVE_INFINITY);
    expect(cgroupCores('0 100000')).toBe(Number.POSITIVE_INFINITY);
  });

  it('is the fewer of the cores it may be scheduled on and its quota', () => {
    expect(usableCores(8, '100000 100000')).toBe(1);
    expect(usableCores(1, 'max 100000')).toBe(1);
    expect(usableCores(4, '250000 100000')).toBe(2.5);
    expect(usableCores(2, null)).toBe(2);
  });
});

describe("V8's garbage collection threads follow the cores", () => {
  it('fewer than two cores: none, every flag of --single-threaded-gc set', () => {
    const setFlags = vi.fn();
    expect(tuneGarbageCollection(1, setFlags)).toEqual({ cores: 1, backgroundGc: false });
    expect(tuneGarbageCollection(1.5, setFlags)).toEqual({ cores: 1.5, backgroundGc: false });
    expect(setFlags.mock.calls).toEqual([[SINGLE_THREADED_GC_FLAGS], [SINGLE_THREADED_GC_FLAGS]]);
    for (const flag of ['--single-threaded-gc', '--no-concurrent-marking', '--no-parallel-scavenge']) {
      expect(SINGLE_THREADED_GC_FLAGS.split(' ')).toContain(flag);
    }
  });

  it('every one of those flags is one this V8 knows', () => {
    const known = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    for (const flag of SINGLE_THREADED_GC_FLAGS.split(' ')) {
      expect(known).toContain(`  ${flag.replace(/^--no-/, '--')} (`);
    }
  });

  it('two cores or more: left as V8 has it', () => {
    const setFlags = vi.fn();
    expect(tuneGarbageCollection(2, setFlags)).toEqual({ cores: 2, backgroundGc: true });
    expect(setFlags).not.toHaveBeenCalled();
  });
});
