// Reporter settings for playwright.config.ts, so that the configuration names the project's
// reporters in one call: progress or list on the terminal, JUnit for CI, allure-playwright for the
// Allure report (results directory, environment, categories, verdict status fix-up).
import { fileURLToPath } from 'node:url';
import type { ReporterDescription } from '@playwright/test';
import { allureReporterOptions, type AllureReporterSetup } from './allure.ts';

/** `.ts` when this module runs from the sources, `.js` when from the build (dist/): its siblings share it. */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
/** Path of the compact per-case reporter (for `reporter: [[progressReporterPath]]`). */
export const progressReporterPath = fileURLToPath(new URL(`./progress-reporter${EXT}`, import.meta.url));
/** Path of the run plan reporter (lib/report/run-plan.ts): what was planned, how each test ended. */
export const planReporterPath = fileURLToPath(new URL(`./plan-reporter${EXT}`, import.meta.url));

/**
 * `reporter:` of playwright.config.ts. The terminal reporter is `list`, or the per-case progress
 * reporter when MBMS_REPORTER=progress (set by `mbms-conform run`); JUnit goes to
 * $MBMS_JUNIT_FILE or reports/junit.xml; Allure results to $ALLURE_RESULTS_DIR or reports/allure-results;
 * blob reports to $MBMS_BLOB_DIR when set (sharded CI, docs/sharding.md).
 */
export function playwrightReporters(setup: AllureReporterSetup & { junitFile?: string } = {}): ReporterDescription[] {
  const terminal: ReporterDescription = process.env.MBMS_REPORTER === 'progress' ? [progressReporterPath] : ['list'];
  return [
    terminal,
    ['junit', { outputFile: process.env.MBMS_JUNIT_FILE ?? setup.junitFile ?? 'reports/junit.xml' }],
    ['allure-playwright', allureReporterOptions(setup)],
    [planReporterPath],
    // Sharded CI: blob reports that `mbms-conform report --blob DIR` merges into one JUnit file.
    ...(process.env.MBMS_BLOB_DIR ? [['blob', { outputDir: process.env.MBMS_BLOB_DIR }] as ReporterDescription] : []),
  ];
}
