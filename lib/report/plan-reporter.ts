// Playwright reporter that writes the run plan (lib/report/run-plan.ts) into the results directory:
// every conformance test of this run or shard at the start, each outcome as the terminal shows it
// (shownVerdict, the same reading as the progress reporter) and the run's end status at the end.
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestResult } from '@playwright/test/reporter';
import { shownVerdict } from './progress-reporter.ts';
import { defaultResultsDir } from './results.ts';
import { CASE_ANNOTATION, RUN_PLAN_FORMAT, runPlanFileName, writeRunPlan, type PlannedCase, type PlannedCaseInfo, type RunPlan } from './run-plan.ts';

export default class PlanReporter implements Reporter {
  #plan: RunPlan | undefined;
  #file = 'run-plan.json';
  #byTest = new Map<string, PlannedCase>();
  readonly #dir = defaultResultsDir();

  printsToStdio(): boolean { return false; }

  onBegin(config: FullConfig, suite: Suite): void {
    const cases: PlannedCase[] = [];
    for (const test of suite.allTests()) {
      const note = test.annotations.find((a) => a.type === CASE_ANNOTATION);
      if (!note?.description) continue;
      const info = JSON.parse(note.description) as PlannedCaseInfo;
      const planned: PlannedCase = { ...info };
      cases.push(planned);
      this.#byTest.set(test.id, planned);
    }
    if (cases.length === 0) return; // not a conformance run (library tests only)
    this.#file = runPlanFileName(config.shard);
    this.#plan = { format: RUN_PLAN_FORMAT, ...(config.shard && config.shard.total > 1 ? { shard: `${config.shard.current}/${config.shard.total}` } : {}), startedAt: Date.now(), cases };
    writeRunPlan(this.#plan, this.#dir, this.#file);
  }

  // Written as each case starts and ends: a Playwright killed before its end (a second interrupt,
  // the run command's stop watchdog) leaves every outcome so far and the case it was running.
  onTestBegin(test: TestCase): void {
    const planned = this.#byTest.get(test.id);
    if (!planned || !this.#plan) return;
    planned.started = true;
    writeRunPlan(this.#plan, this.#dir, this.#file);
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    const planned = this.#byTest.get(test.id);
    if (!planned || !this.#plan) return;
    if (result.status !== 'passed' && result.status !== 'skipped' && result.retry < test.retries) return;
    const annotations = (result as TestResult & { annotations?: TestCase['annotations'] }).annotations ?? test.annotations;
    const shown = shownVerdict(result.status, annotations);
    planned.outcome = { verdict: shown.verdict === 'SKIPPED' ? 'NOT-RUN' : shown.verdict, reason: shown.reason, status: result.status };
    writeRunPlan(this.#plan, this.#dir, this.#file);
  }

  onEnd(result: FullResult): void {
    if (!this.#plan) return;
    this.#plan.endedAt = Date.now();
    this.#plan.status = result.status;
    writeRunPlan(this.#plan, this.#dir, this.#file);
  }
}
