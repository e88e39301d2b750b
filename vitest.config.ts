import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files share one PostgreSQL server and one Redis; each uses its own database / key prefix,
    // so files may run in parallel, but two cores is all CI has.
    maxWorkers: 2,
  },
});
