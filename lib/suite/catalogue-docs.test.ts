// The check and rule catalogues stay whole and their generated documentation current.
import { readFileSync } from 'node:fs';
import { test, expect } from '@playwright/test';
import { checksMarkdown } from './catalogue-docs.ts';
import { CHECK_CATALOGUE, coverage } from './checks.ts';
import { loadCases } from './loader.ts';
import { RULES } from './rules.ts';

test('docs/checks.md is what the catalogues generate (npx tsx fixtures/tools/gen-docs.ts)', () => {
  expect(readFileSync('docs/checks.md', 'utf8')).toBe(checksMarkdown());
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
