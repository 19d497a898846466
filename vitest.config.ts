import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    pool: 'forks',
    // Each database test file starts its own PostgreSQL; two cores run two files at a time well.
    maxWorkers: 2,
  },
});
