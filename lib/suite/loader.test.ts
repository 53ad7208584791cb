import { test, expect } from '@playwright/test';
import { cpSync, mkdtempSync, readFileSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSuiteFile, loadCases, loadSuites, writeCasesFile, CASES_FILE_ENV, SUITES_DIR } from './loader.ts';
import { coverage } from './checks.ts';
import { DuplicateCaseError, SuiteSchemaError } from './errors.ts';

const MODELINE = '# yaml-language-server: $schema=../../lib/suite/suite.schema.json\n';
const HEAD = `${MODELINE}role: bmsc\nclause: "6.3.1"\nprocedure: msk-request\ntitle: t\ncases:\n`;
const CASE = (id: string, steps: string, extra = '') => `  - id: ${id}
    title: a case
    requirement: the SUT must
    references: ["RFC 2617"]
    severity: normal
    mandatory: true
${extra}    steps:
${steps}`;

function write(text: string, dir = mkdtempSync(join(tmpdir(), 'suite-'))): string {
  const file = join(dir, 'x.yaml');
  writeFileSync(file, text);
  return file;
}

function loadError(text: string): SuiteSchemaError {
  try { loadSuiteFile(write(text)); } catch (e) { if (e instanceof SuiteSchemaError) return e; throw e; }
  throw new Error('loaded without error');
}

test('a valid file loads with steps, lines and merged references', () => {
  const file = write(HEAD + CASE('bmsc/6.3.1/01', '      - http-request: { as: r1 }\n      - expect-http-response: { to: r1, status: 401 }\n'));
  const suite = loadSuiteFile(file);
  expect(suite.cases).toHaveLength(1);
  const c = suite.cases[0]!;
  expect(c.steps.map((s) => s.action)).toEqual(['http-request', 'expect-http-response']);
  expect(c.steps[1]!.line).toBe(15);
  expect(c.source.line).toBe(7);
});

test('an unknown enum value names the line and field', () => {
  const e = loadError(HEAD + CASE('bmsc/6.3.1/01', '      - http-request: { as: r1 }\n      - http-request:\n          fault: wrong-pasword\n'));
  expect(e.code).toBe('ERR_SUITE_SCHEMA');
  expect(e.location.line).toBe(16);
  expect(e.location.field).toBe('cases[0].steps[1].http-request.fault');
  expect(e.message).toMatch(/must be one of .*wrong-password/);
});

test('an unknown field points at the key itself', () => {
  const e = loadError(HEAD + CASE('bmsc/6.3.1/01', '      - expect-mikey: { kind: msk, withn: deliver }\n'));
  expect(e.location.line).toBe(14);
  expect(e.message).toMatch(/unknown field 'withn'/);
});

test('a missing required field names the case', () => {
  const text = HEAD + CASE('bmsc/6.3.1/01', '      - http-request: {}\n').replace('    severity: normal\n', '');
  const e = loadError(text);
  expect(e.message).toMatch(/missing required field 'severity'/);
  expect(e.location.line).toBe(7);
});

test('semantic checks: one action per step, role, references, applicability, id prefix, modeline', () => {
  expect(loadError(HEAD + CASE('bmsc/6.3.1/01', '      - http-request: {}\n        trigger: { action: msk-push }\n')).message).toMatch(/exactly one action/);
  expect(loadError(HEAD + CASE('bmsc/6.3.1/01', '      - send-mikey: { kind: msk }\n')).message).toMatch(/not available when the SUT is a BM-SC/);
  expect(loadError(HEAD + CASE('bmsc/6.3.1/01', '      - expect-http-response: { to: nothing }\n')).message).toMatch(/'nothing' does not name an earlier step/);
  expect(loadError(HEAD + CASE('bmsc/6.3.1/01', '      - expect-mikey: { kind: msk, keyIds: "next-of:x" }\n')).message).toMatch(/refers to 'x'/);
  expect(loadError(HEAD + CASE('bmsc/6.3.1/01', '      - http-request: {}\n', '    applicability: msk-pushh\n')).message).toMatch(/unknown capability 'msk-pushh'/);
  expect(loadError(HEAD + CASE('bmsc/6.3.1/01', '      - http-request: {}\n', '    applicability: "msk-push &&"\n')).message).toMatch(/does not parse/);
  expect(loadError(HEAD + CASE('ue/6.3.1/01', '      - http-request: {}\n')).message).toMatch(/must start with 'bmsc\/'/);
  expect(loadError(HEAD + CASE('bmsc/6.3.1/01', '      - http-request: {}\n', '    checks: [A-B14]\n')).message).toMatch(/'A-B14' is not a protocol §7 check/);
  expect(loadError(HEAD + CASE('bmsc/6.3.1/01', '      - http-request: {}\n', '    checks: [A-U1]\n')).message).toMatch(/not a protocol §7 check of the BM-SC role/);
  expect(loadError((HEAD + CASE('bmsc/6.3.1/01', '      - http-request: {}\n')).replace(MODELINE, '')).message).toMatch(/modeline/);
  const syntax = loadError(`${HEAD}  - id: [unclosed\n`);
  expect(syntax.message).toMatch(/YAML syntax/);
  expect(syntax.location.line).toBeGreaterThan(1);
});

