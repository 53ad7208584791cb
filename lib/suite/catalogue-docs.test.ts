// The check and rule catalogues stay whole and their generated documentation current.
import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import {
  checksMarkdown, offlineDifferencesTable, stepTables, suiteFilesTable, suiteSchemaWithSteps, suitesTable, withGenerated,
} from './catalogue-docs.ts';
import { CHECK_CATALOGUE, coverage } from './checks.ts';
import { loadCases } from './loader.ts';
import { RULES } from './rules.ts';

test('the generated docs are what their sources say (npx tsx fixtures/tools/gen-docs.ts)', () => {
  expect(readFileSync('docs/checks.md', 'utf8')).toBe(checksMarkdown());
  const readme = readFileSync('README.md', 'utf8');
  expect(readme, 'README.md suite table').toBe(withGenerated(readme, 'suites', suitesTable()));
  const analyze = readFileSync('docs/analyze.md', 'utf8');
  expect(analyze, 'docs/analyze.md offline differences').toBe(withGenerated(analyze, 'offline-differences', offlineDifferencesTable()));
  for (const role of ['bmsc', 'ue'] as const) {
    const readme = readFileSync(`suites/${role}/README.md`, 'utf8');
    expect(readme, `suites/${role}/README.md`).toBe(withGenerated(readme, 'suite-files', suiteFilesTable(role)));
  }
  // the step vocabulary: schema and docs from the step registry
  const schema = readFileSync('lib/suite/suite.schema.json', 'utf8');
  expect(JSON.parse(schema), 'suite.schema.json step definitions').toEqual(JSON.parse(suiteSchemaWithSteps(schema)));
  const format = readFileSync('docs/suite-format.md', 'utf8');
  for (const group of ['bmsc', 'ue', 'both'] as const) {
    expect(format, `docs/suite-format.md steps-${group}`).toBe(withGenerated(format, `steps-${group}`, stepTables(group)));
  }
});

test('every check has a case, every check names known rules, every device rule serves a check', () => {
  for (const role of ['bmsc', 'ue'] as const) expect(coverage(role, loadCases(role)).uncovered, `${role} checks no case cites`).toEqual([]);
  const unknown = CHECK_CATALOGUE.flatMap((k) => k.rules.filter((r) => !RULES[r]).map((r) => `${k.id}: ${r}`));
  expect(unknown, 'checks naming rules the catalogue lacks').toEqual([]);
  const served = new Set(CHECK_CATALOGUE.flatMap((k) => k.rules));
  const orphans = Object.entries(RULES).filter(([name, r]) => r.side !== 'tester' && !served.has(name)).map(([name]) => name);
  expect(orphans, 'device rules no check cites').toEqual([]);
  const ids = CHECK_CATALOGUE.map((k) => k.id);
  expect(new Set(ids).size).toBe(ids.length);
});
