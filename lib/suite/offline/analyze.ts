// analyzeCapture: one streaming pass over a capture, every procedure instance found and judged.
import type { MbmsProfile } from '../../mbms/index.ts';
import type { TraceProblem } from '../../trace/index.ts';
import { worse, type Verdict } from '../verdict.ts';
import { OfflineAnalyzer, type AnalyzerOptions, type AnalyzerOutput } from './analyzer.ts';
import { stat } from 'node:fs/promises';
import { streamCapture, type EventConsumer } from './events.ts';
import { heapBudget } from './heap-budget.ts';
import { streamCaptureInThread } from './reader-thread.ts';
import type { CheckCounts, InstanceLimits, ProcedureResult } from './instance.ts';
import type { AnalyzeKeys } from './keys.ts';

export interface AnalyzeCaptureOptions {
  profile: MbmsProfile;
  keys?: AnalyzeKeys;
  /** UDP ports carrying MIKEY to the UE (O1); default [profile.ports.ueMikey]. */
  mikeyPorts?: number[];
  /** TCP ports of the BM-SC's HTTP server; default: every TCP connection is parsed as HTTP. */
  httpPorts?: number[];
  limits?: Partial<InstanceLimits>;
  /** Events wait this long (capture time) to be put in time order (default 2000 ms). */
  reorderMs?: number;
  /** Every procedure instance as it is judged (AnalyzerOptions.onJudged). */
  onJudged?: AnalyzerOptions['onJudged'];
  /**
   * Read and dissect the capture in a second thread (reader-thread.ts) while this one judges: default for
   * captures of READER_THREAD_MIN_OCTETS and more, where the thread's start-up (about 50 ms) pays.
   */
  readerThread?: boolean;
  /** Keep the judging thread's heap near this many MiB (heap-budget.ts); default: V8's own policy. */
  heapBudgetMb?: number;
}

/** From this capture size on, the capture is read in a second thread by default. */
export const READER_THREAD_MIN_OCTETS = 4 * 1024 * 1024;

export interface AnalysisResult {
  capture: string;
  format: string;
  /** Whether the capture was read in a second thread (AnalyzeCaptureOptions.readerThread). */
  readerThread: boolean;
  frames: number;
  events: number;
  /** Capture time span, ms. */
  firstTime?: number;
  lastTime?: number;
  mikeyPorts: number[];
  httpPorts?: number[];
  /** Worst verdict of all procedure instances; INCONC when the capture holds none. */
  verdict: Verdict;
  procedures: ProcedureResult[];
  /** Instances judged but not listed (past the first ones), per procedure kind and verdict. */
  omitted: AnalyzerOutput['omitted'];
  /** Every judgement, per check and verdict, over all instances. */
  checks: Record<string, CheckCounts>;
  problems: TraceProblem[];
  problemCount: number;
  /** The capture ends inside a record: judged up to its last whole record. */
  truncated?: { offset: number; afterFrame: number; message: string };
}

export async function analyzeCapture(path: string, options: AnalyzeCaptureOptions): Promise<AnalysisResult> {
  const mikeyPorts = options.mikeyPorts?.length ? options.mikeyPorts : [options.profile.ports.ueMikey];
  const analyzer = new OfflineAnalyzer({ profile: options.profile, keys: options.keys, mikeyPorts, limits: options.limits, onJudged: options.onJudged });
  const streamOptions = { mikeyPorts, httpPorts: options.httpPorts, reorderMs: options.reorderMs, decodeMikey: false };
  const threaded = options.readerThread ?? (await stat(path).then((s) => s.size >= READER_THREAD_MIN_OCTETS, () => false));
  const check = options.heapBudgetMb ? heapBudget(options.heapBudgetMb) : undefined;
  const consumer: EventConsumer = check ? {
    onEvent: (e) => analyzer.onEvent(e), onUdp: (r) => analyzer.onUdp(r), onProblem: (p) => analyzer.onProblem(p),
    onClock: (t) => { analyzer.onClock(t); check(); },
  } : analyzer;
  const summary = threaded ? await streamCaptureInThread(path, streamOptions, consumer) : await streamCapture(path, streamOptions, consumer);
  const out = analyzer.finish();
  // Every instance counts, listed or not.
  const omittedVerdicts = Object.values(out.omitted).flatMap((byVerdict) => Object.keys(byVerdict ?? {}) as Verdict[]);
  const all = [...out.procedures.map((p) => p.verdict), ...omittedVerdicts];
  const verdict = all.length === 0 ? 'INCONC' : all.reduce<Verdict>((v, x) => worse(v, x), 'PASS');
  return {
    capture: path, format: summary.format, readerThread: threaded, frames: summary.frames, events: summary.events,
    firstTime: summary.firstTime, lastTime: summary.lastTime, mikeyPorts, ...(options.httpPorts?.length ? { httpPorts: options.httpPorts } : {}),
    verdict, procedures: out.procedures, omitted: out.omitted, checks: out.checks, problems: out.problems, problemCount: out.problemCount,
    ...(summary.truncated ? { truncated: summary.truncated } : {}),
  };
}