test('duplicate case ids across files are refused', () => {
  const root = mkdtempSync(join(tmpdir(), 'suites-'));
  mkdirSync(join(root, 'bmsc'));
  const body = HEAD + CASE('bmsc/6.3.1/01', '      - http-request: {}\n');
  writeFileSync(join(root, 'bmsc', 'a.yaml'), body);
  writeFileSync(join(root, 'bmsc', 'b.yaml'), body);
  expect(() => loadSuites('bmsc', root)).toThrow(DuplicateCaseError);
});

test('the shipped suites load and cover every protocol §7.1 and §7.2 check', () => {
  const bmsc = loadCases('bmsc');
  expect(bmsc.length).toBeGreaterThanOrEqual(25);
  // Spelled out here rather than read from CHECKS, so a check dropped from the registry is noticed too.
  const required = ['A-B1', 'A-B2', 'A-B3', 'A-B4', 'A-B5', 'A-B6', 'A-B7', 'A-B8', 'A-B9', 'A-B10', 'A-B11', 'A-B12', 'A-B13',
    'P-B1', 'P-B2', 'S-B1', 'M-B1', 'M-B2', 'G-B1', 'G-B2'];
  expect(coverage('bmsc', bmsc).uncovered).toEqual([]);
  expect(required.filter((c) => !bmsc.some((x) => x.checks.includes(c)))).toEqual([]);
  const ue = loadCases('ue');
  if (ue.length > 0) expect(coverage('ue', ue).uncovered).toEqual([]);
  // Positive and negative variants of the BM-SC procedures.
  for (const procedure of ['msk-request', 'msk-push', 'solicited-pull']) {
    const variants = new Set(bmsc.filter((c) => c.procedure === procedure).map((c) => c.variant));
    expect([...variants].sort(), procedure).toEqual(['negative', 'positive']);
  }
});

test('the validated-cases file of a run stands in for the YAML while the suite files are unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cases-file-'));
  cpSync(SUITES_DIR, join(dir, 'suites'), { recursive: true });
  const suites = join(dir, 'suites');
  const file = join(dir, 'cases.json');
  writeCasesFile(file, suites);
  const fromYaml = loadCases('ue', suites);
  // mark the file's copy, to see which one the loader returns
  const json = JSON.parse(readFileSync(file, 'utf8')) as { cases: Record<string, { title: string }[]> };
  json.cases.ue![0]!.title = 'from the cases file';
  writeFileSync(file, JSON.stringify(json));
  const before = process.env[CASES_FILE_ENV];
  process.env[CASES_FILE_ENV] = file;
  try {
    const cached = loadCases('ue', suites);
    expect(cached[0]!.title).toBe('from the cases file');
    expect(cached.map((c) => c.id)).toEqual(fromYaml.map((c) => c.id));
    expect(JSON.parse(JSON.stringify(cached.slice(1)))).toEqual(JSON.parse(JSON.stringify(fromYaml.slice(1))));
    // another suites folder: not this file's
    expect(loadCases('ue')[0]!.title).not.toBe('from the cases file');
    // a suite file edited after the file was written: the YAML again
    const edited = join(suites, 'ue', '6.3.1-msk-request.yaml');
    utimesSync(edited, new Date(), new Date(Date.now() + 5_000));
    expect(loadCases('ue', suites)[0]!.title).toBe(fromYaml[0]!.title);
  } finally {
    if (before === undefined) delete process.env[CASES_FILE_ENV];
    else process.env[CASES_FILE_ENV] = before;
  }
});
