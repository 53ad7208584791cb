// A compact Playwright reporter for conformance runs: one line per case with its verdict (from
// the `verdict` annotation every conformance test carries, lib/suite status-map), and the totals.
// Used by `mbms-conform run` (MBMS_REPORTER=progress); library and e2e tests print as usual.
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestResult } from '@playwright/test/reporter';

type Shown = 'PASS' | 'FAIL' | 'INCONC' | 'ERROR' | 'NOT-APPLICABLE' | 'SKIPPED';

const COLOR: Record<Shown, string> = { PASS: '32', FAIL: '31', INCONC: '35', ERROR: '33', 'NOT-APPLICABLE': '90', SKIPPED: '90' };
const VERDICT = /^(PASS|FAIL|INCONC|ERROR|NOT-APPLICABLE)(?::\s*(.*))?$/s;

/** The verdict shown for a finished test: its last verdict annotation, else read from the Playwright status. */
export function shownVerdict(status: TestResult['status'], annotations: readonly { type: string; description?: string }[]): { verdict: Shown; reason: string } {
  const note = [...annotations].reverse().find((a) => a.type === 'verdict');
  const m = note?.description ? VERDICT.exec(note.description) : null;
  if (m) {
    // A test that timed out or was interrupted after its verdict: the harness broke (never better).
    if ((status === 'timedOut' || status === 'interrupted') || (m[1] === 'PASS' && status !== 'passed')) return { verdict: 'ERROR', reason: `test ${status} after verdict ${m[1]}` };
    return { verdict: m[1] as Shown, reason: m[2] ?? '' };
  }
  if (status === 'passed') return { verdict: 'PASS', reason: '' };
  if (status === 'skipped') return { verdict: 'SKIPPED', reason: '' };
  return { verdict: 'ERROR', reason: `test ${status} without a verdict` };
}

/**
 * One progress line: position, verdict, the case's title (which starts with its id, naming the role:
 * bmsc/6.3.1/02) and a note in parentheses. The reporter prints one per ended case; `mbms-conform run`
 * prints the same for a case Playwright never ended (stopped by an interrupt).
 */
export function progressLine(done: number, total: number, verdict: Shown, title: string, note: string, color = false): string {
  const tag = color ? `\u001b[${COLOR[verdict]}m${verdict.padEnd(14)}\u001b[0m` : verdict.padEnd(14);
  return `[${String(done).padStart(String(total).length)}/${total}] ${tag} ${title}  (${note})`;
}

export default class ProgressReporter implements Reporter {
  private readonly color = process.stdout.isTTY && !process.env.NO_COLOR;
  private readonly counts = new Map<Shown, number>();
  private total = 0;
  private done = 0;

  printsToStdio(): boolean { return true; }

  onBegin(_config: FullConfig, suite: Suite): void {
    this.total = suite.allTests().length;
    process.stdout.write(`Running ${this.total} case${this.total === 1 ? '' : 's'}\n`);
  }

  onTestEnd(test: TestCase, result: TestResult): void {
    // Only the final attempt counts (retries are reported by the final one).
    if (result.status !== 'passed' && result.status !== 'skipped' && result.retry < test.retries) return;
    this.done++;
    const annotations = (result as TestResult & { annotations?: TestCase['annotations'] }).annotations ?? test.annotations;
    const { verdict, reason } = shownVerdict(result.status, annotations);
    this.counts.set(verdict, (this.counts.get(verdict) ?? 0) + 1);
    const line = progressLine(this.done, this.total, verdict, test.title, `${Math.round(result.duration)} ms`, this.color);
    const indent = String(this.total).length * 2 + 3 + 16;
    process.stdout.write(`${line}${reason && verdict !== 'PASS' ? `\n${' '.repeat(indent)}${reason.split('\n')[0]}` : ''}\n`);
  }

  onError(error: { message?: string }): void {
    process.stderr.write(`error: ${error.message ?? String(error)}\n`);
  }

  onEnd(result: FullResult): void {
    const parts = [...this.counts.entries()].map(([v, n]) => `${n} ${v}`);
    process.stdout.write(`${parts.join(', ') || 'no case ran'} (${result.status})\n`);
  }
}
