import { test, expect } from '@playwright/test';
import { mapVerdict, verdictAnnotation, verdictFromOutcome, ConformanceFailure, HarnessFailure } from './status-map.ts';
import { VERDICTS, VerdictTracker, worse } from './verdict.ts';

test('the mapping is lossless: status + annotation give back the verdict, for every verdict and option', () => {
  for (const verdict of VERDICTS) {
    const mapped = mapVerdict(verdict);
    const back = verdictFromOutcome(mapped.playwright, [{ type: 'other' }, verdictAnnotation(verdict, 'because')]);
    expect(back, verdict).toBe(verdict);
  }
  // The five verdicts give five distinct (Playwright status, Allure status) pairs once the annotation or
  // label is read: nothing collapses.
  const pairs = new Set(VERDICTS.map((v) => `${mapVerdict(v).playwright}/${mapVerdict(v).allureIntended}`));
  expect(pairs.size).toBe(VERDICTS.length);
});

test('only PASS shows as passed; INCONC never does', () => {
  for (const verdict of VERDICTS) {
    const { playwright, allureTest, allureIntended } = mapVerdict(verdict);
    if (verdict === 'PASS') { expect(playwright).toBe('passed'); continue; }
    expect(playwright, verdict).not.toBe('passed');
    expect(allureTest, verdict).not.toBe('passed');
    expect(allureIntended, verdict).not.toBe('passed');
  }
  expect(mapVerdict('INCONC').playwright).toBe('failed');
  expect(mapVerdict('INCONC').allureIntended).toBe('unknown');
  expect(mapVerdict('NOT-APPLICABLE').playwright).toBe('skipped');
  expect(mapVerdict('ERROR').allureIntended).toBe('broken');
  expect(mapVerdict('FAIL').ending).toBe('assertion-error');
});

test('a timed-out or interrupted test is an ERROR whatever it claimed, never a PASS', () => {
  expect(verdictFromOutcome('timedOut', [verdictAnnotation('PASS')])).toBe('ERROR');
  expect(verdictFromOutcome('interrupted', [])).toBe('ERROR');
  expect(verdictFromOutcome('failed', [])).toBe('ERROR');
  expect(verdictFromOutcome('failed', [verdictAnnotation('PASS')])).toBe('ERROR');
  expect(verdictFromOutcome('passed', [])).toBeUndefined();
});

test('FAIL ends with an assertion-like error (Allure: failed), ERROR with a plain one (Allure step: broken)', () => {
  const failure = new ConformanceFailure('rspauth wrong', 'abc', 'abd');
  expect('matcherResult' in failure).toBe(true);
  const harness = new HarnessFailure('bind failed');
  expect('matcherResult' in harness || /assert/i.test(harness.name + harness.message)).toBe(false);
});

test('verdicts only get worse and the first FAIL is the headline', () => {
  const t = new VerdictTracker();
  expect(t.final()).toBe('INCONC'); // nothing checked yet
  t.pass('a', 'ok', { events: [1], frames: [1] });
  expect(t.final()).toBe('PASS');
  t.fail('b', 'first failure', 1, 2, { events: [2], frames: [2] });
  t.pass('c', 'ok again', { events: [3], frames: [3] });
  t.fail('d', 'second failure', 3, 4, { events: [4], frames: [4] });
  t.inconc('e', 'could not judge');
  expect(t.final()).toBe('FAIL');
  expect(t.reason()?.message).toBe('first failure');
  t.error('f', 'harness');
  expect(t.final()).toBe('ERROR');
  expect(worse('ERROR', 'PASS')).toBe('ERROR');
  expect(worse('NOT-APPLICABLE', 'INCONC')).toBe('INCONC');
});
