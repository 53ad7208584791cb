// Turns verifier outcomes into findings with evidence.
import type { CaseRun } from '../context.ts';
import type { Evidence } from '../verdict.ts';
import type { CheckOutcome } from '../verify/mikey.ts';

export function recordChecks(run: CaseRun, checks: readonly CheckOutcome[], evidence: Evidence): void {
  for (const c of checks) {
    if (c.ok) run.tracker.pass(c.check, c.message, evidence, c.actual);
    else run.tracker.fail(c.check, c.message, c.expected, c.actual, evidence);
  }
}

/** Passing checks of one message collapsed into one PASS finding; failures one finding each. */
export function recordMessageChecks(run: CaseRun, what: string, checks: readonly CheckOutcome[], evidence: Evidence): void {
  const passed = checks.filter((c) => c.ok);
  if (passed.length > 0) run.tracker.pass('mikey.checks', `${what}: ${passed.map((c) => c.check.replace(/^mikey\./, '')).join(', ')} ok`, evidence, passed.map((c) => c.message));
  for (const c of checks) {
    if (c.ok) continue;
    if (c.testerStarved) run.tracker.inconc(c.check, `${what}: ${c.message}`, evidence, { expected: c.expected, actual: c.actual, testerStarved: c.testerStarved });
    else run.tracker.fail(c.check, `${what}: ${c.message}`, c.expected, c.actual, evidence);
  }
}
