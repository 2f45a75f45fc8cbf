// A measurement aid, loaded into a server process with NODE_OPTIONS=--require=<this file> (e.g. through
// `npm run bench -- --server-env=NODE_OPTIONS=--require=$PWD/bench/lib/memory-probe.cjs,KEYGATE_MEMORY_PROBE=/tmp/probe`).
// Every 250 ms it reads the process's RSS (/proc/self/status: anonymous and file-backed), the V8 heap by
// space and the memory outside it, keeps the sample taken at the highest RSS, and counts garbage
// collections and their pause time. At exit it writes both to `<KEYGATE_MEMORY_PROBE>/<pid>.json`.
// Not part of Keygate: nothing in src/ loads it.
const { writeFileSync, readFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');
const v8 = require('node:v8');
const { PerformanceObserver, constants } = require('node:perf_hooks');

const dir = process.env.KEYGATE_MEMORY_PROBE;
if (dir) {
  const mb = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
  const status = () => {
    const text = readFileSync('/proc/self/status', 'utf8');
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile'), hwm: field('VmHWM') };
  };
  const sample = () => {
    const s = status();
    const usage = process.memoryUsage();
    const spaces = {};
    for (const space of v8.getHeapSpaceStatistics()) {
      spaces[space.space_name] = { committed: mb(space.physical_space_size), used: mb(space.space_used_size) };
    }
    const heapCommitted = v8.getHeapStatistics().total_physical_size;
    return {
      at: new Date().toISOString(),
      rss: mb(s.rss),
      rssAnon: mb(s.anon),
      rssFile: mb(s.file),
      heapCommitted: mb(heapCommitted),
      heapUsed: mb(usage.heapUsed),
      external: mb(usage.external),
      arrayBuffers: mb(usage.arrayBuffers),
      // Anonymous memory neither V8's heap nor the buffers it knows of: malloc (SQLite's page cache,
      // the drivers, libuv, V8's own tables), thread stacks.
      nativeOther: mb(s.anon - heapCommitted - usage.external),
      spaces,
    };
  };
  const gc = { scavenges: 0, scavengeMs: 0, markSweeps: 0, markSweepMs: 0, other: 0, otherMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = entry.detail?.kind ?? entry.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        gc.scavenges++;
        gc.scavengeMs += entry.duration;
      } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        gc.markSweeps++;
        gc.markSweepMs += entry.duration;
      } else {
        gc.other++;
        gc.otherMs += entry.duration;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  const started = performance.now();
  let peak = sample();
  const timer = setInterval(() => {
    const now = sample();
    if (now.rss > peak.rss) peak = now;
  }, 250);
  timer.unref();
  // KEYGATE_MEMORY_PROBE_SNAPSHOTS=40:90: heap snapshots (what the old space holds) that many seconds after start.
  for (const at of (process.env.KEYGATE_MEMORY_PROBE_SNAPSHOTS ?? '').split(':').filter(Boolean)) {
    setTimeout(() => {
      mkdirSync(dir, { recursive: true });
      v8.writeHeapSnapshot(join(dir, `${process.pid}-${at}s.heapsnapshot`));
    }, Number(at) * 1000).unref();
  }
  // Resident memory by mapping at exit: malloc's main arena ([heap]), the node binary, and anonymous
  // mappings (V8's heap pages, other malloc arenas, thread stacks) by size.
  const mappings = () => {
    const byName = {};
    let name = '';
    let size = 0;
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (header) {
        size = parseInt(header[2], 16) - parseInt(header[1], 16);
        // A large anonymous mapping is named by its size (a malloc arena's heap, wasm code space, a reservation).
        name =
          header[3] ||
          (size >= 1 << 20 ? `anon ${header[1]} of ${mb(size)} MB` : 'anon < 1 MB (V8 heap pages, stacks)');
      } else if (line.startsWith('Rss:')) {
        byName[name] = (byName[name] ?? 0) + Number(line.split(/\s+/)[1]) * 1024;
      }
    }
    return Object.fromEntries(
      Object.entries(byName)
        .filter(([, bytes]) => bytes >= 1 << 20)
        .sort((a, b) => b[1] - a[1])
        .map(([key, bytes]) => [key, mb(bytes)]),
    );
  };
  process.on('exit', () => {
    const last = sample();
    last.mappings = mappings();
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `${process.pid}.json`),
      JSON.stringify(
        {
          argv: process.execArgv,
          seconds: Math.round((performance.now() - started) / 1000),
          hwm: mb(status().hwm),
          elu: performance.eventLoopUtilization(),
          gc: { ...gc, scavengeMs: Math.round(gc.scavengeMs), markSweepMs: Math.round(gc.markSweepMs) },
          peak,
          last,
        },
        null,
        2,
      ),
    );
  });
}
