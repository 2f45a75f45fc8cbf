// The heap cap lives on bin/keygate.js's first line; `npm start` runs that file directly and the
// benchmark reads the flags from it, so the server measured is the server users start.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFlagsOf, shebangEnvOf } from '../../bench/lib/keygate.ts';

const ROOT = new URL('../../', import.meta.url);

describe('node flags of bin/keygate.js', () => {
  it('caps the heap, and npm start runs the file as its first line says', () => {
    expect(nodeFlagsOf(new URL('bin/keygate.js', ROOT).pathname)).toEqual([
      '--max-old-space-size=256',
      '--max-semi-space-size=8',
      '--liftoff-only',
      '--no-allocation-site-pretenuring',
    ]);
    expect(shebangEnvOf(new URL('bin/keygate.js', ROOT).pathname)).toEqual({ MALLOC_ARENA_MAX: '2' });
    const scripts = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')).scripts;
    expect(scripts.start).toBe('bin/keygate.js serve');
  });

  it('node takes every flag, and the young generation stays at 2 × 8 MB where it grows to 2 × 16 MB without', () => {
    // Short-lived objects, some surviving a scavenge or two, as a server's requests make them: V8
    // grows the young generation to its bound. An unknown flag would stop node (exit 9) here.
    const script = `const v8 = require('node:v8'); let kept = []; let max = 0;
      for (let i = 0; i < 3e6; i++) {
        kept.push({ i, s: 'x' + i }); if (kept.length > 20000) kept = [];
        if (i % 10000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
      }
      console.log(max / 1048576);`;
    const bin = new URL('bin/keygate.js', ROOT).pathname;
    const youngMb = (flags: string[]) =>
      Number(
        execFileSync(process.execPath, [...flags, '-e', script], {
          env: { ...process.env, ...shebangEnvOf(bin), NODE_OPTIONS: '' },
          encoding: 'utf8',
        }),
      );
    expect(youngMb(nodeFlagsOf(bin))).toBeLessThanOrEqual(16);
    expect(youngMb([])).toBeGreaterThan(16);
  });

  it('reads flags from env -S lines and none from plain ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-flags-'));
    try {
      const write = (name: string, first: string) => {
        writeFileSync(join(dir, name), `${first}\nconsole.log(1);\n`);
        return nodeFlagsOf(join(dir, name));
      };
      expect(write('a.js', '#!/usr/bin/env -S node --max-old-space-size=64 --no-warnings')).toEqual([
        '--max-old-space-size=64',
        '--no-warnings',
      ]);
      expect(write('b.js', '#!/usr/bin/env node')).toEqual([]);
      expect(write('d.js', '#!/usr/bin/env -S A=1 B_2=x node --no-warnings')).toEqual(['--no-warnings']);
      expect(shebangEnvOf(join(dir, 'd.js'))).toEqual({ A: '1', B_2: 'x' });
      expect(write('c.js', '// no shebang')).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
