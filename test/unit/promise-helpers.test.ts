// Yoga's request pipeline runs on @whatwg-node/promise-helpers 2 (package.json "overrides"; why:
// docs/architecture.md, Dependencies held on purpose). Without the override npm would install 1.x for
// these packages again, silently: this test is what notices.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

/** The version of `dependency` that `from` (a package) loads. */
function versionSeenBy(from: string, dependency: string): string {
  const fromDir = dirname(require.resolve(`${from}/package.json`));
  const own = createRequire(join(fromDir, 'package.json'));
  const manifest = own.resolve(`${dependency}/package.json`);
  return JSON.parse(readFileSync(manifest, 'utf8')).version;
}

describe('the promise helpers under the request pipeline', () => {
  it.each(['graphql-yoga', '@whatwg-node/server', '@whatwg-node/node-fetch', '@envelop/graphql-jit'])(
    '%s runs on version 2 (a fake promise is one object of a shared class, not a literal with three closures)',
    (from) => {
      expect(versionSeenBy(from, '@whatwg-node/promise-helpers')).toMatch(/^2\./);
    },
  );

  it('the packages that re-export mapMaybePromise (gone in version 2) keep version 1', () => {
    expect(versionSeenBy('@envelop/core', '@whatwg-node/promise-helpers')).toMatch(/^1\./);
    expect(versionSeenBy('graphql-yoga', '@graphql-tools/utils')).toMatch(/^11\./);
    expect(versionSeenBy('@graphql-tools/utils', '@whatwg-node/promise-helpers')).toMatch(/^1\./);
  });
});
