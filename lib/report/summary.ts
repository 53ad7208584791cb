// The per-clause summary printed at the end of a run (and by `mbms-conform report`).
import { compareClauses, parentSuiteForRole } from './status.ts';
import type { CaseResult, SutRole, Verdict } from './types.ts';

export interface ClauseRow { role: SutRole; clause: string; procedure: string; counts: Record<Verdict, number>; total: number }

const zero = (): Record<Verdict, number> => ({ PASS: 0, FAIL: 0, INCONC: 0, ERROR: 0, 'NOT-APPLICABLE': 0 });

export function clauseSummary(cases: readonly Pick<CaseResult, 'role' | 'clause' | 'procedure' | 'verdict'>[]): ClauseRow[] {
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

export function verdictTotals(cases: readonly Pick<CaseResult, 'verdict'>[]): Record<Verdict, number> {
  const t = zero();
  for (const c of cases) t[c.verdict]++;
  return t;
}

/** A plain-text table: one line per (role, clause), then the totals. */
export function formatClauseSummary(cases: readonly Pick<CaseResult, 'role' | 'clause' | 'procedure' | 'verdict'>[]): string {
  const rows = clauseSummary(cases);
  const cols: Verdict[] = ['PASS', 'FAIL', 'INCONC', 'ERROR', 'NOT-APPLICABLE'];
  const head = ['SUT role', 'clause', 'procedure', 'PASS', 'FAIL', 'INCONC', 'ERROR', 'N/A'];
  const body = rows.map((r) => [parentSuiteForRole(r.role), r.clause, r.procedure, ...cols.map((v) => String(r.counts[v]))]);
  const totals = verdictTotals(cases);
  body.push(['total', '', `${cases.length} cases`, ...cols.map((v) => String(totals[v]))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.slice(0, -1).map(line), widths.map((w) => '-'.repeat(w)).join('  '), line(body[body.length - 1]!)].join('\n') + '\n';
}
