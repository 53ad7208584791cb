// The engine: runs one case against a SUT, independent of Playwright.
//
//   runCase(caseDef, env) => Promise<CaseResult>
//
// Applicability is decided first (NOT-APPLICABLE without touching the SUT). Then the tester peer binds, the
// SUT session opens (embedded reference started, or external SUT provisioned), and the steps run in order,
// each bounded by the profile's timers; every observation lands in one LiveTrace whose pcap is the case's
// capture. A SUT that misbehaves produces FAIL or INCONC with evidence; ERROR is kept for faults of the
// harness (a socket that cannot bind, a bug), and a case that did not finish in time is never PASS.

import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CaptureBackend, CaptureKind } from '../capture/index.ts';
import { LiveTrace } from '../trace/index.ts';
import { TesterBmsc, TesterUe } from '../peers/index.ts';
import { applyWireCapture, captureKindFromEnv, startWireCapture, stopWireCapture, tapSidePath } from './capture-wire.ts';
import type { CaseRun, StepHandler } from './context.ts';
import { rememberReceived, settleDeliveries, watchStrays } from './settle.ts';
import { ExpressionError, HarnessError, TriggerError } from './errors.ts';
import { evaluate } from './expr.ts';
import type { CaseDef, StepAction } from './loader.ts';
import type { SutProvider, SutSession } from './sut.ts';
import { VerdictTracker, type CaseResult, type StepResult, type Verdict, worse } from './verdict.ts';
import { STEP_HANDLERS } from './steps/index.ts';

export interface CaseEnv {
  sut: SutProvider;
  /** Parallel worker index: selects the tester address and identity. */
  worker?: number;
  /** pcap of the case (default: a file under the OS temp directory). */
  pcapPath?: string;
  signal?: AbortSignal;
  /** Progress lines (the Playwright spec routes them to the test's stdout). */
  log?: (line: string) => void;
  /** Upper bound for the whole case (default: derived from the profile timers and the steps). */
  caseTimeoutMs?: number;
  /**
   * Backend of the case pcap (default: env MBMS_CAPTURE, else tap). tcpdump/raw record the wire on loopback
   * (capture-wire.ts), proven recording before the first step; an unavailable backend is an ERROR.
   */
  capture?: CaptureKind;
}

export { STEP_HANDLERS };

/** A generous bound for a whole case: every step's longest window, plus slack for setup. */
export function estimateCaseTimeout(def: CaseDef, sut: SutProvider): number {
  const t = sut.profile.timers;
  const r = sut.profile.retransmission;
  const longest = Math.max(t.deliverMs, t.ackMs, t.pullMs, t.silenceMs, t.rekeyMs, t.httpMs, r.intervalMs * (r.count + 1) * 2, sut.profile.http.nonceTtlMs * 1.2 + 100);
  return 5_000 + def.steps.length * longest;
}

function baseResult(def: CaseDef, sut: SutProvider, startedAt: number): Omit<CaseResult, 'verdict' | 'findings' | 'steps' | 'trace' | 'durationMs'> {
  return {
    id: def.id, role: def.role, clause: def.clause, procedure: def.procedure, title: def.title, requirement: def.requirement,
    references: def.references, severity: def.severity, tags: [...def.tags, ...def.checks.map((c) => `check:${c}`), def.variant],
    mandatory: def.mandatory,
    sut: { name: sut.name, role: sut.role, embedded: sut.embedded, ...(sut.faults?.length ? { faults: [...sut.faults] } : {}) },
    startedAt,
  };
}

/** A case the tester's own starvation left INCONC (a finding with testerStarved): nothing was judged. */
export function testerWasStarved(r: CaseResult): boolean {
  return r.verdict === 'INCONC' && r.findings.some((f) => f.verdict === 'INCONC' && f.testerStarved);
}

/**
 * Runs a case, and again (at most `reruns` times) while the tester's own starvation left it INCONC: for
 * self-validation, where a loaded host must not stand for a verdict of the reference (the fault matrix,
 * the tests). A conformance run reports the INCONC as it is.
 */
export async function runCaseJudged(def: CaseDef, env: CaseEnv, reruns = 2): Promise<CaseResult & { starvedReruns: number }> {
  let result = await runCase(def, env);
  let again = 0;
  for (; again < reruns && testerWasStarved(result); again++) result = await runCase(def, env);
  return { ...result, starvedReruns: again };
}

