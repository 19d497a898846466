import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Creates the emulator's TLS certificate and trusts it (NODE_EXTRA_CA_CERTS) before workers fork.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 90_000,
    pool: 'forks',
    // Each database test file starts its own PostgreSQL; two cores run two files at a time well.
    maxWorkers: 2,
  },
});
