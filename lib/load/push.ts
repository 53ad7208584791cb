// A push load run (TS 33.246 §6.3.2.1 at scale): the BM-SC pushes a new MSK to every UE of a key group, and
// the run reports how long it took for every UE to have it and to acknowledge it, with every message
// judged on the way (push-slice.ts). UEs not subscribed to the group listen too: a key reaching one of them
// is a conformance failure (A-B12).
//
// The UEs are split into slices, in this process or in child processes (one socket per UE, and a process
// holds only so many descriptors); each slice reports its figures with an encoded histogram, and the
// slices' figures are merged here (stats.ts), as the figures of several machines would be.
//
// The mtk-update scenario (TS 33.246 §6.3.3 at scale) runs on the same UEs once the push has given every one
// the group's MSK: MTK updates triggered open-loop at a rate, each a new MTK under that MSK sent to every UE,
// every MTK message judged as the UE it reaches; it reports how long each UE waited for each new MTK and how
// long an update took to reach the whole group.
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { MbmsProfile } from '../mbms/index.ts';
import { startProcess } from '../worker-thread.ts';
import { STARVED_LAG_MS } from './run.ts';
import { PushSlice, type PushSliceInput, type PushSliceProgress, type PushSliceResult } from './push-slice.ts';
import { addCounts, histogram, mergeEvidence, mergeHistograms, percentiles, recordMs, wallClock, type Evidence, type Percentiles } from './stats.ts';

/**
 * How long after its update was triggered a UE may still take the new MTK before it counts as not
 * delivered. MTK messages are sent once and never acknowledged (§6.3.3): nothing comes later to wait for.
 */
export const MTK_DELIVERY_WINDOW_MS = 5000;

export interface MtkPhaseOptions {
  /** MTK updates triggered per second, at fixed times (open loop), for `durationS` seconds. */
  rate: number;
  durationS: number;
  /** Makes the BM-SC send a new MTK under the group's MSK to every UE; resolves to its MTK ID (hex). */
  trigger: () => Promise<string>;
  /** How long after its trigger an update's MTK may still come (default MTK_DELIVERY_WINDOW_MS). */
  deliveryWindowMs?: number;
  /** Per second of the updates: updates triggered and new MTKs taken so far. */
  onSecond?: (s: { second: number; updates: number; delivered: number; expected: number }) => void;
}

export interface PushOptions {
  /** Subscribed UEs (indices firstUe ..), then `unsubscribed` UEs that are not. */
  ues: number;
  unsubscribed: number;
  firstUe: number;
  seed: string;
  port: number;
  keyDomainId: Buffer;
  keyGroup: number;
  profile: MbmsProfile;
  /** Child processes for the UE slices (0: the slices run in this process); default from the descriptor limit. */
  processes?: number;
  /** Longest wait for every UE to acknowledge, from the trigger. */
  timeoutS: number;
  /** Makes the BM-SC push the key group's new MSK to every subscribed UE. */
  trigger: () => Promise<void>;
  /** Per second after the trigger: UEs with a delivery and with an ACK so far. */
  onSecond?: (s: { second: number; delivered: number; acknowledged: number; subscribed: number }) => void;
  evidencePerCheck?: number;
  /** The mtk-update scenario: MTK updates after the push. */
  mtk?: MtkPhaseOptions;
  /**
   * The pull-group scenario: `trigger` makes the BM-SC send every subscribed UE a solicited-pull trigger,
   * and each UE requests the MSK at this HTTP endpoint (§6.3.1) within `timeoutMs` per HTTP exchange, after
   * a random delay of up to `jitterMs` (O20; 0: at once).
   */
  pull?: { http: { address: string; port: number }; host: string; timeoutMs: number; jitterMs: number };
}

