import { defineConfig } from '@playwright/test';

// Projects:
//   unit      library tests (lib/**/*.test.ts): codecs, crypto, vectors, property and fuzz tests
//   bmsc, ue  the conformance suites, one test per case (BM-SC under test, UE under test)
//   selfcheck the fault matrix and end-to-end checks of the tool itself
export default defineConfig({
  timeout: 60_000,
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['junit', { outputFile: 'reports/junit.xml' }]],
  outputDir: 'reports/test-results',
  projects: [
    { name: 'unit', testDir: 'lib', testMatch: '**/*.test.ts' },
  ],
});
