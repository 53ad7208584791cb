// A push load run (TS 33.246 §6.3.2.1 at scale): the BM-SC pushes a new MSK to every UE of a key group, and
// the run reports how long it took for every UE to have it and to acknowledge it, with every message
// judged on the way (push-slice.ts). UEs not subscribed to the group listen too: a key reaching one of them
// is a conformance failure (A-B12).
//
// The UEs are split into slices, in this process or in child processes (one socket per UE, and a process
// holds only so many descriptors); each slice reports its figures with an encoded histogram, and the
// slices' figures are merged here (stats.ts), as the figures of several machines would be.
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { MbmsProfile } from '../mbms/index.ts';
import { startProcess } from '../worker-thread.ts';
import { PushSlice, type PushSliceInput, type PushSliceProgress, type PushSliceResult } from './push-slice.ts';
import { addCounts, mergeEvidence, mergeHistograms, percentiles, type Evidence, type Percentiles } from './stats.ts';

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
}

export interface PushSummary {
  scenario: 'push-group';
  ues: number;
  unsubscribedUes: number;
  processes: number;
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
  messages: number;
  acksSent: number;
  lostAcks: number;
  /** Copies of acknowledged deliveries the UEs received (retransmissions). */
  retransmissions: number;
  errors: Record<string, number>;
  conformanceFailures: Record<string, number>;
  evidence: Evidence[];
}

/** UE sockets one process may hold: its soft descriptor limit less a margin for everything else it opens. */
export function socketsPerProcess(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Math.max(100, Number(m[1]) - 2000);
  } catch { /* not Linux */ }
  return 900;
}

interface SliceHandle { ready: Promise<void>; progress(): PushSliceProgress; finish(t0: number): Promise<PushSliceResult>; close(): void }

function localSlice(input: PushSliceInput): SliceHandle {
  let slice: PushSlice | undefined;
  const ready = PushSlice.open(input).then((s) => { slice = s; });
  return {
    ready,
    progress: () => slice!.progress(),
    finish: async (t0) => slice!.result(t0),
    close: () => slice?.close(),
  };
}

function processSlice(input: PushSliceInput): SliceHandle {
  const child: ChildProcess = startProcess(import.meta.url, 'push-process');
  let last: PushSliceProgress = { delivered: 0, acknowledged: 0, subscribed: 0, done: false };
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
    finish: (t0) => new Promise<PushSliceResult>((resolve, reject) => {
      onResult = resolve;
      fail = reject;
      child.send({ finish: t0 });
    }),
    close: () => { if (child.exitCode === null) child.kill(); },
  };
}

export async function runPush(options: PushOptions): Promise<PushSummary> {
  const total = options.ues + options.unsubscribed;
  const perProcess = socketsPerProcess();
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
    };
    slices.push(processes === 0 ? localSlice(input) : processSlice(input));
  }
  try {
    await Promise.all(slices.map((s) => s.ready));
    const t0 = performance.timeOrigin + performance.now();
    const deadline = performance.now() + options.timeoutS * 1000;
    // The BM-SC sends while the slices receive: progress is followed from the trigger on
    let triggerError: Error | undefined;
    let triggered = false;
    void options.trigger().then(() => { triggered = true; }, (e: Error) => { triggerError = e; });
    let second = 0;
    const secondStart = performance.now();
    // Until every slice is done (every UE acknowledged, then quiet) or the time-out
    while (performance.now() < deadline) {
      if (triggerError) throw triggerError;
      const progress = slices.map((s) => s.progress());
      if (triggered && progress.every((p) => p.done)) break;
      if (performance.now() - secondStart >= (second + 1) * 1000) {
        second++;
        options.onSecond?.({ second, delivered: sum(progress, 'delivered'), acknowledged: sum(progress, 'acknowledged'), subscribed: options.ues });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const results = await Promise.all(slices.map((s) => s.finish(t0)));
    return summarise(options, processes, t0, results);
  } finally {
    for (const s of slices) s.close();
  }
}

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
  return {
    scenario: 'push-group', ues: options.ues, unsubscribedUes: options.unsubscribed, processes,
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
  };
}
