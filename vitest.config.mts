import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // one native addon and one thread pool per process: run files in forks, not threads
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
