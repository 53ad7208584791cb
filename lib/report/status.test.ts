import { test, expect } from '@playwright/test';
import { allureReporterOptions, applyVerdictStatus } from './allure.ts';
import { mapVerdict } from '../suite/index.ts';
import { allure2Categories, allure3Categories, compareClauses, LABEL, verdictMessage, worstVerdict } from './status.ts';
import { VERDICTS, type Verdict } from './types.ts';

const result = (verdict: Verdict | undefined, status: string, message?: string) => ({
  status,
  ...(message !== undefined ? { statusDetails: { message } } : {}),
  labels: [{ name: 'feature', value: 'x' }, ...(verdict ? [{ name: LABEL.verdict, value: verdict }, { name: LABEL.clause, value: '6.3.2.1' }] : [])],
});

test('the reporter fix-up rewrites the status from the verdict label (what allure-playwright alone cannot say)', () => {
  // allure-playwright writes failed for FAIL, ERROR and INCONC alike (Playwright status failed)
  const err = result('ERROR', 'failed', 'Error: socket closed');
  applyVerdictStatus(err);
  expect(err.status).toBe('broken');
  expect(err.statusDetails!.message).toBe('ERROR [6.3.2.1] socket closed');
  const inconc = result('INCONC', 'failed', 'INCONC: precondition not met');
  applyVerdictStatus(inconc);
  expect(inconc.status).toBe('unknown');
  expect(inconc.statusDetails!.message).toBe('INCONC [6.3.2.1] INCONC: precondition not met');
  const fail = result('FAIL', 'failed', 'FAIL [6.3.2.1] mac');
  applyVerdictStatus(fail);
  expect(fail.status).toBe('failed');
  expect(fail.statusDetails!.message).toBe('FAIL [6.3.2.1] mac');
  const pass = result('PASS', 'passed');
  applyVerdictStatus(pass);
  expect(pass.status).toBe('passed');
});

test('a PASS label on a test that then timed out is not shown as passed', () => {
  const r = result('PASS', 'broken', 'Test timeout of 60000ms exceeded.');
  applyVerdictStatus(r);
  expect(r.status).toBe('broken');
  expect(r.statusDetails!.message).toMatch(/^ERROR \[6\.3\.2\.1\] Test timeout/);
});

test('results without a verdict label keep the status allure-playwright gave them', () => {
  const r = result(undefined, 'failed', 'crashed before the verdict');
  applyVerdictStatus(r);
  expect(r.status).toBe('failed');
  expect(r.statusDetails!.message).toBe('crashed before the verdict');
});

// Allure 2 picks the first category whose status and messageRegex (whole-message match) fit.
function allure2CategoryOf(categories: ReturnType<typeof allure2Categories>, status: string, message: string): string | undefined {
  return categories.find((c) => (!c.matchedStatuses || c.matchedStatuses.includes(status as never)) && (!c.messageRegex || new RegExp(`^(?:${c.messageRegex})$`).test(message)))?.name;
}

test('Allure 2 categories: FAIL by clause, INCONC and ERROR apart', () => {
  const cats = allure2Categories(['6.3.3', '6.3.1', '6.3.2.1', '6.3.1']);
  expect(cats.slice(0, 3).map((c) => c.name)).toEqual(['FAIL in clause 6.3.1', 'FAIL in clause 6.3.2.1', 'FAIL in clause 6.3.3']);
  expect(allure2CategoryOf(cats, 'failed', verdictMessage('FAIL', '6.3.2.1', 'MAC\nmulti-line'))).toBe('FAIL in clause 6.3.2.1');
  expect(allure2CategoryOf(cats, 'failed', verdictMessage('FAIL', '6.3.1', 'x'))).toBe('FAIL in clause 6.3.1');
  // "6.3.1" must not catch "6.3.10" nor "6X3X1"
  expect(allure2CategoryOf(cats, 'failed', verdictMessage('FAIL', '6.3.10', 'x'))).toBe('FAIL (other)');
  expect(allure2CategoryOf(cats, 'failed', 'FAIL [6X3X1] x')).toBe('FAIL (other)');
  expect(allure2CategoryOf(cats, 'unknown', verdictMessage('INCONC', '6.3.1', 'x'))).toBe('INCONC');
  expect(allure2CategoryOf(cats, 'broken', verdictMessage('ERROR', '6.3.1', 'x'))).toBe('ERROR (harness)');
  expect(allure2CategoryOf(cats, 'passed', '')).toBeUndefined();
});

test('Allure 3 categories match on the verdict label and group FAILs by clause', () => {
  const rules = allure3Categories();
  const fail = rules.find((r) => r.id === 'fail-by-clause')!;
  expect(fail.groupBy).toEqual([{ label: LABEL.clause }]);
  const labelMatcher = fail.matchers.find((m) => m.labels)!.labels![LABEL.verdict]!;
  expect(new RegExp(labelMatcher).test('FAIL')).toBe(true);
  expect(new RegExp(labelMatcher).test('NOT-FAIL')).toBe(false);
  expect(rules.map((r) => r.name)).toEqual(['FAIL by clause', 'INCONC', 'ERROR (harness)']);
});

test('clauses sort numerically; the worst verdict wins', () => {
  expect(['6.3.10', '6.3.2.1', '6.3.1', '6.3.2'].sort(compareClauses)).toEqual(['6.3.1', '6.3.2', '6.3.2.1', '6.3.10']);
  expect(worstVerdict(['PASS', 'INCONC', 'FAIL', 'PASS'])).toBe('FAIL');
  expect(worstVerdict(['FAIL', 'ERROR'])).toBe('ERROR');
  expect(worstVerdict(['NOT-APPLICABLE', 'PASS'])).toBe('PASS');
  expect(worstVerdict([])).toBeUndefined();
});

test('the listener gives every verdict the status lib/suite status-map intends, five verdicts five statuses', () => {
  // Start from what allure-playwright writes for the Playwright ending of each verdict, run the
  // reporter's beforeTestResultWrite listener as Allure would, and read what it leaves.
  const listener = allureReporterOptions({}).listeners[0]!.beforeTestResultWrite;
  const written = new Map<Verdict, string>();
  for (const v of VERDICTS) {
    const r = result(v, mapVerdict(v).allureTest, 'why');
    listener(r);
    expect(r.status, v).toBe(mapVerdict(v).allureIntended);
    written.set(v, r.status);
  }
  // Whatever the table says, the report must keep the five verdicts apart and never show INCONC
  // or ERROR as passed or as a SUT failure.
  expect(new Set(written.values()).size).toBe(VERDICTS.length);
  expect(written.get('PASS')).toBe('passed');
  for (const v of ['INCONC', 'ERROR'] as const) expect(['passed', 'failed', 'skipped'], v).not.toContain(written.get(v));
});
