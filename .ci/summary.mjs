// Prints "N passed, N failed" from Playwright's JUnit XML (reporter configured in playwright.config.ts).
// Skipped tests are reported apart; a run that executed no test is a failure.
import { readFileSync } from 'node:fs';

const xml = readFileSync(process.argv[2] ?? 'reports/junit.xml', 'utf8');
const root = /<testsuites\b([^>]*)>/.exec(xml);
const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(root?.[1] ?? '')?.[1] ?? 0);
const tests = attr('tests');
const failed = attr('failures') + attr('errors');
const skipped = attr('skipped');
const passed = tests - failed - skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(tests > 0 && failed === 0 ? 0 : 1);