/** One MTK update of an mtk-update run, measured from when it was triggered. */
export interface MtkUpdateFigures {
  mtkId: string;
  /** When it was triggered, from the first update's trigger (ms). */
  atMs: number;
  /** UEs that took its MTK, and the time until the last of them did (when all did). */
  delivered: number;
  allDeliveredMs?: number;
}

/** What every run of UE slices reports (push-group, pull-group, mtk-update). */
export interface SliceRunFigures {
  ues: number;
  unsubscribedUes: number;
  processes: number;
  /** MIKEY messages the UEs received, ACKs they sent, copies of acknowledged deliveries, ACKs not taken. */
  messages: number;
  acksSent: number;
  lostAcks: number;
  retransmissions: number;
  errors: Record<string, number>;
  conformanceFailures: Record<string, number>;
  evidence: Evidence[];
  /** The event-loop delay of the most delayed UE slice (p99, max; ms): the tester's own lag. */
  testerLoopDelayMs: { p99: number; max: number };
  /**
   * A UE slice ran late (loop delay p99 above STARVED_LAG_MS, or one stall of STALL_MS or more): its time-outs
   * and late copies are partly its own.
   */
  testerStarved: boolean;
}

export interface MtkSummary extends SliceRunFigures {
  scenario: 'mtk-update';
  /** MTK updates triggered per second, for `durationS` seconds. */
  rate: number;
  durationS: number;
  /** The push that gave the UEs the MSK first (§6.3.2.1). */
  push: { delivered: number; acknowledged: number; allAcknowledgedMs?: number };
  /** Updates triggered (the BM-SC answered with their MTK ID). */
  updates: number;
  /** New MTKs the UEs should take (UEs × updates), and took. */
  expected: number;
  delivered: number;
  /** New MTKs taken per second, from the first trigger to the last delivery. */
  completedPerSecond: number;
  /** Each UE's new MTK after its update was triggered. */
  latencyMs: Percentiles;
  /** Per update, the time until every UE had its MTK (updates that reached every UE). */
  fanOutMs: Percentiles;
  perUpdate: MtkUpdateFigures[];
  /** MTK messages received; those repeating octets a UE had taken (the same MTK again). */
  mtkMessages: number;
  repeats: number;
}

export interface PushSummary extends SliceRunFigures {
  scenario: 'push-group' | 'pull-group';
  /** Subscribed UEs that got a valid MSK message of the group, and that acknowledged one. */
  delivered: number;
  acknowledged: number;
  /** From the trigger (ms): the first UE's delivery, the last UE's delivery, the last UE's ACK. */
  firstDeliveryMs?: number;
  allDeliveredMs?: number;
  allAcknowledgedMs?: number;
  /** UEs acknowledged per second of the push (acknowledged / allAcknowledgedMs). */
  completedPerSecond: number;
  /** Each UE's delivery after the trigger. */
  latencyMs: Percentiles;
  /** First deliveries per 100 ms after the trigger (the plot of the push). */
  deliveriesPer100Ms: number[];
  /**
   * pull-group: valid triggers the UEs took, their MSK requests granted, and each UE's 200 OK after its
   * trigger came (the BM-SC's HTTP service under the pull of the whole group). Delivery and ACK figures above
   * count from the BM-SC's trigger as for a push.
   */
  pull?: { triggers: number; granted: number; okMs: Percentiles };
}

/** UE sockets one process may hold: its soft descriptor limit less a margin for everything else it opens. */
export function socketsPerProcess(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Math.max(100, Number(m[1]) - 2000);
  } catch { /* not Linux */ }
  return 900;
}

interface SliceHandle { ready: Promise<void>; progress(): PushSliceProgress; mtkSent(mtkId: string, at: number): void; finish(t0: number): Promise<PushSliceResult>; close(): void }

function localSlice(input: PushSliceInput): SliceHandle {
  let slice: PushSlice | undefined;
  const ready = PushSlice.open(input).then((s) => { slice = s; });
  return {
    ready,
    progress: () => slice!.progress(),
    mtkSent: (mtkId, at) => slice!.mtkSent(mtkId, at),
    finish: async (t0) => slice!.result(t0),
    close: () => slice?.close(),
  };
}

