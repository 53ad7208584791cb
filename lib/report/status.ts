// How a verdict (DESIGN.md "Verdicts", ETSI style) shows in the report: labels, status messages and
// categories. The verdict -> Playwright/Allure status table itself lives in one place, lib/suite
// status-map (`mapVerdict`); the report reads `allureIntended` from it and never keeps its own copy.
import { findingTitle, type AllureStatus } from '../suite/index.ts';
import type { CaseResult, Verdict } from './types.ts';

export type { AllureStatus } from '../suite/index.ts';

/** Label names the report puts on every case; categories and the status fix-up match on them. */
export const LABEL = {
  caseId: 'caseId',
  verdict: 'verdict',
  clause: 'clause',
  procedure: 'procedure',
  sutRole: 'sutRole',
  mandatory: 'mandatory',
} as const;

/** Epic of every case (Allure behaviours tree: epic > feature > story). */
export const EPIC = 'TS 33.246 key management';

export function parentSuiteForRole(role: 'bmsc' | 'ue'): string {
  return role === 'bmsc' ? 'BM-SC under test' : 'UE under test';
}

/**
 * The status message that leads a non-passing case in the report: `<VERDICT> [<clause>] <reason>`.
 * Allure 2 categories match on it (categories.json has only message and status matchers).
 */
export function verdictMessage(verdict: Verdict, clause: string, reason: string): string {
  return `${verdict} [${clause}]${reason ? ` ${reason}` : ''}`;
}

/** The first reason of the verdict: the first finding with the case's verdict (DESIGN.md: first FAIL reason is kept). */
export function verdictReason(result: Pick<CaseResult, 'verdict' | 'findings'>): string {
  const first = result.findings.find((f) => f.verdict === result.verdict) ?? result.findings.find((f) => f.verdict !== 'PASS');
  return first ? findingTitle(first) : '';
}

const regexEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** An Allure 2 category (categories.json in the results directory). */
export interface Allure2Category { name: string; matchedStatuses?: AllureStatus[]; messageRegex?: string; traceRegex?: string; description?: string }

/**
 * Allure 2 categories: FAIL split by clause (the clauses of this run), then INCONC, then ERROR.
 * Allure 2 takes the first category that matches and compares `messageRegex` against the
 * whole message, hence the trailing `[\s\S]*`.
 */
export function allure2Categories(clauses: Iterable<string>): Allure2Category[] {
  const sorted = [...new Set(clauses)].sort(compareClauses);
  return [
    ...sorted.map((clause) => ({
      name: `FAIL in clause ${clause}`,
      description: `The SUT failed a requirement of TS 33.246 clause ${clause}`,
      matchedStatuses: ['failed' as const],
      messageRegex: `FAIL \\[${regexEscape(clause)}\\][\\s\\S]*`,
    })),
    { name: 'FAIL (other)', matchedStatuses: ['failed'], description: 'A SUT failure whose clause is not known to the report' },
    { name: 'INCONC', matchedStatuses: ['unknown'], description: 'Inconclusive: the SUT did something the case cannot judge (e.g. a precondition not met)' },
    { name: 'ERROR (harness)', matchedStatuses: ['broken'], description: 'The harness itself broke; not a verdict on the SUT' },
  ];
}

/** An Allure 3 category rule (allurerc `categories`); matches on labels and groups FAILs by clause. */
export interface Allure3CategoryRule {
  id: string; name: string;
  matchers: { labels?: Record<string, string>; statuses?: AllureStatus[] }[];
  groupBy?: ({ label: string } | 'severity' | 'status')[];
  expand?: boolean;
}

export function allure3Categories(): Allure3CategoryRule[] {
  return [
    { id: 'fail-by-clause', name: 'FAIL by clause', matchers: [{ labels: { [LABEL.verdict]: '^FAIL$' } }, { statuses: ['failed'] }], groupBy: [{ label: LABEL.clause }], expand: true },
    { id: 'inconc', name: 'INCONC', matchers: [{ labels: { [LABEL.verdict]: '^INCONC$' } }, { statuses: ['unknown'] }], groupBy: [{ label: LABEL.clause }] },
    { id: 'error', name: 'ERROR (harness)', matchers: [{ labels: { [LABEL.verdict]: '^ERROR$' } }, { statuses: ['broken'] }] },
  ];
}

/** Orders clause numbers numerically, part by part ("6.3.2.1" < "6.3.10"). */
export function compareClauses(a: string, b: string): number {
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = Number(x);
    const ny = Number(y);
    if (Number.isFinite(nx) && Number.isFinite(ny) && nx !== ny) return nx - ny;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Severity order of verdicts: a verdict only gets worse (architecture.md, "Verdicts"). */
const VERDICT_RANK: Readonly<Record<Verdict, number>> = { 'NOT-APPLICABLE': 0, PASS: 1, INCONC: 2, FAIL: 3, ERROR: 4 };
export function worstVerdict(verdicts: Iterable<Verdict>): Verdict | undefined {
  let worst: Verdict | undefined;
  for (const v of verdicts) if (worst === undefined || VERDICT_RANK[v] > VERDICT_RANK[worst]) worst = v;
  return worst;
}
