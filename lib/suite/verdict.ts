// The verdict model of a conformance case (docs/architecture.md "Verdicts", DESIGN.md).
//
// Five values, ETSI style. During a case the verdict only gets worse (PASS < NOT-APPLICABLE < INCONC <
// FAIL < ERROR); the first finding that set the final verdict is the headline reason; a FAIL always
// carries expected vs actual and the evidence (trace event ids and pcap frame numbers) that proves it.
// A case in which no check passed cannot be PASS: "nothing was checked" is INCONC.

import { blameOf } from './rules.ts';
import type { TraceEvent } from './trace-types.ts';

export type Verdict = 'PASS' | 'FAIL' | 'INCONC' | 'ERROR' | 'NOT-APPLICABLE';

export const VERDICTS: readonly Verdict[] = ['PASS', 'NOT-APPLICABLE', 'INCONC', 'FAIL', 'ERROR'];

export interface Evidence { events: number[]; frames: number[] }

export interface Finding {
  verdict: Verdict; check: string; message: string;
  expected?: unknown; actual?: unknown;
  evidence: Evidence;
  step?: number;
  /**
   * The device whose behaviour the finding judges (rules.ts blameOf): set on every finding of a device
   * rule, live and offline alike; absent on findings about the run itself (capture, harness, preconditions).
   */
  blame?: Role;
  /**
   * Set on an INCONC that is the tester's own starvation, not the SUT's behaviour (context.ts
   * missedDeadline): what the tester got of the host during the window. A self-validation may run such a
   * case again; a report shows the figures.
   */
  testerStarved?: { wallMs: number; cpuMs: number; lagMs: number; longestStallMs: number };
}

export interface StepResult {
  index: number; action: string; title: string; verdict: Verdict;
  startedAt: number; durationMs: number; events: number[]; findings: Finding[];
}

export type Severity = 'blocker' | 'critical' | 'normal' | 'minor' | 'trivial';
export type Role = 'bmsc' | 'ue';

export interface CaseResult {
  id: string;
  role: Role; clause: string; procedure: string; title: string; requirement: string;
  references: string[]; severity: Severity; tags: string[];
  mandatory: boolean;
  verdict: Verdict; findings: Finding[]; steps: StepResult[];
  trace: TraceEvent[]; pcapPath?: string;
  sut: { name: string; role: Role; embedded: boolean; faults?: string[] };
  startedAt: number; durationMs: number;
}

const RANK: Record<Verdict, number> = { 'PASS': 0, 'NOT-APPLICABLE': 1, 'INCONC': 2, 'FAIL': 3, 'ERROR': 4 };

/** The worse of two verdicts. */
export function worse(a: Verdict, b: Verdict): Verdict {
  return RANK[b] > RANK[a] ? b : a;
}

/** True when `a` is strictly worse than `b`. */
export function isWorse(a: Verdict, b: Verdict): boolean {
  return RANK[a] > RANK[b];
}

/** Evidence from trace events: their ids and the union of their pcap frames, in order. */
export function evidenceOf(...events: (TraceEvent | undefined)[]): Evidence {
  const present = events.filter((e): e is TraceEvent => e !== undefined);
  const frames = [...new Set(present.flatMap((e) => e.frames))].sort((x, y) => x - y);
  return { events: present.map((e) => e.id), frames };
}

export const NO_EVIDENCE: Evidence = Object.freeze({ events: [], frames: [] }) as Evidence;

/**
 * Collects the findings of one case. The running verdict starts at PASS but `result()` only returns PASS
 * when at least one PASS finding was recorded; the verdict never improves once worsened.
 */
export class VerdictTracker {
  /** The side under test: the blame of rules that judge whichever side is under test (rules.ts). */
  constructor(readonly sutRole?: Role) {}

  #verdict: Verdict = 'PASS';
  #findings: Finding[] = [];
  #step?: number;

  get verdict(): Verdict { return this.#verdict; }
  get findings(): readonly Finding[] { return this.#findings; }

  /** Subsequent findings are attributed to this step index (undefined: case level). */
  atStep(index: number | undefined): void { this.#step = index; }

  add(finding: Finding): Finding {
    const blame = finding.blame ?? blameOf(finding.check, this.sutRole);
    const withStep: Finding = {
      ...finding,
      ...(finding.step === undefined && this.#step !== undefined ? { step: this.#step } : {}),
      ...(blame ? { blame } : {}),
    };
    this.#findings.push(withStep);
    this.#verdict = worse(this.#verdict, withStep.verdict);
    return withStep;
  }

  pass(check: string, message: string, evidence: Evidence, actual?: unknown): Finding {
    return this.add({ verdict: 'PASS', check, message, evidence, ...(actual !== undefined ? { actual } : {}) });
  }

  /** A FAIL must say what was expected, what was seen and where (DESIGN.md: failures are data). */
  fail(check: string, message: string, expected: unknown, actual: unknown, evidence: Evidence): Finding {
    return this.add({ verdict: 'FAIL', check, message, expected, actual, evidence });
  }

  inconc(check: string, message: string, evidence: Evidence = NO_EVIDENCE, detail?: Pick<Finding, 'expected' | 'actual' | 'testerStarved'>): Finding {
    return this.add({ verdict: 'INCONC', check, message, evidence, ...detail });
  }

  error(check: string, message: string, evidence: Evidence = NO_EVIDENCE): Finding {
    return this.add({ verdict: 'ERROR', check, message, evidence });
  }

  notApplicable(check: string, message: string): Finding {
    return this.add({ verdict: 'NOT-APPLICABLE', check, message, evidence: { events: [], frames: [] } });
  }

  /** Final verdict: PASS only when something passed; otherwise at least INCONC. */
  final(): Verdict {
    if (this.#verdict === 'PASS' && !this.#findings.some((f) => f.verdict === 'PASS')) return 'INCONC';
    return this.#verdict;
  }

  /** The headline: the first finding carrying the final verdict (the first FAIL for a FAIL). */
  reason(): Finding | undefined {
    const v = this.final();
    return this.#findings.find((f) => f.verdict === v);
  }
}

/** The headline finding of a finished case: the first one with the case's verdict. */
export function headline(result: Pick<CaseResult, 'verdict' | 'findings'>): Finding | undefined {
  return result.findings.find((f) => f.verdict === result.verdict);
}

/** The device names of the reports. */
export const SIDE_NAMES: Readonly<Record<Role, string>> = { bmsc: 'BM-SC', ue: 'UE' };

/** A finding's headline: "[UE] ack.iff-v: ..." (the blamed side first, when it judges a device). */
export function findingTitle(f: Pick<Finding, 'check' | 'message' | 'blame'>): string {
  return `${f.blame ? `[${SIDE_NAMES[f.blame]}] ` : ''}${f.check}: ${f.message}`;
}