function processSlice(input: PushSliceInput): SliceHandle {
  const child: ChildProcess = startProcess(import.meta.url, 'push-process');
  let last: PushSliceProgress = { delivered: 0, acknowledged: 0, subscribed: 0, done: false, mtkDelivered: 0, messages: 0 };
  let onResult: ((r: PushSliceResult) => void) | undefined;
  let fail: ((e: Error) => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    fail = reject;
    child.on('message', (m: { ready?: boolean; error?: { code: string; message: string }; progress?: PushSliceProgress; result?: PushSliceResult }) => {
      if (m.ready) resolve();
      else if (m.error) reject(Object.assign(new Error(`UE slice ${input.first}..${input.first + input.count - 1}: ${m.error.message}`), { code: m.error.code }));
      else if (m.progress) last = m.progress;
      else if (m.result) onResult?.(m.result);
    });
    child.once('exit', (code) => fail?.(new Error(`a UE slice process exited (code ${code})`)));
    child.send({ open: input });
  });
  return {
    ready,
    progress: () => last,
    mtkSent: (mtkId, at) => { child.send({ mtkSent: { mtkId, at } }); },
    finish: (t0) => new Promise<PushSliceResult>((resolve, reject) => {
      onResult = resolve;
      fail = reject;
      child.send({ finish: t0 });
    }),
    close: () => { if (child.exitCode === null) child.kill(); },
  };
}

