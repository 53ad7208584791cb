// The state of one running case, shared by the step handlers: the trace, the verdict tracker, the tester
// peer, the SUT session, and what earlier steps named with `as:`.

import type { MbmsProfile, MskRequestEntry } from '../mbms/index.ts';
import type { TesterBmsc, TesterUe, HttpExchange, PendingRequest } from '../peers/index.ts';
import type { LiveTrace } from '../trace/index.ts';
import type { DigestChallenge } from '../digest/index.ts';
import type { CaseDef, StepDef } from './loader.ts';
import type { SutProvider, SutSession } from './sut.ts';
import type { HttpRequestEvent, HttpResponseEvent, MikeyEvent, NoteEvent, TraceEvent } from './trace-types.ts';
import type { KeyMessageVerdict } from './verify/mikey.ts';
import type { Evidence, VerdictTracker } from './verdict.ts';
import { evidenceOf } from './verdict.ts';
import { HarnessError } from './errors.ts';
import { describeStarvation, hadWholeWindow, type starvationMeter } from './loop-monitor.ts';

/** A MIKEY message of the SUT that a step matched and verified. */
export interface ReceivedMessage {
  event: MikeyEvent;
  verdict: KeyMessageVerdict;
}

/** What a step left under its `as:` name. */
export interface Named {
  step: number;
  action: string;
  events: TraceEvent[];
  exchange?: HttpExchange;
  /** The tester's starvation during the exchange (a response that never came may be the host's doing). */
  exchangeMeter?: ReturnType<typeof starvationMeter>;
  keys?: MskRequestEntry[];
  authorization?: string;
  password?: string;
  challenge?: DigestChallenge;
  granted?: number[];
  messages?: ReceivedMessage[];
  /** UE role: a request of the UE and the tester's MIKEY messages. */
  pending?: PendingRequest;
  sent?: { event: MikeyEvent; bytes: Buffer; key?: Buffer; rand?: Buffer }[];
}

export interface CaseRun {
  def: CaseDef;
  provider: SutProvider;
  session: SutSession;
  profile: MbmsProfile;
  capabilities: Record<string, unknown>;
  trace: LiveTrace;
  tracker: VerdictTracker;
  ue?: TesterUe;
  bmsc?: TesterBmsc;
  signal: AbortSignal;
  named: Map<string, Named>;
  /** The step being run. */
  step: StepDef;
  /** Latest request/challenge/200 body in the case (defaults of later steps). */
  last: { request?: Named; challenge?: DigestChallenge; granted?: number[]; requestedKeys?: MskRequestEntry[] };
  /** Event ids of SUT MIKEY messages already matched by an expect-mikey step, or strays. */
  consumed: Set<number>;
  /** Event ids of SUT MIKEY messages that are copies of an earlier case's delivery (settle.ts): never judged here. */
  strays: Set<number>;
  /** MSKs granted by the 200 OKs of this case (MSK ID, time of the 200 OK): deliveries the case opened. */
  granted: { mskId: number; at: number }[];
  /** Key messages (by kind and key IDs) the tester validly acknowledged in this case, with the time of the latest ACK (settle.ts). */
  acknowledged: Map<string, number>;
  /** Highest COUNTER seen per counter space ('muk', 'msk:<id>'), with the event that carried it (or the note citing an earlier case). */
  counters: Map<string, { value: bigint; event: TraceEvent }>;
  /**
   * External SUT: the highest COUNTER per counter space seen in earlier cases of this run (the SUT keeps its
   * state across cases, so its counters must keep increasing across them too; protocol §6.1). Keys:
   * '<B-TID>|muk' and 'msk:<domain>/<MSK ID>'. Undefined for embedded SUTs (fresh per case).
   */
  counterHistory?: Map<string, { value: bigint; caseId: string }>;
  /**
   * External SUT: the current MSK of each key group ('<domain hex>/<group>') as the SUT delivered it in
   * earlier cases of this run (a rotation moves it for good; protocol §6.2). Undefined for embedded SUTs.
   */
  currentMsks?: Map<string, { mskId: number; caseId: string }>;
  /** MSKs this case saw delivered in MSK messages whose MAC verified (domain hex, MSK ID). */
  deliveredMsks: { keyDomainId: string; mskId: number }[];
  /** RAND seen per MSK (domain/mskId hex), protocol §5.3. */
  randByMsk: Map<string, { rand: Buffer; event: MikeyEvent }>;
  /** Last MTK ID per MSK. */
  mtkIds: Map<string, { value: bigint; event: MikeyEvent }>;
  /** Nonces of every challenge seen in the case. */
  nonces: string[];
  log: (line: string) => void;
}

