// The per-clause summary printed at the end of a run (and by `mbms-conform report`).
import { compareClauses, parentSuiteForRole } from './status.ts';
import type { ReportVerdict, ReportedCase } from './run-plan.ts';
import type { SutRole } from './types.ts';

export interface ClauseRow { role: SutRole; clause: string; procedure: string; counts: Record<ReportVerdict, number>; total: number }

const zero = (): Record<ReportVerdict, number> => ({ PASS: 0, FAIL: 0, INCONC: 0, ERROR: 0, 'NOT-APPLICABLE': 0, 'NOT-RUN': 0 });

type Counted = Pick<ReportedCase, 'role' | 'clause' | 'procedure' | 'verdict'>;

export function clauseSummary(cases: readonly Counted[]): ClauseRow[] {
  const rows = new Map<string, ClauseRow>();
  for (const c of cases) {
    const key = `${c.role}\u0000${c.clause}`;
    const row = rows.get(key) ?? { role: c.role, clause: c.clause, procedure: c.procedure, counts: zero(), total: 0 };
    row.counts[c.verdict]++;
    row.total++;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => (a.role === b.role ? compareClauses(a.clause, b.clause) : a.role < b.role ? -1 : 1));
}

export function verdictTotals(cases: readonly Pick<ReportedCase, 'verdict'>[]): Record<ReportVerdict, number> {
  const t = zero();
  for (const c of cases) t[c.verdict]++;
  return t;
}

/** A plain-text table: one line per (role, clause), then the totals. */
export function formatClauseSummary(cases: readonly Counted[]): string {
  const rows = clauseSummary(cases);
  // The NOT-RUN column appears only when some case did not run (an interrupted run).
  const notRun = cases.some((c) => c.verdict === 'NOT-RUN');
  const cols: ReportVerdict[] = ['PASS', 'FAIL', 'INCONC', 'ERROR', 'NOT-APPLICABLE', ...(notRun ? ['NOT-RUN' as const] : [])];
  const head = ['SUT role', 'clause', 'procedure', 'PASS', 'FAIL', 'INCONC', 'ERROR', 'N/A', ...(notRun ? ['NOT-RUN'] : [])];
  const body = rows.map((r) => [parentSuiteForRole(r.role), r.clause, r.procedure, ...cols.map((v) => String(r.counts[v]))]);
  const totals = verdictTotals(cases);
  body.push(['total', '', `${cases.length} cases`, ...cols.map((v) => String(totals[v]))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.slice(0, -1).map(line), widths.map((w) => '-'.repeat(w)).join('  '), line(body[body.length - 1]!)].join('\n') + '\n';
}
