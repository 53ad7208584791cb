// The one place where a conformance verdict becomes a Playwright test status and an Allure status.
//
// Playwright knows passed / failed / timedOut / skipped / interrupted; Allure knows passed / failed /
// broken / skipped / unknown. Neither has five verdicts, so the mapping alone would lose information
// (FAIL and ERROR both end as Playwright "failed"; INCONC and NOT-APPLICABLE both end as "skipped").
// The scheme is made lossless by an annotation that every conformance test carries, whatever its verdict:
// `{ type: 'verdict', description: '<VERDICT>[: <headline reason>]' }`. `verdictFromOutcome` recovers
// the exact verdict from (status, annotations), and the unit test proves the round trip for all five.
//
//   verdict         Playwright   how the test ends                          Allure (after lib/report's fix-up)
//   PASS            passed       returns normally                           passed
//   FAIL            failed       throws ConformanceFailure (an assertion)   failed
//   ERROR           failed       throws HarnessFailure (not an assertion)   broken
//   INCONC          failed       throws InconclusiveFailure                 unknown
//   NOT-APPLICABLE  skipped      testInfo.skip(reason)                      skipped
//
// INCONC is never shown as passed and never hidden as skipped: a run with an unjudged case cannot
// certify anything, so it fails the Playwright run (exit code, JUnit), while Allure keeps it apart from
// SUT failures as "unknown" and ERROR as "broken". allure-playwright alone derives the Allure status from
// the Playwright status (failed -> failed), so `allureTest` is what it writes and `allureIntended` what
// lib/report's applyVerdictStatus rewrites it to from the verdict label (lib/report reads this table,
// it keeps no copy of its own).

import type { Verdict } from './verdict.ts';

export type PlaywrightStatus = 'passed' | 'failed' | 'timedOut' | 'skipped' | 'interrupted';
export type AllureStatus = 'passed' | 'failed' | 'broken' | 'skipped' | 'unknown';

export interface StatusMapping {
  playwright: PlaywrightStatus;
  /** The test status allure-playwright writes for `playwright`. */
  allureTest: AllureStatus;
  /** The Allure status that says the verdict best (lib/report may rewrite results to it). */
  allureIntended: AllureStatus;
  /** How the Playwright test body must end to produce `playwright`. */
  ending: 'return' | 'assertion-error' | 'error' | 'inconclusive' | 'skip';
}

export const VERDICT_ANNOTATION = 'verdict';

export function mapVerdict(verdict: Verdict): StatusMapping {
  switch (verdict) {
    case 'PASS': return { playwright: 'passed', allureTest: 'passed', allureIntended: 'passed', ending: 'return' };
    case 'FAIL': return { playwright: 'failed', allureTest: 'failed', allureIntended: 'failed', ending: 'assertion-error' };
    case 'ERROR': return { playwright: 'failed', allureTest: 'failed', allureIntended: 'broken', ending: 'error' };
    case 'INCONC': return { playwright: 'failed', allureTest: 'failed', allureIntended: 'unknown', ending: 'inconclusive' };
    case 'NOT-APPLICABLE': return { playwright: 'skipped', allureTest: 'skipped', allureIntended: 'skipped', ending: 'skip' };
  }
}

/** The annotation every conformance test carries. */
export function verdictAnnotation(verdict: Verdict, reason?: string): { type: string; description: string } {
  return { type: VERDICT_ANNOTATION, description: reason ? `${verdict}: ${reason}` : verdict };
}

const VERDICT_PREFIX = /^(PASS|FAIL|INCONC|ERROR|NOT-APPLICABLE)(?::|$)/;

/**
 * The inverse mapping: the verdict of a finished conformance test from its status and annotations.
 * Returns undefined when the test carries no verdict annotation (it did not get as far as a verdict;
 * a timed-out or interrupted test without one is an ERROR of the harness, never a PASS).
 */
export function verdictFromOutcome(status: PlaywrightStatus, annotations: readonly { type: string; description?: string }[]): Verdict | undefined {
  const note = [...annotations].reverse().find((a) => a.type === VERDICT_ANNOTATION);
  const match = note?.description?.match(VERDICT_PREFIX);
  if (match) {
    const verdict = match[1] as Verdict;
    // A verdict annotation that contradicts the status means the test ended otherwise than mapped
    // (e.g. a Playwright timeout after the verdict): the worse, harness-side reading wins.
    if (status === 'timedOut' || status === 'interrupted') return 'ERROR';
    if (verdict === 'PASS' && status !== 'passed') return 'ERROR';
    return verdict;
  }
  if (status === 'timedOut' || status === 'interrupted' || status === 'failed') return 'ERROR';
  return undefined;
}

/** Thrown to end a test as FAIL; Allure classifies assertion-like errors (a `matcherResult`) as failed. */
export class ConformanceFailure extends Error {
  readonly matcherResult: { pass: false; message: string; expected?: unknown; actual?: unknown };
  constructor(message: string, expected?: unknown, actual?: unknown) {
    super(message);
    this.name = 'ConformanceFailure';
    this.matcherResult = { pass: false, message, expected, actual };
  }
}

/** Thrown to end a test as ERROR (harness fault): Allure step broken, test broken after lib/report's fix-up. */
export class HarnessFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarnessFailure';
  }
}

/** Thrown to end a test as INCONC: the case could not judge the SUT (precondition not met, no trigger). */
export class InconclusiveFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InconclusiveFailure';
  }
}
