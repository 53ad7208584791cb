// One procedure instance found in a capture (an MSK request, a push, a solicited pull, the MTK updates of
// one MSK) and its findings, with bounds: a capture of a million MTK messages must not keep a million
// findings or events. PASS findings are counted per check (the first few kept as examples); non-PASS
// findings are kept up to a cap per check and the rest counted; events are kept up to a cap, plus every
// event a kept non-PASS finding cites.
import { decodeMikeyFields, type TraceEvent } from '../../trace/index.ts';
import { blameOf } from '../rules.ts';
import { evidenceOf, worse, type Evidence, type Finding, type Role, type Verdict } from '../verdict.ts';

export type ProcedureKind = 'msk-request' | 'msk-push' | 'solicited-pull' | 'mtk-update' | 'unattributed';

export const PROCEDURE_INFO: Record<ProcedureKind, { clause: string; title: string }> = {
  'msk-request': { clause: '6.3.1', title: 'UE-initiated MSK request' },
  'msk-push': { clause: '6.3.2.1', title: 'BM-SC push of an MSK' },
  'solicited-pull': { clause: '6.3.2.1', title: 'push solicited pull' },
  'mtk-update': { clause: '6.3.3', title: 'MTK update' },
  'unattributed': { clause: '6.3', title: 'traffic of no procedure' },
};

export type CheckCounts = Record<Verdict, number>;
export const zeroCounts = (): CheckCounts => ({ 'PASS': 0, 'NOT-APPLICABLE': 0, 'INCONC': 0, 'FAIL': 0, 'ERROR': 0 });

/** A finished procedure instance as reported (JSON-serializable apart from event Buffers). */
export interface ProcedureResult {
  /** Stable within one capture: '<procedure>#<n>' in order of the first event. */
  id: string;
  procedure: ProcedureKind;
  clause: string;
  title: string;
  /** B-TID when known, else the UE's address (and MIKEY port). */
  ue?: string;
  verdict: Verdict;
  /** Kept findings (PASS examples, non-PASS up to the cap), in the order they were made. */
  findings: Finding[];
  /** Every judgement made, per check and verdict (including those not kept). */
  checks: Record<string, CheckCounts>;
  /** Non-PASS findings beyond the cap (counted in `checks`, not kept). */
  omittedFindings: number;
  /** Kept events (the first ones and every one a kept non-PASS finding cites), by id. */
  events: TraceEvent[];
  eventCount: number;
  startTime: number;
  endTime: number;
  firstFrame: number;
  lastFrame: number;
}

export interface InstanceLimits { passExamples: number; findingsPerCheck: number; events: number }
export const DEFAULT_LIMITS: InstanceLimits = { passExamples: 2, findingsPerCheck: 20, events: 60 };

export class ProcedureInstance {
  readonly findings: Finding[] = [];
  readonly checks: Record<string, CheckCounts> = {};
  readonly events = new Map<number, TraceEvent>();
  eventCount = 0;
  omittedFindings = 0;
  startTime = Number.POSITIVE_INFINITY;
  endTime = Number.NEGATIVE_INFINITY;
  firstFrame = Number.POSITIVE_INFINITY;
  lastFrame = 0;
  ue?: string;
  closed = false;
  #verdict: Verdict = 'PASS';
  /** Per check: its counts (the object in `checks`) and the findings kept so far, PASS and other. */
  #tallies = new Map<string, { counts: CheckCounts; keptPass: number; keptOther: number }>();

  constructor(readonly id: string, readonly procedure: ProcedureKind, private readonly limits: InstanceLimits, private readonly onFinding: (check: string, verdict: Verdict) => void) {}

  /** Records an event of the procedure; its buffers are kept only while under the event cap. */
  addEvent(event: TraceEvent): void {
    this.eventCount++;
    if (event.time < this.startTime) this.startTime = event.time;
    if (event.time > this.endTime) this.endTime = event.time;
    for (const f of event.frames) {
      if (f < this.firstFrame) this.firstFrame = f;
      if (f > this.lastFrame) this.lastFrame = f;
    }
    if (this.events.size < this.limits.events) this.events.set(event.id, event);
  }

