// One procedure instance found in a capture (an MSK request, a push, a solicited pull, the MTK updates of
// one MSK) and its findings, with bounds: a capture of a million MTK messages must not keep a million
// findings or events. PASS findings are counted per check (the first few kept as examples); non-PASS
// findings are kept up to a cap per check and the rest counted; events are kept up to a cap, plus every
// event a kept non-PASS finding cites.
import { decodeMikeyFields, type TraceEvent } from '../../trace/index.ts';
import { blameOf } from '../rules.ts';
import { evidenceOf, VERDICTS, worse, type Evidence, type Finding, type Role, type Verdict } from '../verdict.ts';

export type ProcedureKind = 'msk-request' | 'msk-push' | 'solicited-pull' | 'mtk-update' | 'unattributed';

export const PROCEDURE_INFO: Record<ProcedureKind, { clause: string; title: string }> = {
  'msk-request': { clause: '6.3.1', title: 'UE-initiated MSK request' },
  'msk-push': { clause: '6.3.2.1', title: 'BM-SC push of an MSK' },
  'solicited-pull': { clause: '6.3.2.1', title: 'push solicited pull' },
  'mtk-update': { clause: '6.3.3', title: 'MTK update' },
  'unattributed': { clause: '6.3', title: 'traffic of no procedure' },
};

export type CheckCounts = Record<Verdict, number>;
const VERDICT_INDEX = Object.fromEntries(VERDICTS.map((v, i) => [v, i])) as Record<Verdict, number>;
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
  /** false: judged and counted but not listed; its events are not reported (the NDJSON line of --json). */
  listed?: false;
  startTime: number;
  endTime: number;
  firstFrame: number;
  lastFrame: number;
}

export interface InstanceLimits { passExamples: number; findingsPerCheck: number; events: number }
export const DEFAULT_LIMITS: InstanceLimits = { passExamples: 2, findingsPerCheck: 20, events: 60 };

/**
 * Every check name judged in this process, numbered in the order first seen: an instance keeps its tallies
 * in one typed array indexed by it (a push to a group holds tens of thousands of instances open at once).
 */
const CHECK_NUMBERS = new Map<string, number>();
const CHECK_NAMES: string[] = [];
function checkNumber(check: string): number {
  let n = CHECK_NUMBERS.get(check);
  if (n === undefined) {
    n = CHECK_NAMES.push(check) - 1;
    CHECK_NUMBERS.set(check, n);
  }
  return n;
}

/** Per check: a count per verdict (VERDICTS order), then the PASS and the other findings kept. */
const TALLY = VERDICTS.length + 2;
const KEPT_PASS = VERDICTS.length;
const KEPT_OTHER = VERDICTS.length + 1;

export class ProcedureInstance {
  readonly findings: Finding[] = [];
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
  /** TALLY numbers per check (by checkNumber), grown as checks come; -1 marks a check not judged here. */
  #tallies = new Int32Array(0);

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
    const at = checkNumber(check) * TALLY;
    if (at >= this.#tallies.length) {
      const grown = new Int32Array(Math.max(at + TALLY, CHECK_NAMES.length * TALLY)).fill(-1);
      grown.set(this.#tallies);
      this.#tallies = grown;
    }
    const t = this.#tallies;
    if (t[at] === -1) t.fill(0, at, at + TALLY);
    t[at + VERDICT_INDEX[verdict]]!++;
    this.onFinding(check, verdict);
    if (verdict === 'PASS') {
      if (t[at + KEPT_PASS]! >= this.limits.passExamples) return false;
      t[at + KEPT_PASS]!++;
      return true;
    }
    this.#verdict = worse(this.#verdict, verdict);
    if (t[at + KEPT_OTHER]! >= this.limits.findingsPerCheck) {
      this.omittedFindings++;
      return false;
    }
    t[at + KEPT_OTHER]!++;
    return true;
  }

  /** Every judgement made, per check and verdict (including those not kept), in the order checks were first judged. */
  get checks(): Record<string, CheckCounts> {
    const out: Record<string, CheckCounts> = {};
    const t = this.#tallies;
    for (let at = 0; at < t.length; at += TALLY) {
      if (t[at] === -1) continue;
      const counts = zeroCounts();
      VERDICTS.forEach((v, i) => { counts[v] = t[at + i]!; });
      out[CHECK_NAMES[at / TALLY]!] = counts;
    }
    return out;
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
    let anyPass = false;
    for (let at = 0; at < this.#tallies.length && !anyPass; at += TALLY) anyPass = this.#tallies[at + VERDICT_INDEX.PASS]! > 0;
    if (this.#verdict === 'PASS' && !anyPass) return 'INCONC';
    return this.#verdict;
  }

  /**
   * The instance as reported. `events: false` (an instance counted, not listed, streamed by --json):
   * without its events, which would be decoded again only to be written out for every instance.
   */
  result(options: { events: boolean } = { events: true }): ProcedureResult {
    const info = PROCEDURE_INFO[this.procedure];
    return {
      id: this.id, procedure: this.procedure, clause: info.clause, title: info.title, ...(this.ue ? { ue: this.ue } : {}),
      verdict: this.verdict, findings: this.findings, checks: this.checks, omittedFindings: this.omittedFindings,
      events: options.events ? [...this.events.values()].sort((a, b) => a.id - b.id).map(decoded) : [], eventCount: this.eventCount,
      ...(options.events ? {} : { listed: false }),
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
