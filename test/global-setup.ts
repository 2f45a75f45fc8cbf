// Runs once before the test files: builds dist/ from the sources, so that the tests that start real
// processes (bin/keygate.js) run the current code, built the way users run it. The GraphiQL bundle
// (about 20 s) is built only when it is missing or older than its sources (web/graphiql/).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function graphiqlIsStale(root: string): boolean {
  const manifest = `${root}dist/graphiql/manifest.json`;
  if (!existsSync(manifest)) return true;
  const built = statSync(manifest).mtimeMs;
  const sources = [
    `${root}scripts/build-graphiql.ts`,
    ...readdirSync(`${root}web/graphiql`).map((name) => `${root}web/graphiql/${name}`),
  ];
  return sources.some((source) => statSync(source).mtimeMs > built);
}

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (graphiqlIsStale(root)) {
    execFileSync(process.execPath, [`${root}node_modules/tsx/dist/cli.mjs`, `${root}scripts/build-graphiql.ts`], {
      cwd: root,
      stdio: 'inherit',
    });
  }
}