export function runPush(options: PushOptions & { mtk?: undefined }): Promise<PushSummary>;
export function runPush(options: PushOptions & { mtk: MtkPhaseOptions }): Promise<MtkSummary>;
export async function runPush(options: PushOptions): Promise<PushSummary | MtkSummary> {
  const total = options.ues + options.unsubscribed;
  // A pulling UE holds its MIKEY socket and, while it requests, a TCP connection: two descriptors
  const perProcess = Math.floor(socketsPerProcess() / (options.pull ? 2 : 1));
  const processes = options.processes ?? (total <= perProcess ? 0 : Math.ceil(total / perProcess));
  const sliceCount = Math.max(1, processes);
  const size = Math.ceil(total / sliceCount);
  const profile = options.profile;
  const slices: SliceHandle[] = [];
  for (let s = 0; s < sliceCount; s++) {
    const first = options.firstUe + s * size;
    const count = Math.min(size, options.firstUe + total - first);
    if (count <= 0) break;
    const input: PushSliceInput = {
      seed: options.seed, first, count, subscribedBelow: options.firstUe + options.ues, port: options.port,
      keyDomainId: options.keyDomainId.toString('hex'), keyGroup: options.keyGroup, profile, evidencePerCheck: options.evidencePerCheck ?? 3,
      ...(options.pull ? { pull: options.pull } : {}),
    };
    slices.push(processes === 0 ? localSlice(input) : processSlice(input));
  }
  try {
    await Promise.all(slices.map((s) => s.ready));
    const t0 = wallClock();
    const deadline = performance.now() + options.timeoutS * 1000;
    // The BM-SC sends while the slices receive: progress is followed from the trigger on
    let triggerError: Error | undefined;
    let triggered = false;
    void options.trigger().then(() => { triggered = true; }, (e: Error) => { triggerError = e; });
    let second = 0;
    const secondStart = performance.now();
    const idleEndMs = idleEnd(options);
    let activity = -1;
    let activeAt = performance.now();
    // Until every slice is done (every UE acknowledged, then quiet), the BM-SC has sent nothing for longer
    // than it may keep a delivery going (idleEnd), or the time-out
    while (performance.now() < deadline) {
      if (triggerError) throw triggerError;
      const progress = slices.map((s) => s.progress());
      if (triggered && progress.every((p) => p.done)) break;
      const now = sum(progress, 'messages');
      if (now !== activity) {
        activity = now;
        activeAt = performance.now();
      } else if (triggered && performance.now() - activeAt > idleEndMs) break;
      if (performance.now() - secondStart >= (second + 1) * 1000) {
        second++;
        options.onSecond?.({ second, delivered: sum(progress, 'delivered'), acknowledged: sum(progress, 'acknowledged'), subscribed: options.ues });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pushed = triggered && slices.every((s) => s.progress().done);
    const updates = options.mtk && pushed ? await runMtkUpdates(options.mtk, options.ues, slices) : undefined;
    const results = await Promise.all(slices.map((s) => s.finish(t0)));
    const push = summarise(options, processes, t0, results);
    if (!options.mtk) return push;
    return summariseMtk(options.mtk, push, results, updates ?? { triggered: [], errors: { 'mtk-not-run': 1 } });
  } finally {
    for (const s of slices) s.close();
  }
}

/** The longest wait for the BM-SC to answer an MTK update trigger (it answers once it has sent to every UE). */
const TRIGGER_ANSWER_MS = 60_000;

/** `p`, or a rejection once `ms` have passed (a BM-SC that never answers must not hang the run). */
function answerWithin<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/**
 * How long after the last message a UE slice received the run stops waiting for more: a BM-SC keeps a
 * delivery going for its retransmissions (O18: count × interval after the first send) and T_ack after the
 * last; a pull adds its two HTTP exchanges and the UEs' jitter (O20). A BM-SC whose messages are all invalid
 * (nothing acknowledged) then ends the run in seconds, with its UEs not delivered, not at --duration.
 */
function idleEnd(options: PushOptions): number {
  const { retransmission, timers } = options.profile;
  return (retransmission.count + 1) * retransmission.intervalMs + timers.ackMs + (options.pull ? 2 * options.pull.timeoutMs + options.pull.jitterMs : 0);
}

interface UpdatesRun { triggered: { mtkId: string; at: number }[]; errors: Record<string, number> }

/**
 * The updates of the mtk-update scenario, open loop: update k triggered at k / rate s, whatever the BM-SC's
 * answers to the earlier ones; each slice learns each update's MTK ID and trigger time from the answer. Ends
 * when every UE took every update's MTK, or MTK_DELIVERY_WINDOW_MS after the last answer.
 */
async function runMtkUpdates(mtk: MtkPhaseOptions, ues: number, slices: SliceHandle[]): Promise<UpdatesRun> {
  const count = Math.max(1, Math.round(mtk.rate * mtk.durationS));
  const triggered: UpdatesRun['triggered'] = [];
  const errors: Record<string, number> = {};
  const answers: Promise<void>[] = [];
  const start = performance.now();
  const delivered = () => slices.reduce((n, s) => n + s.progress().mtkDelivered, 0);
  let second = 0;
  /** The progress line, once a second of the updates. */
  const tick = () => {
    if (performance.now() - start >= (second + 1) * 1000) mtk.onSecond?.({ second: ++second, updates: triggered.length, delivered: delivered(), expected: ues * triggered.length });
  };
  for (let k = 0; k < count; k++) {
    const due = start + (k * 1000) / mtk.rate;
    while (performance.now() < due) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, Math.max(1, due - performance.now()))));
      tick();
    }
    const at = wallClock();
    answers.push(answerWithin(mtk.trigger(), TRIGGER_ANSWER_MS).then((mtkId) => {
      triggered.push({ mtkId, at });
      for (const s of slices) s.mtkSent(mtkId, at);
    }, () => { errors['mtk-trigger'] = (errors['mtk-trigger'] ?? 0) + 1; }));
  }
  await Promise.all(answers);
  const until = performance.now() + (mtk.deliveryWindowMs ?? MTK_DELIVERY_WINDOW_MS);
  while (performance.now() < until && delivered() < ues * triggered.length) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    tick();
  }
  triggered.sort((a, b) => a.at - b.at);
  return { triggered, errors };
}

