// A load run against a BM-SC (issue: "does the BM-SC still conform at capacity?"): a population of
// simulated UEs runs complete 6.3.1 procedures, offered open-loop at a rate (arrivals at fixed times,
// whatever the BM-SC answers, so a slow BM-SC cannot slow the offered load down and hide its latency;
// each procedure's latency counts from when it was due) or closed-loop at a concurrency (saturation).
// Latency percentiles come from HdrHistogram (hdr-histogram-js: fixed memory whatever the count, and
// histograms that merge across processes); every message is judged as in the conformance runs.
import type { MbmsProfile } from '../mbms/index.ts';
import type { CheckOutcome } from '../suite/verify/mikey.ts';
import { LoadUe, type ProcedureOutcome, type Target } from './procedure.ts';
import { population } from './population.ts';
import { encodeHistogram, FailureTally, histogram, percentiles, recordMs, wallClock, type Evidence, type Percentiles } from './stats.ts';
import { copyWatchMs } from './ue-keys.ts';

/** The scenarios of `mbms-conform load`: the procedure each runs, and what drives it (a rate of requests, or one push). */
export const LOAD_SCENARIOS = {
  'msk-request': { drive: 'rate', description: '6.3.1 with the 401 round each time: POST, 401, authorised POST, 200 OK, MIKEY MSK message, ACK' },
  'msk-request-nonce-reuse': { drive: 'rate', description: '6.3.1 reusing the nonce (RFC 2617 §3.3; the nextnonce when given): one POST, 200 OK, MSK message, ACK; a 401 only when the BM-SC wants a fresh nonce' },
  'push-group': { drive: 'push', description: '6.3.2.1 to a whole key group: the BM-SC pushes a new MSK to every subscribed UE, each acknowledges it; the time until all have it is measured (UEs not subscribed listen too)' },
  'pull-group': { drive: 'push', description: '6.3.2.1 push solicited pull to a whole key group: the BM-SC announces a new MSK to every subscribed UE by a trigger (key IDs 0x0), each acknowledges it and requests the MSK (6.3.1: POST, 401, authorised POST, 200 OK, MSK message, ACK); the time until all have it is measured' },
  'mtk-update': { drive: 'updates', description: '6.3.3 to a whole key group: after a push-group gives every UE the MSK, MTK updates at --rate per second for --duration s, each a new MTK sent to every UE; each UE\'s wait and the time until all have it are measured' },
} as const satisfies Record<string, { drive: 'rate' | 'push' | 'updates'; description: string }>;
export type LoadScenario = keyof typeof LOAD_SCENARIOS;
export type RequestScenario = { [K in LoadScenario]: (typeof LOAD_SCENARIOS)[K]['drive'] extends 'rate' ? K : never }[LoadScenario];

export interface LoadOptions {
  target: Target;
  profile: MbmsProfile;
  scenario: RequestScenario;
  ues: number;
  /** Index of the first UE of the population (several processes each take a slice; default 0). */
  firstUe?: number;
  /** UDP port of the UEs' MIKEY sockets (default the profile's UE MIKEY port, O1; the BM-SC must send there). */
  ueMikeyPort?: number;
  /** Open loop: procedures started per second (after a linear ramp of `rampS` seconds from 0). */
  rate?: number;
  rampS?: number;
  /** Closed loop: procedures kept in flight. */
  concurrency?: number;
  durationS: number;
  /**
   * Seconds run first and left out of the figures (a population opening its connections, code warming up):
   * their procedures are judged all the same, and a conformance failure in them counts.
   */
  warmupS?: number;
  seed: string;
  /** Per-second progress (live line). */
  onSecond?: (s: SecondSample) => void;
  /** Failures kept as evidence per check. */
  evidencePerCheck?: number;
}

export interface SecondSample { second: number; offered: number; completed: number; errors: number; failures: number; p50Ms: number; p99Ms: number }

export type { Percentiles } from './stats.ts';

