import { defineConfig } from 'vitest/config';

// KEYGATE_TEST_RESULTS=<file> also writes a JSON report (CI prints a summary line from it).
const resultsFile = process.env.KEYGATE_TEST_RESULTS;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: resultsFile ? ['default', 'json'] : ['default'],
    ...(resultsFile ? { outputFile: { json: resultsFile } } : {}),
  },
});
