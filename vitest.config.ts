import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // vitest's default (one worker fewer than CPUs) runs the suite on one worker on a 2-core
    // machine; most live tests wait on containers, tracers and children, so two (or the CPUs, if
    // more) keep both cores busy. No test blocks its worker's event loop (test/helpers/proc.ts).
    maxWorkers: Math.max(2, availableParallelism()),
    minWorkers: 1,
    reporters: process.env.CI === 'true' ? ['default', 'junit'] : ['default'],
    outputFile: { junit: 'test-results/junit.xml' },
  },
});