export interface LoadSummary {
  scenario: RequestScenario;
  ues: number;
  mode: 'open-loop' | 'closed-loop';
  rate?: number;
  concurrency?: number;
  durationS: number;
  /** The warm-up, left out of every figure below but the conformance failures, evidence and lost ACKs. */
  warmup?: { seconds: number; offered: number; completed: number; errors: number };
  offered: number;
  completed: number;
  completedPerSecond: number;
  latencyMs: Percentiles;
  phasesMs: Record<'challenge' | 'ok' | 'delivery', Percentiles>;
  errors: Record<string, number>;
  conformanceFailures: Record<string, number>;
  evidence: Evidence[];
  /** V=1 copies the BM-SC sent after a valid ACK (an ACK it did not take). */
  lostAcks: number;
  /** Copies of acknowledged deliveries the UEs received (retransmissions, the one that may cross an ACK included). */
  retransmissions: number;
  /** MIKEY messages that came after a procedure the UE had given up on (a time-out), before its next one. */
  abandonedDeliveries: number;
  /** Arrivals that found every UE busy (the population is too small for the rate times the latency). */
  noIdleUe: number;
  /** How late the scheduler started procedures (the tester's own lag, not the BM-SC's). */
  schedulerLagMs: Percentiles;
  /**
   * The tester could not keep its own schedule (scheduler lag p99 above STARVED_LAG_MS): latencies, time-outs
   * and late ACKs are then partly the tester's own starvation, not the BM-SC's behaviour alone.
   */
  testerStarved: boolean;
  seconds: SecondSample[];
  /** The histograms behind the percentiles (µs, HdrHistogram compressed encoding): summaries of several processes merge exactly (merge.ts). */
  histograms: { latency: string; challenge: string; ok: string; delivery: string; schedulerLag: string };
}

