import { defineConfig } from 'vitest/config';

// Integration tests share the machine's two CPUs and real cgroups: run test files one at a time so
// a CPU-quota test is not disturbed by another file's workload.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
