// Runs once before the test files: builds dist/ from the sources, so that the tests that start real
// processes (bin/keygate.js) run the current code, built the way users run it. The GraphiQL bundle
// (about 20 s) and the console's (a few seconds) are built only when missing or older than their sources.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function isStale(root: string, bundle: 'graphiql' | 'console', extra: string[]): boolean {
  const manifest = `${root}dist/${bundle}/manifest.json`;
  if (!existsSync(manifest)) return true;
  const built = statSync(manifest).mtimeMs;
  const sources = [
    `${root}scripts/build-${bundle}.ts`,
    `${root}scripts/compress-assets.ts`,
    ...extra,
    ...readdirSync(`${root}web/${bundle}`)
      .filter((name) => name !== 'graphql-env.d.ts') // generated from schema.graphql, listed below
      .map((name) => `${root}web/${bundle}/${name}`),
  ];
  return sources.some((source) => statSync(source).mtimeMs > built);
}

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  const bundles = [
    ['graphiql', []],
    ['console', [`${root}schema.graphql`, `${root}scripts/console-types.ts`]],
  ] as const;
  for (const [bundle, extra] of bundles) {
    if (!isStale(root, bundle, [...extra])) continue;
    execFileSync(process.execPath, [`${root}node_modules/tsx/dist/cli.mjs`, `${root}scripts/build-${bundle}.ts`], {
      cwd: root,
      stdio: 'inherit',
    });
  }
}