export type StepOutcome = void | 'stop';
export type StepHandler = (run: CaseRun, params: Record<string, any>) => Promise<StepOutcome>;

export function named(run: CaseRun, ref: string): Named {
  const n = run.named.get(ref);
  if (!n) throw new HarnessError(`step ${run.step.index + 1}: '${ref}' names no earlier step (the loader should have refused this)`);
  return n;
}

export function remember(run: CaseRun, as: string | undefined, entry: Omit<Named, 'step' | 'action'>): Named {
  const n: Named = { step: run.step.index, action: run.step.action, ...entry };
  if (as) run.named.set(as, n);
  return n;
}

/** A note on the timeline (tester action or window boundary), citable as evidence. */
export function note(run: CaseRun, text: string): NoteEvent {
  return run.trace.note(text);
}

export function evidence(...events: (TraceEvent | undefined)[]): Evidence {
  return evidenceOf(...events);
}

const TIMER = /^(?:([0-9]+(?:\.[0-9]+)?)\*)?(deliver|ack|pull|silence|rekey|http|retransmission|retransmissions|nonce-ttl)$/;

/** Milliseconds of a window: a profile timer name (optionally scaled) or a number (protocol §9 O24, O18). */
export function windowMs(profile: MbmsProfile, window: string | number | undefined, fallback: string): number {
  const w = window ?? fallback;
  if (typeof w === 'number') return w;
  const m = TIMER.exec(w);
  if (!m) throw new HarnessError(`unknown window '${w}'`);
  const factor = m[1] ? Number(m[1]) : 1;
  const t = profile.timers;
  const r = profile.retransmission;
  const base: Record<string, number> = {
    deliver: t.deliverMs, ack: t.ackMs, pull: t.pullMs, silence: t.silenceMs, rekey: t.rekeyMs, http: t.httpMs,
    retransmission: r.intervalMs,
    // the whole schedule: count retransmissions at intervalMs each, plus a margin of one interval or T_ack
    // (whichever is longer) for timer drift on a loaded host
    retransmissions: r.intervalMs * r.count + Math.max(r.intervalMs, t.ackMs),
    'nonce-ttl': profile.http.nonceTtlMs,
  };
  return Math.round(base[m[2]!]! * factor);
}

/** Waits `ms` unless aborted (protocol timers only: nonce expiry, silence windows). */
export function waitMs(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}

export type { HttpRequestEvent, HttpResponseEvent, MikeyEvent };

/**
 * The SUT missed a deadline ("within W ms"): FAIL when it had the whole window in time the tester was
 * running (loop-monitor.ts hadWholeWindow); else the tester (and an embedded SUT, which shares its
 * process) was starved, "too late" may be the host's doing: INCONC, with the measured figures.
 */
export function missedDeadline(
  run: CaseRun, meter: ReturnType<typeof starvationMeter>, window: number,
  check: string, message: string, expected: unknown, actual: unknown, ev: Evidence,
): void {
  const figures = meter.read();
  if (!hadWholeWindow(figures, window)) {
    run.tracker.inconc(check, `${message}: not judged, the tester was starved: ${Math.round(figures.wallMs - figures.lagMs)} ms of its running time in the window (${describeStarvation(figures)})`, ev, { expected, actual, testerStarved: figures });
    return;
  }
  run.tracker.fail(check, message, expected, actual, ev);
}