function summariseMtk(mtk: MtkPhaseOptions, push: PushSummary, results: PushSliceResult[], run: UpdatesRun): MtkSummary {
  const parts = results.map((r) => r.mtk).filter((m) => m !== undefined);
  const h = mergeHistograms(parts.map((m) => m.latencyHistogram));
  const latencyMs = percentiles(h);
  h.destroy();
  const seen = new Map<string, { delivered: number; lastAt?: number }>();
  for (const m of parts) {
    for (const u of m.updates) {
      const s = seen.get(u.mtkId) ?? { delivered: 0 };
      s.delivered += u.delivered;
      if (u.lastAt !== undefined) s.lastAt = Math.max(s.lastAt ?? 0, u.lastAt);
      seen.set(u.mtkId, s);
    }
  }
  const t0 = run.triggered[0]?.at ?? 0;
  const fan = histogram();
  let lastDelivery = t0;
  const perUpdate = run.triggered.map(({ mtkId, at }) => {
    // An MTK ID a BM-SC answered twice (a new MTK under an old ID: a mikey.mtk-id failure at the UEs) is
    // credited to its first update only
    const s = seen.get(mtkId) ?? { delivered: 0 };
    seen.delete(mtkId);
    const all = s.delivered >= push.ues && s.lastAt !== undefined ? s.lastAt - at : undefined;
    if (all !== undefined) recordMs(fan, all);
    if (s.lastAt !== undefined) lastDelivery = Math.max(lastDelivery, s.lastAt);
    return { mtkId, atMs: round2(at - t0), delivered: s.delivered, ...(all !== undefined ? { allDeliveredMs: round2(all) } : {}) };
  });
  const fanOutMs = percentiles(fan);
  fan.destroy();
  const delivered = perUpdate.reduce((n, u) => n + u.delivered, 0);
  const expected = push.ues * run.triggered.length;
  const unannounced = parts.reduce((n, m) => n + m.unannounced, 0);
  const errors: Record<string, number> = { ...push.errors, ...run.errors };
  if (delivered < expected) errors['mtk-not-delivered'] = expected - delivered;
  if (unannounced) errors['mtk-unannounced'] = unannounced;
  const seconds = (lastDelivery - t0) / 1000;
  return {
    scenario: 'mtk-update', ues: push.ues, unsubscribedUes: push.unsubscribedUes, processes: push.processes, rate: mtk.rate, durationS: mtk.durationS,
    push: { delivered: push.delivered, acknowledged: push.acknowledged, ...(push.allAcknowledgedMs !== undefined ? { allAcknowledgedMs: push.allAcknowledgedMs } : {}) },
    updates: run.triggered.length, expected, delivered,
    completedPerSecond: seconds > 0 ? Math.round((delivered / seconds) * 10) / 10 : 0,
    latencyMs, fanOutMs, perUpdate,
    mtkMessages: parts.reduce((n, m) => n + m.messages, 0), repeats: parts.reduce((n, m) => n + m.repeats, 0),
    messages: push.messages, acksSent: push.acksSent, lostAcks: push.lostAcks, retransmissions: push.retransmissions,
    errors, conformanceFailures: push.conformanceFailures, evidence: push.evidence,
    testerLoopDelayMs: push.testerLoopDelayMs, testerStarved: push.testerStarved,
  };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

const sum = <K extends string>(xs: Record<K, number>[], k: K): number => xs.reduce((n, x) => n + x[k], 0);

function summarise(options: PushOptions, processes: number, t0: number, results: PushSliceResult[]): PushSummary {
  const h = mergeHistograms(results.map((r) => r.deliveryHistogram));
  const latencyMs = percentiles(h);
  h.destroy();
  const since = (xs: (number | undefined)[], pick: (a: number, b: number) => number) => {
    const defined = xs.filter((x): x is number => x !== undefined);
    return defined.length ? Math.round((defined.reduce((a, b) => pick(a, b)) - t0) * 100) / 100 : undefined;
  };
  const delivered = sum(results, 'delivered');
  const acknowledged = sum(results, 'acknowledged');
  const firstDeliveryMs = since(results.map((r) => r.firstDeliveryAt), Math.min);
  const allDeliveredMs = delivered === options.ues ? since(results.map((r) => r.lastDeliveryAt), Math.max) : undefined;
  const allAcknowledgedMs = acknowledged === options.ues ? since(results.map((r) => r.allAckedAt), Math.max) : undefined;
  const per100: number[] = [];
  for (const r of results) r.deliveriesPer100Ms.forEach((n, i) => { per100[i] = (per100[i] ?? 0) + n; });
  const errors: Record<string, number> = {};
  if (delivered < options.ues) errors['not-delivered'] = options.ues - delivered;
  if (acknowledged < delivered) errors['not-acknowledged'] = delivered - acknowledged;
  let pull: PushSummary['pull'];
  if (options.pull) {
    const parts = results.map((r) => r.pull).filter((p) => p !== undefined);
    const ok = mergeHistograms(parts.map((p) => p.okHistogram));
    pull = { triggers: parts.reduce((n, p) => n + p.triggers, 0), granted: parts.reduce((n, p) => n + p.granted, 0), okMs: percentiles(ok) };
    ok.destroy();
    const triggered = pull.triggers;
    if (triggered < options.ues) errors['no-trigger'] = options.ues - triggered;
    // The pulls that failed, by reason (pull-http-timeout, pull-http-503, ...)
    for (const p of parts) for (const [reason, n] of Object.entries(p.errors)) errors[`pull-${reason}`] = (errors[`pull-${reason}`] ?? 0) + n;
  }
  return {
    scenario: options.pull ? 'pull-group' : 'push-group', ues: options.ues, unsubscribedUes: options.unsubscribed, processes,
    delivered, acknowledged,
    ...(firstDeliveryMs !== undefined ? { firstDeliveryMs } : {}),
    ...(allDeliveredMs !== undefined ? { allDeliveredMs } : {}),
    ...(allAcknowledgedMs !== undefined ? { allAcknowledgedMs } : {}),
    completedPerSecond: allAcknowledgedMs ? Math.round((acknowledged / (allAcknowledgedMs / 1000)) * 10) / 10 : 0,
    latencyMs, deliveriesPer100Ms: Array.from(per100, (n) => n ?? 0),
    messages: sum(results, 'messages'), acksSent: sum(results, 'acksSent'), lostAcks: sum(results, 'lostAcks'), retransmissions: sum(results, 'retransmissions'),
    errors,
    conformanceFailures: results.reduce((acc, r) => addCounts(acc, r.conformanceFailures), {} as Record<string, number>),
    evidence: mergeEvidence(results.map((r) => r.evidence), options.evidencePerCheck ?? 3),
    ...(pull ? { pull } : {}),
    ...testerLoad(results),
  };
}

/**
 * One event-loop stall of a UE slice from which its time-outs are not held against the BM-SC: a second is a
 * fifth of the §9 HTTP time-out and half of T_ack, enough to turn an answer in time into a time-out.
 */
export const STALL_MS = 1000;

/** The most delayed slice's event loop: the tester's own lag, apart from the BM-SC's. */
function testerLoad(results: PushSliceResult[]): { testerLoopDelayMs: { p99: number; max: number }; testerStarved: boolean } {
  const p99 = Math.max(0, ...results.map((r) => r.loopDelayMs.p99));
  const max = Math.max(0, ...results.map((r) => r.loopDelayMs.max));
  return { testerLoopDelayMs: { p99, max }, testerStarved: p99 > STARVED_LAG_MS || max >= STALL_MS };
}
