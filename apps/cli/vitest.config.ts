import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The e2e tests start real `infra` processes (and the packaging test runs npm).
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
