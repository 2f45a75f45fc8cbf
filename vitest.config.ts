import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// KEYGATE_TEST_RESULTS=<file> also writes a JSON report (CI prints a summary line from it).
const resultsFile = process.env.KEYGATE_TEST_RESULTS;

export default defineConfig({
  resolve: {
    // One graphql for everyone: Vite would give our sources graphql's ESM build (index.mjs) while
    // graphql-yoga, loaded by Node, gets the CommonJS one, and errors of one fail `instanceof` of the other.
    alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: resultsFile ? ['default', 'json'] : ['default'],
    ...(resultsFile ? { outputFile: { json: resultsFile } } : {}),
  },
});
