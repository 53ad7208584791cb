import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';
import { playwrightReporters } from './lib/report/index.ts';

// Projects:
//   unit       library tests (lib/**/*.test.ts): codecs, crypto vectors, property and fuzz tests, references
//   bmsc, ue   the conformance suites, one test per case (BM-SC under test, UE under test); the SUT is the
//              embedded reference unless MBMS_SUT names a SUT profile
//   selfcheck  self-validation: the fault matrix, the external-SUT path
//   e2e        the tool end to end: `mbms-conform run`, shard merge, the report in headless Chromium
// `npm start` (mbms-conform run) runs bmsc and ue; `npm test` runs them all. The build (tools/build.mjs)
// compiles this file and the conformance spec into dist/, which is what an installed package runs: hence
// spec names matched with either extension, and an output folder that `mbms-conform run` places under
// its --out folder (relative paths here would resolve inside the package).
/** This file compiled (dist/playwright.config.js): the code beside it is JavaScript already. */
const COMPILED = import.meta.url.endsWith('.js');
/** The conformance spec, from the sources (.ts) or the build (.js). */
const CONFORMANCE_SPEC = /conformance\.spec\.[jt]s$/;

export default defineConfig({
  // Compiled, the code needs no transform: Playwright would otherwise run Babel over every module a
  // worker loads that its runner did not (only the runner fills Playwright's transform cache), in every
  // worker of every run: about 2 s of CPU per worker.
  build: { external: COMPILED ? [`${fileURLToPath(new URL('.', import.meta.url))}**`] : [] },
  timeout: 60_000,
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  // Most of a conformance case is waiting on protocol timers, so more workers than cores pay off.
  workers: process.env.MBMS_WORKERS ? Number(process.env.MBMS_WORKERS) : 4,
  reporter: playwrightReporters(),
  outputDir: process.env.MBMS_TEST_OUTPUT_DIR ?? 'reports/test-results',
  projects: [
    { name: 'unit', testDir: 'lib', testMatch: '**/*.test.ts' },
    { name: 'bmsc', testDir: 'suites', testMatch: CONFORMANCE_SPEC, grep: /@role-bmsc/, metadata: { role: 'bmsc' } },
    { name: 'ue', testDir: 'suites', testMatch: CONFORMANCE_SPEC, grep: /@role-ue/, metadata: { role: 'ue' } },
    // Both roles in one pool of workers, for `mbms-conform run` with both roles (it sets MBMS_BOTH_ROLES):
    // Playwright never shares a worker between projects, and every worker pays for loading the libraries.
    // Declared for that run only, so that `playwright test` does not run every case a third time.
    ...(process.env.MBMS_BOTH_ROLES === '1' ? [{ name: 'conformance', testDir: 'suites', testMatch: CONFORMANCE_SPEC }] : []),
    { name: 'selfcheck', testDir: 'suites/selfcheck', testMatch: '**/*.spec.ts', timeout: 900_000 },
    // A browser rendering a report on a loaded 2-core host can take well over the default 5 s to show it:
    // web assertions wait for the element (an event), up to 30 s.
    { name: 'e2e', testDir: 'fixtures/e2e', testMatch: '*.spec.ts', timeout: 180_000, expect: { timeout: 30_000 } },
  ],
});