  /**
   * Counts a finding (per check and verdict, for this instance and through onFinding for the run) and
   * says whether it is kept: PASS findings up to `passExamples` per check, others up to `findingsPerCheck`.
   * A finding past its cap is only counted, so nothing of it is built (this runs for every message).
   */
  #record(check: string, verdict: Verdict): boolean {
    let tally = this.#tallies.get(check);
    if (!tally) {
      tally = { counts: zeroCounts(), keptPass: 0, keptOther: 0 };
      this.#tallies.set(check, tally);
      this.checks[check] = tally.counts;
    }
    tally.counts[verdict]++;
    this.onFinding(check, verdict);
    if (verdict === 'PASS') {
      if (tally.keptPass >= this.limits.passExamples) return false;
      tally.keptPass++;
      return true;
    }
    this.#verdict = worse(this.#verdict, verdict);
    if (tally.keptOther >= this.limits.findingsPerCheck) {
      this.omittedFindings++;
      return false;
    }
    tally.keptOther++;
    return true;
  }

  add(found: Finding, cited: (TraceEvent | undefined)[] = []): void {
    if (this.#record(found.check, found.verdict)) this.#keep(found, cited);
  }

  /** A kept finding: blamed on the side its rule judges (rules.ts), with the events it cites. */
  #keep(found: Finding, cited: (TraceEvent | undefined)[]): void {
    const blame = found.blame ?? blameOf(found.check);
    this.findings.push(blame ? { ...found, blame } : found);
    // The events a kept failure cites stay with it, whatever the event cap (the report shows them).
    if (found.verdict !== 'PASS') for (const e of cited) if (e) this.events.set(e.id, e);
  }

  pass(check: string, message: string, cited: (TraceEvent | undefined)[], actual?: unknown, blame?: Role): void {
    if (!this.#record(check, 'PASS')) return;
    this.#keep({ verdict: 'PASS', check, message, evidence: evidenceOf(...cited), ...(actual !== undefined ? { actual } : {}), ...(blame ? { blame } : {}) }, cited);
  }

  fail(check: string, message: string, expected: unknown, actual: unknown, cited: (TraceEvent | undefined)[], blame?: Role): void {
    if (!this.#record(check, 'FAIL')) return;
    this.#keep({ verdict: 'FAIL', check, message, expected, actual, evidence: evidenceOf(...cited), ...(blame ? { blame } : {}) }, cited);
  }

  inconc(check: string, message: string, cited: (TraceEvent | undefined)[] = [], detail: { expected?: unknown; actual?: unknown } = {}): void {
    if (!this.#record(check, 'INCONC')) return;
    this.#keep({ verdict: 'INCONC', check, message, evidence: evidenceOf(...cited), ...detail }, cited);
  }

  notApplicable(check: string, message: string): void {
    this.add({ verdict: 'NOT-APPLICABLE', check, message, evidence: { events: [], frames: [] } });
  }

  /** PASS only when something passed (lib/suite/verdict.ts: "nothing was checked" is INCONC). */
  get verdict(): Verdict {
    const anyPass = Object.values(this.checks).some((c) => c.PASS > 0);
    if (this.#verdict === 'PASS' && !anyPass) return 'INCONC';
    return this.#verdict;
  }

  result(): ProcedureResult {
    const info = PROCEDURE_INFO[this.procedure];
    return {
      id: this.id, procedure: this.procedure, clause: info.clause, title: info.title, ...(this.ue ? { ue: this.ue } : {}),
      verdict: this.verdict, findings: this.findings, checks: this.checks, omittedFindings: this.omittedFindings,
      events: [...this.events.values()].sort((a, b) => a.id - b.id).map(decoded), eventCount: this.eventCount,
      startTime: this.startTime, endTime: this.endTime,
      firstFrame: Number.isFinite(this.firstFrame) ? this.firstFrame : 0, lastFrame: this.lastFrame,
    };
  }
}

/** A MIKEY event kept with its octets only (the analyzer drops decoded trees once judged), decoded for the report. */
function decoded(e: TraceEvent): TraceEvent {
  if (e.kind !== 'mikey' || e.message !== undefined || e.decodeError !== undefined || e.bytes.length === 0) return e;
  return { ...e, ...decodeMikeyFields(e.bytes) };
}

export type { Evidence };
