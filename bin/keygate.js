#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-old-space-size=256 --max-semi-space-size=8 --liftoff-only --no-allocation-site-pretenuring
// The keygate command. Runs the build in dist/ (`npm run build`, done by `npm ci`/`npm install` and
// before `npm start`): plain JavaScript starts faster, answers faster and uses less memory than the
// TypeScript sources run through a loader. Without a build it falls back to the sources through tsx.
//
// The heap cap on the first line (also used by `npm start` and the benchmark, which run this file as
// its first line says) keeps a busy server near its live size: without it V8 lets garbage pile up to
// hundreds of MB on a machine with much memory before it collects. 256 MB is about twice the live heap
// of a server whose token cache is full (≈ 120 MB). Another cap: node --max-old-space-size=N bin/keygate.js.
// MALLOC_ARENA_MAX=2: glibc gives every thread that allocates (libuv's pool, V8's helpers) a malloc
// arena of its own, which stays resident; two arenas took the server's RSS at 1M keys under load from
// 239 to 195 MB (measured with process.memoryUsage: the JS heap unchanged, native memory 40 MB less).
// --max-semi-space-size=8: the young generation (two semi-spaces) grows under load to 2 × 16 MB by
// default; 2 × 8 MB saves 16 MB of RSS. Scavenges come twice as often and each takes a little over
// half as long (what survives a request is small): GC time over the same requests was equal in one
// comparison and 1.5% of the server's CPU more in another (bench/lib/memory-probe.cjs counts pauses).
// --liftoff-only: Prisma compiles its queries with a WebAssembly module (3 MB); V8 compiles it a
// second time with its optimizing compiler, which kept 20-40 MB of native memory resident. The module
// runs only when a Prisma query's plan is not cached yet (raw SQL, which every hot path uses, does
// not run it at all), so its baseline (Liftoff) code is enough.
// --no-allocation-site-pretenuring: while slow requests are in flight, the objects every request
// makes survive a young-generation collection, and V8 then allocates them in the old generation for
// good; every later request, fast ones too, fills it with garbage only a full collection frees (13-16
// full collections a second, verification at half its speed with a p99 of 8 ms after a minute of
// lists). docs/operations.md (Memory) has the measurements and the whole budget.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
