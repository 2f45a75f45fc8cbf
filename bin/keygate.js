#!/usr/bin/env node
// The keygate command. Runs the build in dist/ (`npm run build`, done by `npm ci`/`npm install` and
// before `npm start`): plain JavaScript starts faster, answers faster and uses less memory than the
// TypeScript sources run through a loader. Without a build it falls back to the sources through tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
