// The run plan: which conformance cases a run (or one shard of it) set out to run, and how each test
// ended as the terminal showed it. Written by the plan reporter at the start of the run (every case,
// none ended yet), as each case starts and ends, and at the run's end (its status), atomically each
// time. A run killed before its end leaves the last version: the report then knows what never ran
// (NOT-RUN), what was stopped mid-way (ERROR) and that the run did not finish. Reports are built from the case results *and* the plan, so an
// interrupted run can never read as a complete one.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findingTitle } from '../suite/verdict.ts';
import type { CaseResult, Finding, SutRole, Verdict } from './types.ts';

export const RUN_PLAN_FORMAT = 'mbms-conform-run-plan/1';
export const RUN_PLAN_FILE_PATTERN = /^run-plan(-[A-Za-z0-9_.-]+)?\.json$/;
/** Annotation type of a conformance test that carries its case description (JSON) for the plan. */
export const CASE_ANNOTATION = 'case';

/**
 * The verdicts a report shows: the five of a judged case, and NOT-RUN for a planned case that never
 * started (the run was interrupted first). NOT-RUN is never a verdict of lib/suite: no case judges it.
 */
export type ReportVerdict = Verdict | 'NOT-RUN';
export const REPORT_VERDICTS: readonly ReportVerdict[] = ['PASS', 'FAIL', 'INCONC', 'ERROR', 'NOT-APPLICABLE', 'NOT-RUN'];

/** What the plan knows of a case before it runs (from the suite: CaseDef). */
export interface PlannedCaseInfo {
  id: string; role: SutRole; clause: string; procedure: string; title: string; requirement: string;
  mandatory: boolean; severity: CaseResult['severity'];
}

export interface PlannedCase extends PlannedCaseInfo {
  /** Set when its test started: a case started and never ended was stopped mid-way (ERROR). */
  started?: boolean;
  /** How the test ended, as the terminal showed it; absent while (or because) it never ended. */
  outcome?: { verdict: ReportVerdict; reason: string; status: string };
}

export interface RunPlan {
  format: typeof RUN_PLAN_FORMAT;
  /** "2/4" for shard 2 of 4. */
  shard?: string;
  startedAt: number;
  endedAt?: number;
  /** Playwright's end status: passed, failed, interrupted, timedout; absent when the run never ended. */
  status?: string;
  cases: PlannedCase[];
}

export function caseAnnotation(info: PlannedCaseInfo): { type: string; description: string } {
  return { type: CASE_ANNOTATION, description: JSON.stringify(info) };
}

export function runPlanFileName(shard?: { current: number; total: number } | null): string {
  return shard && shard.total > 1 ? `run-plan-${shard.current}of${shard.total}.json` : 'run-plan.json';
}

export function writeRunPlan(plan: RunPlan, dir: string, file: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(plan, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}

export function readRunPlans(dir: string): { file: string; plan: RunPlan }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => RUN_PLAN_FILE_PATTERN.test(n)).sort()
    .map((n) => ({ file: n, plan: JSON.parse(readFileSync(join(dir, n), 'utf8')) as RunPlan }))
    .filter(({ plan }) => plan.format === RUN_PLAN_FORMAT);
}

/** A case as the reports show it: a judged CaseResult, or a planned case that ended unjudged or never ran. */
export type ReportedCase = Omit<CaseResult, 'verdict'> & {
  verdict: ReportVerdict;
  /** Why a case without a judged verdict has the one it has (NOT-RUN, or ERROR of a test that died unjudged). */
  note?: string;
};

export interface RunCompleteness {
  cases: ReportedCase[];
  /** True when some plan has no end, or ended interrupted or timed out. */
  interrupted: boolean;
  /** Cases that ran but ended without a verdict of their own (ERROR). */
  unjudged: string[];
  /** Of those, the cases whose test started and never ended (stopped by the interrupt): no terminal line showed them. */
  stoppedMidway: string[];
  notRun: string[];
}

const ENDED = new Set(['passed', 'failed']);

/**
 * Completes the judged cases with the plan: a planned case without a result becomes the verdict the
 * terminal showed (a test that died unjudged is ERROR; one skipped before its case ran NOT-APPLICABLE
 * if it said so) or NOT-RUN when it never ended; a judged case whose test ended worse than its verdict
 * (timed out after it) takes the terminal's ERROR. Without a plan the judged cases are all there is.
 */
export function completeWithPlan(judged: readonly CaseResult[], plans: readonly RunPlan[]): RunCompleteness {
  const byId = new Map<string, ReportedCase>(judged.map((c) => [c.id, c]));
  const unjudged: string[] = [];
  const stoppedMidway: string[] = [];
  const notRun: string[] = [];
  for (const plan of plans) {
    for (const p of plan.cases) {
      const seen = byId.get(p.id);
      if (seen) {
        if (p.outcome?.verdict === 'ERROR' && seen.verdict !== 'ERROR') byId.set(p.id, { ...seen, verdict: 'ERROR', note: p.outcome.reason });
        continue;
      }
      const base: Omit<ReportedCase, 'verdict'> = {
        id: p.id, role: p.role, clause: p.clause, procedure: p.procedure, title: p.title, requirement: p.requirement,
        references: [], severity: p.severity, tags: [], mandatory: p.mandatory, findings: [], steps: [], trace: [],
        sut: { name: '', role: p.role, embedded: false }, startedAt: plan.startedAt, durationMs: 0,
      };
      if (p.outcome && p.outcome.verdict !== 'NOT-RUN') {
        if (p.outcome.verdict === 'ERROR') unjudged.push(p.id);
        byId.set(p.id, { ...base, verdict: p.outcome.verdict, note: p.outcome.reason || `test ${p.outcome.status} without a verdict` });
      } else if (p.started && !p.outcome) {
        unjudged.push(p.id);
        stoppedMidway.push(p.id);
        byId.set(p.id, { ...base, verdict: 'ERROR', note: 'stopped by the interrupt before its verdict' });
      } else {
        notRun.push(p.id);
        byId.set(p.id, { ...base, verdict: 'NOT-RUN', note: p.outcome?.reason || (plan.status && ENDED.has(plan.status) ? 'not run' : 'the run was interrupted before this case ran') });
      }
    }
  }
  const interrupted = plans.some((p) => !p.status || !ENDED.has(p.status));
  return { cases: [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)), interrupted, unjudged, stoppedMidway, notRun };
}

/** The headline reason of a reported case: its first finding with its verdict, else its note. */
export function reportedReason(c: Pick<ReportedCase, 'verdict' | 'findings' | 'note'>): string {
  const first = c.findings.find((f: Finding) => f.verdict === c.verdict);
  return first ? findingTitle(first) : c.note ?? '';
}