export async function runCase(def: CaseDef, env: CaseEnv): Promise<CaseResult> {
  const startedAt = performance.timeOrigin + performance.now();
  const t0 = performance.now();
  const sut = env.sut;
  const tracker = new VerdictTracker(def.role);
  const base = baseResult(def, sut, startedAt);
  const finish = (steps: StepResult[], trace: CaseResult['trace'], pcapPath?: string): CaseResult => ({
    ...base, verdict: tracker.final(), findings: [...tracker.findings], steps, trace,
    ...(pcapPath ? { pcapPath } : {}), durationMs: performance.now() - t0,
  });

  if (def.role !== sut.role) {
    tracker.error('role', `case ${def.id} tests a ${def.role === 'bmsc' ? 'BM-SC' : 'UE'} but the SUT is a ${sut.role === 'bmsc' ? 'BM-SC' : 'UE'}`);
    return finish([], []);
  }
  // Applicability over the capability statement (a missing capability is an error, not "run it").
  try {
    if (def.applicabilityExpr && !evaluate(def.applicabilityExpr, sut.capabilities.capabilities, def.applicability)) {
      tracker.notApplicable('applicability', `not applicable to ${sut.capabilities.name}: ${def.applicability}`);
      return finish([], []);
    }
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    tracker.error('applicability', `capability statement '${sut.capabilities.name}': ${e.reason}`);
    return finish([], []);
  }
  // Trigger actions the SUT's profile offers no way to perform (a shell profile without that command).
  const lacking = sut.triggerActions ? [...new Set(def.steps.filter((st) => st.action === 'trigger').map((st) => String(st.params.action)))].filter((a) => !sut.triggerActions!.includes(a as never)) : [];
  if (lacking.length > 0) {
    tracker.notApplicable('applicability', `the SUT profile gives no way to trigger ${lacking.map((a) => `'${a}'`).join(', ')} (trigger.commands): the case needs ${lacking.length === 1 ? 'it' : 'them'}`);
    return finish([], []);
  }

  let captureKind: CaptureKind;
  try {
    captureKind = env.capture ?? captureKindFromEnv();
  } catch (e) {
    tracker.error('capture', (e as Error).message);
    return finish([], []);
  }
  const worker = env.worker ?? 0;
  const pcapPath = env.pcapPath ?? join(tmpdir(), `mbms-conform-${process.pid}-${def.id.replace(/\//g, '_')}-${Date.now()}.pcap`);
  mkdirSync(dirname(pcapPath), { recursive: true });
  const address = sut.testerAddress(worker);
  const ports = sut.testerPorts?.(worker) ?? { httpPort: 0, mikeyPort: 0 };
  // With a wire backend the tester's own record goes next to the case pcap; the wire pcap is the case's.
  const tapPath = captureKind === 'tap' ? pcapPath : tapSidePath(pcapPath);
  let wire: CaptureBackend | undefined;
  const wireWindow = { afterId: 0, upToId: 0 };
  let wireDropped: number | undefined;
  let wireCaughtUp = true;
  let wireScope: { tcpPorts: number[]; udpPorts: number[]; testerEndpoints: { address: string; port: number }[] } = { tcpPorts: [], udpPorts: [], testerEndpoints: [] };
  const trace = new LiveTrace({ pcapPath: tapPath, testerRole: sut.role === 'bmsc' ? 'ue' : 'bmsc', mikeyPorts: [...new Set([sut.profile.ports.ueMikey, 2269])] });
  /** The pcap to attach when the wire capture never ran: the tap's, never in place of a wire capture. */
  const endTrace = (): string | undefined => {
    const tap = closeTrace(trace);
    if (captureKind === 'tap') return tap;
    rmSync(tap, { force: true });
    return undefined;
  };
  const timeout = env.caseTimeoutMs ?? estimateCaseTimeout(def, sut);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`case timeout ${timeout} ms`)), timeout);
  const signal = env.signal ? AbortSignal.any([env.signal, controller.signal]) : controller.signal;
  const log = env.log ?? (() => undefined);
  const steps: StepResult[] = [];
  let ue: TesterUe | undefined;
  let bmsc: TesterBmsc | undefined;
  let session: SutSession | undefined;
  let runState: CaseRun | undefined;
  let stopWatchingStrays = () => undefined as void;
  try {
    // Tester peer first: the SUT session is told where the tester listens.
    if (sut.role === 'bmsc') {
      ue = await TesterUe.start({ trace, bindAddress: address, mikeyPort: ports.mikeyPort, identity: { btid: '', ksNaf: Buffer.alloc(32) }, profile: sut.profile });
    } else {
      bmsc = await TesterBmsc.start({ trace, bindAddress: address, httpPort: ports.httpPort, mikeyPort: ports.mikeyPort });
    }
    try {
      session = await sut.open({
        testerAddress: address, worker, signal,
        ...(ue ? { testerMikey: ue.mikeyEndpoint } : {}),
        ...(bmsc ? { testerHttp: bmsc.http, testerBmscMikey: bmsc.mikey.local } : {}),
      });
    } catch (e) {
      if (e instanceof TriggerError) {
        tracker.inconc('sut.open', `the SUT could not be prepared: ${e.reason}`);
        return finish(steps, [...trace.events], endTrace());
      }
      throw e;
    }
    if (ue) {
      ue.setIdentity(session.identity);
      if (session.http) ue.setBmsc(session.http, hostHeader(session.nafFqdn, session.http.port));
    }
    if (captureKind !== 'tap') {
      // The wire capture starts once every port of the case is known, and is proven recording before step 1
      wireScope = sut.role === 'bmsc'
        ? { tcpPorts: session.http ? [session.http.port] : [], udpPorts: [ue!.mikeyEndpoint.port, ...(session.mikey ? [session.mikey.port] : [])], testerEndpoints: [ue!.mikeyEndpoint] }
        : { tcpPorts: [bmsc!.http.port], udpPorts: [bmsc!.mikey.local.port, ...(session.mikey ? [session.mikey.port] : [])], testerEndpoints: [bmsc!.http, bmsc!.mikey.local] };
      wireWindow.afterId = trace.lastId;
      wire = await startWireCapture(captureKind, pcapPath, { testerAddress: address, ...wireScope });
      log(`${captureKind} capture recording to ${pcapPath}`);
    }
    const run: CaseRun = {
      def, provider: sut, session, profile: sut.profile, capabilities: sut.capabilities.capabilities, trace, tracker, ue, bmsc, signal,
      named: new Map(), step: def.steps[0]!, last: {}, consumed: new Set(), strays: new Set(), acknowledged: new Map(), granted: [], counters: new Map(), randByMsk: new Map(), mtkIds: new Map(),
      nonces: [], log, deliveredMsks: [],
      ...(sut.embedded ? {} : { counterHistory: counterHistoryOf(sut), currentMsks: memoryOf(currentMsksBySut, sut) }),
    };
    if (run.currentMsks) useCurrentMsks(run);
    runState = run;
    stopWatchingStrays = watchStrays(run);
    for (const step of def.steps) {
      if (signal.aborted) {
        // Running out of time is never a PASS: the rest of the case was not judged.
        tracker.inconc('case.timeout', `the case was stopped before step ${step.index + 1} (${String((signal.reason as Error | undefined)?.message ?? 'aborted')})`);
        break;
      }
      run.step = step;
      tracker.atStep(step.index);
      const before = trace.lastId;
      const findingsBefore = tracker.findings.length;
      const stepStart = performance.now();
      const title = step.title ?? describeStep(step.action, step.params);
      log(`step ${step.index + 1}: ${title}`);
      let outcome: void | 'stop' = undefined;
      try {
        outcome = await STEP_HANDLERS[step.action](run, step.params);
      } catch (e) {
        tracker.error(`step.${step.action}`, `harness error in step ${step.index + 1} (${step.action}): ${(e as Error).message}`);
        outcome = 'stop';
      }
      const findings = tracker.findings.slice(findingsBefore);
      steps.push({
        index: step.index, action: step.action, title,
        verdict: findings.reduce<Verdict>((v, f) => worse(v, f.verdict), 'PASS'),
        startedAt: performance.timeOrigin + stepStart, durationMs: performance.now() - stepStart,
        events: trace.events.filter((e) => e.id > before).map((e) => e.id), findings,
      });
      if (outcome === 'stop') break;
    }
    if (env.signal?.aborted) tracker.inconc('case.aborted', 'the run was aborted');
    else {
      // Against a long-lived BM-SC, what this case opened is closed before the next begins (settle.ts).
      tracker.atStep(undefined);
      const settled = await settleDeliveries(run, env.signal).catch((e: Error) => `settling failed: ${e.message}`);
      if (settled) log(settled);
    }
  } catch (e) {
    tracker.error('harness', e instanceof HarnessError ? e.message : `harness error: ${(e as Error).stack ?? String(e)}`);
  } finally {
    clearTimeout(timer);
    // Anything still pending of this case (an un-awaited trigger, a wait) sees the case as over.
    controller.abort(new Error('case finished'));
    stopWatchingStrays();
    if (runState) rememberReceived(runState, def.id);
    if (runState?.counterHistory) rememberCounters(runState, def.id);
    if (runState?.currentMsks) rememberCurrentMsks(runState, def.id);
    if (wire) {
      // stopped after the last step, before the tester's sockets close (teardown is not part of the case)
      wireWindow.upToId = trace.lastId;
      await stopWireCapture(wire).then(
        (stopped) => { wireDropped = stopped.dropped; wireCaughtUp = stopped.caughtUp; },
        (e: Error) => { tracker.atStep(undefined); tracker.error('capture.stop', `the ${captureKind} capture did not stop cleanly: ${e.message}`); },
      );
    }
    await ue?.close().catch(() => undefined);
    await bmsc?.close().catch(() => undefined);
    await session?.close().catch((e: Error) => log(`closing the SUT session: ${e.message}`));
  }
  if (!wire) return finish(steps, [...trace.events], endTrace());
  const live = [...trace.events];
  closeTrace(trace);
  // Verdicts stand on what the tester's sockets saw; the wire pcap must show the same messages, and the
  // evidence cites its frames.
  const outcome = await applyWireCapture(tracker, live, pcapPath, {
    kind: captureKind, testerRole: sut.role === 'bmsc' ? 'ue' : 'bmsc', window: wireWindow, tapPath, caughtUp: wireCaughtUp, ...(wireDropped ? { dropped: wireDropped } : {}),
    mikeyPorts: wireScope.udpPorts, httpPorts: wireScope.tcpPorts, testerEndpoints: wireScope.testerEndpoints,
  });
  if (outcome.agreed) rmSync(tapPath, { force: true });
  return finish(steps, outcome.events, pcapPath);
}

