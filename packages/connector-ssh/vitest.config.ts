import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Each e2e file starts its own sshd; one file at a time keeps 2 cores calm.
    fileParallelism: false,
  },
});