/** Scheduler lag (p99) from which the tester counts as starved: far above a timer's granularity. */
export const STARVED_LAG_MS = 50;

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const ues = await Promise.all(population(options.ues, options.seed, options.firstUe ?? 0).map((u) => LoadUe.open(u, options.profile, options.ueMikeyPort)));
  const total = histogram();
  const phases = { challenge: histogram(), ok: histogram(), delivery: histogram() };
  const lag = histogram();
  const errors: Record<string, number> = {};
  const failures = new FailureTally(options.evidencePerCheck ?? 3);
  let offered = 0;
  let completed = 0;
  let noIdleUe = 0;
  let secondHist = histogram();
  let secondCounts = { offered: 0, completed: 0, errors: 0, failures: 0 };
  const seconds: SecondSample[] = [];
  const reuseNonce = options.scenario === 'msk-request-nonce-reuse';
  const timeoutMs = Math.max(options.profile.timers.httpMs, 1000);

  const warm = { offered: 0, completed: 0, errors: 0 };
  const record = (ue: LoadUe, o: ProcedureOutcome, measured: boolean) => {
    for (const f of o.failures) recordFailure(ue, f);
    if (!measured) {
      if (o.error) warm.errors++;
      else warm.completed++;
      return;
    }
    if (o.error) {
      errors[o.error] = (errors[o.error] ?? 0) + 1;
      secondCounts.errors++;
      return;
    }
    completed++;
    secondCounts.completed++;
    recordMs(total, o.phases.total ?? 0);
    recordMs(secondHist, o.phases.total ?? 0);
    if (o.phases.challenge !== undefined) recordMs(phases.challenge, o.phases.challenge);
    recordMs(phases.ok, o.phases.ok! - (o.phases.challenge ?? 0));
    recordMs(phases.delivery, o.phases.delivery ?? 0);
  };
  const recordFailure = (ue: LoadUe, f: CheckOutcome, at = wallClock()) => {
    failures.add(ue.identity.btid, f, { address: ue.identity.address, at });
    secondCounts.failures++;
  };

  let next = 0;
  const idleUe = (): LoadUe | undefined => {
    for (let i = 0; i < ues.length; i++) {
      const ue = ues[(next + i) % ues.length]!;
      if (!ue.busy) {
        next = (next + i + 1) % ues.length;
        return ue;
      }
    }
    return undefined;
  };
  const inFlight = new Set<Promise<void>>();
  const launch = (due: number): boolean => {
    const ue = idleUe();
    const measured = due >= measuredFrom;
    if (measured) offered++;
    else warm.offered++;
    secondCounts.offered++;
    if (!ue) {
      if (measured) {
        noIdleUe++;
        errors['no-idle-ue'] = (errors['no-idle-ue'] ?? 0) + 1;
      } else warm.errors++;
      return false;
    }
    ue.busy = true;
    if (measured) recordMs(lag, performance.now() - due);
    const p = ue.mskRequest(options.target, due, { reuseNonce, timeoutMs }).then((o) => {
      record(ue, o, measured);
      ue.busy = false;
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return true;
  };

  const start = performance.now();
  const warmupMs = (options.warmupS ?? 0) * 1000;
  const measuredFrom = start + warmupMs;
  const end = measuredFrom + options.durationS * 1000;
  let secondStart = start;
  const closeSecond = (now: number) => {
    while (now - secondStart >= 1000) {
      const sample: SecondSample = {
        second: seconds.length + 1, ...secondCounts,
        p50Ms: secondHist.totalCount ? secondHist.getValueAtPercentile(50) / 1000 : 0,
        p99Ms: secondHist.totalCount ? secondHist.getValueAtPercentile(99) / 1000 : 0,
      };
      seconds.push(sample);
      options.onSecond?.(sample);
      secondHist.reset();
      secondCounts = { offered: 0, completed: 0, errors: 0, failures: 0 };
      secondStart += 1000;
    }
  };

  if (options.concurrency !== undefined) {
    // Closed loop: each of `concurrency` loops starts its next procedure when the last one ended
    const loops = Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < end) {
        const ue = idleUe();
        if (!ue) break;
        ue.busy = true;
        const due = performance.now();
        const measured = due >= measuredFrom;
        if (measured) offered++;
        else warm.offered++;
        secondCounts.offered++;
        const o = await ue.mskRequest(options.target, due, { reuseNonce, timeoutMs });
        record(ue, o, measured);
        ue.busy = false;
      }
    });
    const ticker = setInterval(() => closeSecond(performance.now()), 100);
    await Promise.all(loops);
    clearInterval(ticker);
  } else {
    const rate = options.rate ?? 100;
    const ramp = (options.rampS ?? 0) * 1000;
    // Arrival k is due at t_k: k / rate on the plateau; during a linear ramp from 0 the count due by t is
    // rate t^2 / (2 ramp), so t_k = sqrt(2 ramp k / rate)
    const dueAt = (k: number): number => {
      const rampCount = (rate * ramp) / 2000;
      if (ramp > 0 && k < rampCount) return start + Math.sqrt((2 * ramp * k) / (rate / 1000));
      return start + ramp + ((k - (ramp > 0 ? rampCount : 0)) / rate) * 1000;
    };
    let k = 0;
    while (true) {
      const now = performance.now();
      // Every arrival due before the end is offered, also when the tester woke up late past the end: the
      // offered load is the schedule's (late ones count their lateness in their latency and in the lag)
      for (let due = dueAt(k); due <= now && due < end; due = dueAt(++k)) launch(due);
      closeSecond(now);
      if (now >= end) break;
      // Sleep to the next arrival (at most 5 ms, so the per-second sample stays on time)
      const wait = Math.min(5, Math.max(0, dueAt(k) - performance.now()));
      await new Promise((resolve) => (wait >= 1 ? setTimeout(resolve, wait) : setImmediate(resolve)));
    }
  }
  await Promise.all(inFlight);
  closeSecond(performance.now());
  // The procedures that ended after the last whole second (waited for past the end): a last, shorter
  // sample, so that the per-second figures add up to the run's (a loaded tester ends later)
  if (secondCounts.offered + secondCounts.completed + secondCounts.errors + secondCounts.failures > 0) closeSecond(secondStart + 1000);
  // The copies that tell an ACK the BM-SC did not take come up to copyWatchMs after the last ACK: the UEs
  // keep listening that long
  const lastAck = ues.reduce((last, ue) => Math.max(last, ue.lastAckAt ?? 0), 0);
  const drainUntil = lastAck + copyWatchMs(options.profile);
  if (lastAck > 0 && drainUntil > performance.now()) await new Promise((resolve) => setTimeout(resolve, drainUntil - performance.now()));
  const elapsed = Math.min(performance.now(), end) - measuredFrom;
  let lostAcks = 0;
  let retransmissions = 0;
  let abandonedDeliveries = 0;
  for (const ue of ues) {
    lostAcks += ue.lateCopies;
    retransmissions += ue.copiesReceived;
    for (const c of ue.copyFindings) {
      if (c.lostAck) failures.keep(ue.identity.btid, c.finding, { address: ue.identity.address, at: c.at });
      else recordFailure(ue, c.finding, c.at);
    }
    abandonedDeliveries += ue.abandonedDeliveries;
    ue.close();
  }
  return {
    scenario: options.scenario, ues: options.ues,
    mode: options.concurrency !== undefined ? 'closed-loop' : 'open-loop',
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : { rate: options.rate ?? 100 }),
    durationS: options.durationS, ...(warmupMs > 0 ? { warmup: { seconds: options.warmupS!, ...warm } } : {}), offered, completed,
    completedPerSecond: Math.round((completed / (elapsed / 1000)) * 10) / 10,
    latencyMs: percentiles(total),
    phasesMs: { challenge: percentiles(phases.challenge), ok: percentiles(phases.ok), delivery: percentiles(phases.delivery) },
    errors, conformanceFailures: failures.counts, evidence: failures.evidence, lostAcks, retransmissions, abandonedDeliveries, noIdleUe,
    schedulerLagMs: percentiles(lag), testerStarved: lag.getValueAtPercentile(99) / 1000 > STARVED_LAG_MS, seconds,
    histograms: { latency: encodeHistogram(total), challenge: encodeHistogram(phases.challenge), ok: encodeHistogram(phases.ok), delivery: encodeHistogram(phases.delivery), schedulerLag: encodeHistogram(lag) },
  };
}