const counterHistories = new WeakMap<SutProvider, Map<string, { value: bigint; caseId: string }>>();

/** The counters an external SUT showed in earlier cases of this process (protocol §6.1: they never go back). */
function counterHistoryOf(sut: SutProvider): Map<string, { value: bigint; caseId: string }> {
  let h = counterHistories.get(sut);
  if (!h) { h = new Map(); counterHistories.set(sut, h); }
  return h;
}

const currentMsksBySut = new WeakMap<SutProvider, Map<string, { mskId: number; caseId: string }>>();

function memoryOf<V>(memories: WeakMap<SutProvider, Map<string, V>>, sut: SutProvider): Map<string, V> {
  let m = memories.get(sut);
  if (!m) { m = new Map(); memories.set(sut, m); }
  return m;
}

/**
 * A long-lived SUT's current MSK per key group is what it last delivered, not what the profile listed: a
 * rotation in an earlier case moved it for good (protocol §6.2). The case's subscribed keys follow it.
 */
function useCurrentMsks(run: CaseRun): void {
  run.session.keys.subscribed = run.session.keys.subscribed.map((k) => {
    const known = run.currentMsks!.get(`${k.keyDomainId.toString('hex')}/${k.mskId >>> 16}`);
    if (!known || known.mskId <= k.mskId || (k.mskId & 0xffff) === 0) return k;
    run.log(`the SUT's current MSK of key group ${k.mskId >>> 16} is ${known.mskId.toString(16).padStart(8, '0')} (delivered in ${known.caseId}), not the profile's ${k.mskId.toString(16).padStart(8, '0')}`);
    return { ...k, mskId: known.mskId };
  });
}

function rememberCurrentMsks(run: CaseRun, caseId: string): void {
  for (const d of run.deliveredMsks) {
    const key = `${d.keyDomainId}/${d.mskId >>> 16}`;
    const before = run.currentMsks!.get(key);
    if (!before || d.mskId > before.mskId) run.currentMsks!.set(key, { mskId: d.mskId, caseId });
  }
}

function rememberCounters(run: CaseRun, caseId: string): void {
  const history = run.counterHistory!;
  for (const [space, { value }] of run.counters) {
    const key = space === 'muk' ? `${run.session.identity.btid}|muk` : space;
    const before = history.get(key);
    if (!before || value > before.value) history.set(key, { value, caseId });
  }
}

function closeTrace(trace: LiveTrace): string {
  return trace.close().path;
}

function hostHeader(fqdn: string, port: number): string {
  return port === 80 ? fqdn : `${fqdn}:${port}`;
}

/** A readable default title of a step, from its action and parameters. */
export function describeStep(action: string, params: Record<string, unknown>): string {
  const interesting = Object.entries(params).filter(([k]) => k !== 'as').map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return `${action}${params.as ? ` as ${String(params.as)}` : ''}${interesting.length ? ` (${interesting.join(', ')})` : ''}`;
}
