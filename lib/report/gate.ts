// Quality gates for CI: which verdicts make `mbms-conform run` / `report` exit non-zero.
//
// A gate says whether the SUT was *shown* to conform. INCONC ("not shown to conform"), ERROR (the
// harness broke) and NOT-RUN (never tried) show nothing, so every gate but `none` fails on them when
// the case is mandatory, and the default gate fails on them for any case. A run in which no case
// PASSed (a dead SUT gives INCONC everywhere), a run that was interrupted, or one with a test that
// died without a verdict, never passes a gate but `none`.
import { QualityGateError } from './errors.ts';
import { reportedReason, type ReportVerdict, type ReportedCase } from './run-plan.ts';

export type QualityGate = 'no-fail' | 'mandatory-pass' | 'all-pass' | 'none';
export const QUALITY_GATES: readonly QualityGate[] = ['no-fail', 'mandatory-pass', 'all-pass', 'none'];

export interface GateViolation { id: string; clause: string; verdict: ReportVerdict; mandatory: boolean; reason: string }
export interface GateResult {
  gate: QualityGate; passed: boolean;
  /** One line: why the gate failed, or what it checked when it passed. */
  reason: string;
  violations: GateViolation[]; cases: number;
  interrupted: boolean;
}

export function parseGate(name: string): QualityGate {
  if ((QUALITY_GATES as readonly string[]).includes(name)) return name as QualityGate;
  throw new QualityGateError(name);
}

export const GATE_DESCRIPTIONS: Record<QualityGate, string> = {
  'no-fail': 'no case FAIL, ERROR, INCONC or NOT-RUN (NOT-APPLICABLE allowed), at least one PASS, run complete',
  'mandatory-pass': 'every mandatory case PASS, no case FAIL, ERROR, INCONC or NOT-RUN, run complete',
  'all-pass': 'every case PASS or NOT-APPLICABLE, at least one PASS, run complete',
  none: 'never blocks (report only)',
};

type GatedCase = Pick<ReportedCase, 'id' | 'clause' | 'verdict' | 'mandatory' | 'findings'> & { note?: string };

const SHOWS_NOTHING: readonly ReportVerdict[] = ['FAIL', 'ERROR', 'INCONC', 'NOT-RUN'];

export function evaluateGate(cases: readonly GatedCase[], gate: QualityGate = 'no-fail', run: { interrupted?: boolean } = {}): GateResult {
  const interrupted = run.interrupted ?? false;
  const blocks = (c: GatedCase): boolean => {
    switch (gate) {
      case 'none': return false;
      case 'no-fail': return SHOWS_NOTHING.includes(c.verdict);
      case 'mandatory-pass': return SHOWS_NOTHING.includes(c.verdict) || (c.mandatory && c.verdict !== 'PASS');
      case 'all-pass': return c.verdict !== 'PASS' && c.verdict !== 'NOT-APPLICABLE';
    }
  };
  const violations = cases.filter(blocks).map((c) => ({ id: c.id, clause: c.clause, verdict: c.verdict, mandatory: c.mandatory, reason: reportedReason(c) }));
  const passes = cases.filter((c) => c.verdict === 'PASS').length;
  if (gate === 'none') return { gate, passed: true, reason: GATE_DESCRIPTIONS.none, violations, cases: cases.length, interrupted };
  const why: string[] = [];
  if (interrupted) why.push('the run was interrupted');
  if (cases.length === 0) why.push('no case was run');
  else if (passes === 0) why.push('no case PASSed (is the SUT answering?)');
  if (violations.length) {
    const counts = new Map<string, number>();
    for (const v of violations) counts.set(v.verdict, (counts.get(v.verdict) ?? 0) + 1);
    why.push(`${violations.length} case${violations.length === 1 ? '' : 's'} not shown to conform (${[...counts].map(([v, n]) => `${n} ${v}`).join(', ')})`);
  }
  const passed = why.length === 0;
  return { gate, passed, reason: passed ? `${passes} PASS; ${GATE_DESCRIPTIONS[gate]}` : why.join('; '), violations, cases: cases.length, interrupted };
}
