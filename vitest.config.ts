import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One real PostgreSQL server for the run (#10); see test/helpers/postgres.ts.
    globalSetup: ['test/setup/postgres.ts'],
  },
});
