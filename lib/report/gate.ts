// Quality gates for CI: which verdicts make `mbms-conform run` / `report` exit non-zero.
import { QualityGateError } from './errors.ts';
import type { CaseResult, Verdict } from './types.ts';

export type QualityGate = 'no-fail' | 'mandatory-pass' | 'all-pass' | 'none';
export const QUALITY_GATES: readonly QualityGate[] = ['no-fail', 'mandatory-pass', 'all-pass', 'none'];

export interface GateViolation { id: string; clause: string; verdict: Verdict; mandatory: boolean; reason: string }
export interface GateResult { gate: QualityGate; passed: boolean; violations: GateViolation[]; cases: number }

export function parseGate(name: string): QualityGate {
  if ((QUALITY_GATES as readonly string[]).includes(name)) return name as QualityGate;
  throw new QualityGateError(name);
}

/**
 * - `no-fail` (default): no case is FAIL or ERROR (INCONC and NOT-APPLICABLE do not block).
 * - `mandatory-pass`: every mandatory case is PASS (a mandatory INCONC, ERROR or NOT-APPLICABLE
 *   blocks too: certification needs a positive verdict), and no case at all is FAIL or ERROR.
 * - `all-pass`: every case is PASS or NOT-APPLICABLE.
 * - `none`: never blocks (reports only).
 * A run with no case result at all never passes a gate other than `none`: nothing was tested.
 */
export function evaluateGate(cases: readonly Pick<CaseResult, 'id' | 'clause' | 'verdict' | 'mandatory' | 'findings'>[], gate: QualityGate = 'no-fail'): GateResult {
  const blocks = (c: (typeof cases)[number]): boolean => {
    switch (gate) {
      case 'none': return false;
      case 'no-fail': return c.verdict === 'FAIL' || c.verdict === 'ERROR';
      case 'mandatory-pass': return c.verdict === 'FAIL' || c.verdict === 'ERROR' || (c.mandatory && c.verdict !== 'PASS');
      case 'all-pass': return c.verdict !== 'PASS' && c.verdict !== 'NOT-APPLICABLE';
    }
  };
  const violations = cases.filter(blocks).map((c) => {
    const first = c.findings.find((f) => f.verdict === c.verdict);
    return { id: c.id, clause: c.clause, verdict: c.verdict, mandatory: c.mandatory, reason: first ? `${first.check}: ${first.message}` : '' };
  });
  const passed = gate === 'none' || (cases.length > 0 && violations.length === 0);
  return { gate, passed, violations, cases: cases.length };
}
