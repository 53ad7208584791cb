// Wire capture of a live case (DESIGN.md "Capture"): the `tcpdump` and `raw` backends record what crossed
// loopback instead of what the tester's sockets reported (`tap`). The steps still judge the events the
// tester's sockets saw; after the case the wire pcap is read back (lib/trace traceFromCapture) and every
// live event is matched to the captured event with the same kind, endpoints and octets, so that events and
// findings cite frame numbers of the attached wire pcap. An event the wire lacks, or a message of the SUT
// seen only on the wire, is reported: the evidence would otherwise be silently incomplete.

import {
  type CaptureBackend, type CaptureKind, CaptureBackendError, CaptureUnavailableError, TcpdumpCapture, createCapture, normalizeAddress,
} from '../capture/index.ts';
import { canonicalEndpoint, traceFromCapture } from '../trace/index.ts';
import { HarnessError } from './errors.ts';
import type { Endpoint, TraceEvent } from './trace-types.ts';
import type { Finding, VerdictTracker } from './verdict.ts';

export const CAPTURE_KINDS: readonly CaptureKind[] = ['tap', 'tcpdump', 'raw'];

/** The backend of live runs: `MBMS_CAPTURE` (tap, tcpdump, raw; default tap). A wrong value is an error, never a fallback. */
export function captureKindFromEnv(value: string | undefined = process.env.MBMS_CAPTURE): CaptureKind {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return 'tap';
  if ((CAPTURE_KINDS as readonly string[]).includes(v)) return v as CaptureKind;
  throw new HarnessError(`MBMS_CAPTURE='${value}' names no capture backend (tap, tcpdump, raw)`);
}

/** What belongs to one case on the wire: the tester's address and the TCP/UDP ports of the case. */
export interface CaseWireScope {
  /** Bind address of the tester's sockets (one per worker, or shared loopback with per-case ports). */
  testerAddress: string;
  /** TCP server ports of the case (the BM-SC's MSK request endpoint: SUT's or tester's). */
  tcpPorts: number[];
  /** UDP ports of the case (the tester's MIKEY socket, the SUT's MIKEY socket). */
  udpPorts: number[];
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/**
 * pcap-filter of a case: its own ports (ephemeral per case for the tester's sockets and the embedded SUT),
 * and the tester's address (per worker for an external SUT whose ports are shared), so cases running in
 * parallel do not land in each other's pcap.
 */
export function wireFilter(scope: CaseWireScope): string {
  const ports = (proto: 'tcp' | 'udp', list: number[]) => [...new Set(list.filter((p) => p > 0))].map((p) => `${proto} port ${p}`);
  const alternatives = [...ports('tcp', scope.tcpPorts), ...ports('udp', scope.udpPorts)];
  if (alternatives.length === 0) throw new HarnessError('the case has no port to capture');
  const byPort = alternatives.join(' or ');
  return isUnspecified(scope.testerAddress) ? `(${byPort})` : `host ${canonicalAddress(scope.testerAddress)} and (${byPort})`;
}

/**
 * Starts the wire capture of a case and resolves once it is proven recording (lib/capture: a marker
 * datagram written to the file, or seen on the raw socket). A backend that cannot run here rejects with
 * HarnessError naming why (not root, no tcpdump): the run never falls back to another backend.
 */
export async function startWireCapture(kind: 'tcpdump' | 'raw', path: string, scope: CaseWireScope, timeoutMs = 10_000): Promise<CaptureBackend> {
  const capture = kind === 'tcpdump'
    ? createCapture('tcpdump', { path, iface: 'lo', filter: wireFilter(scope), timeoutMs })
    : createCapture('raw', { path, ports: [...new Set([...scope.tcpPorts, ...scope.udpPorts].filter((p) => p > 0))], timeoutMs });
  try {
    await capture.start();
  } catch (e) {
    if (e instanceof CaptureUnavailableError) throw new HarnessError(`capture backend '${kind}' is not available here: ${e.message} (MBMS_CAPTURE=${kind}; use tap or run as root with tcpdump installed)`, { cause: e });
    if (e instanceof CaptureBackendError) throw new HarnessError(`capture backend '${kind}' did not start: ${e.message}`, { cause: e });
    throw e;
  }
  return capture;
}

/**
 * Stops a wire capture (after the closing marker, lib/capture) and returns what it admits to have lost:
 * tcpdump's own count of packets the kernel dropped before it could read them (its exit statistics).
 */
export async function stopWireCapture(capture: CaptureBackend): Promise<{ frames: number; dropped?: number; caughtUp: boolean }> {
  const { frames, caughtUp = true } = await capture.stop();
  if (!(capture instanceof TcpdumpCapture)) return { frames, caughtUp };
  const m = /(\d+) packets? dropped by kernel/.exec(capture.diagnostics);
  return { frames, caughtUp, ...(m ? { dropped: Number(m[1]) } : {}) };
}

/** The live trace matched to the wire capture. */
export interface Reconciliation {
  /** The live events with the frame numbers of the wire pcap (unmatched ones: no frames). */
  events: TraceEvent[];
  /** Live events the wire capture lacks, within the capture window or cited by a finding. */
  missing: TraceEvent[];
  /** Captured events of the case's connections and sockets that the tester's sockets never reported. */
  extra: TraceEvent[];
  /** Wire frames of a live event id (undefined: not on the wire). */
  framesOf(eventId: number): number[] | undefined;
  /** Rewrites "frame N" / "frames N,M" citing tap frame numbers to the wire frame numbers. */
  rewriteText(text: string): string;
}

export interface ReconcileOptions {
  testerRole: 'ue' | 'bmsc';
  /** Live events with ids in (afterId, upToId] happened while the capture was proven recording. */
  window: { afterId: number; upToId: number };
  /** Event ids cited by findings (a cited event missing on the wire is always reported). */
  cited?: ReadonlySet<number>;
  /** UDP ports that carry MIKEY (added to every port of the live MIKEY events). */
  mikeyPorts?: number[];
  /** TCP server ports (added to every server port of the live HTTP events). */
  httpPorts?: number[];
  /** The tester's listening endpoints (added to those of the live events, which may have none of them). */
  testerEndpoints?: Endpoint[];
}

/** The address as the pcap shows it (lib/trace canonicalEndpoint: IPv4-mapped as IPv4, canonical IPv6). */
function canonicalAddress(address: string): string {
  try {
    return canonicalEndpoint({ address, port: 0 }).address;
  } catch {
    return normalizeAddress(address);
  }
}

const key = (ep: Endpoint) => `${canonicalAddress(ep.address)}|${ep.port}`;

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  if (a.port !== b.port) return false;
  const x = canonicalAddress(a.address);
  const y = canonicalAddress(b.address);
  return x === y || isUnspecified(x) || isUnspecified(y);
}

function sameHeaders(a: [string, string][], b: [string, string][]): boolean {
  return a.length === b.length && a.every(([n, v], i) => n === b[i]![0] && v === b[i]![1]);
}

/** Same protocol message: kind, direction (src and dst), octets (MIKEY) or request/response line, headers and body (HTTP). */
export function sameMessage(live: TraceEvent, wire: TraceEvent): boolean {
  if (live.kind !== wire.kind || !sameEndpoint(live.src, wire.src) || !sameEndpoint(live.dst, wire.dst)) return false;
  switch (live.kind) {
    case 'mikey': return wire.kind === 'mikey' && live.bytes.equals(wire.bytes);
    case 'http-request': return wire.kind === 'http-request' && live.method === wire.method && live.target === wire.target && sameHeaders(live.headers, wire.headers) && live.body.equals(wire.body);
    case 'http-response': return wire.kind === 'http-response' && live.status === wire.status && live.reason === wire.reason && sameHeaders(live.headers, wire.headers) && live.body.equals(wire.body);
    case 'note': return false;
  }
}

/**
 * Reads the wire pcap back and matches every live protocol event to the first unused captured event
 * carrying the same message (order kept per kind and direction). Captured events count as the case's when
 * they touch one of the tester's endpoints or the SUT's MIKEY/HTTP endpoints seen live; anything else
 * (marker datagrams, another client's connection to a shared SUT port) is not part of the case.
 */
export async function reconcileWithCapture(live: readonly TraceEvent[], wirePath: string, options: ReconcileOptions): Promise<Reconciliation> {
  const protocol = live.filter((e) => e.kind !== 'note');
  const testerEndpoints = new Set([...protocol.map((e) => key(e.actor === 'tester' ? e.src : e.dst)), ...(options.testerEndpoints ?? []).map(key)]);
  const sutEndpoints = new Set(protocol.map((e) => key(e.actor === 'tester' ? e.dst : e.src)));
  const mikeyPorts = [...new Set([...(options.mikeyPorts ?? []), ...protocol.filter((e) => e.kind === 'mikey').flatMap((e) => [e.src.port, e.dst.port])])];
  const httpPorts = [...new Set([...(options.httpPorts ?? []), ...protocol.flatMap((e) => (e.kind === 'http-request' ? [e.dst.port] : e.kind === 'http-response' ? [e.src.port] : []))])];
  const wire = await traceFromCapture(wirePath, {
    mikeyPorts: mikeyPorts.length ? mikeyPorts : [0],
    ...(httpPorts.length ? { httpPorts } : {}),
    testerRole: options.testerRole,
    roleOf: (ep) => (testerEndpoints.has(key(ep)) ? 'tester' : 'sut'),
  });
  const captured = wire.events.filter((e) => e.kind !== 'note');
  const used = new Set<number>();
  const frames = new Map<number, number[]>();
  const tapToWire = new Map<string, number[]>();
  const tapFrameToWire = new Map<number, number[]>();
  const missing: TraceEvent[] = [];
  for (const event of protocol) {
    const match = captured.find((c) => !used.has(c.id) && sameMessage(event, c));
    if (match) {
      used.add(match.id);
      frames.set(event.id, [...match.frames]);
      tapToWire.set(event.frames.join(','), [...match.frames]);
      for (const f of event.frames) tapFrameToWire.set(f, [...new Set([...(tapFrameToWire.get(f) ?? []), ...match.frames])]);
      continue;
    }
    const inWindow = event.id > options.window.afterId && event.id <= options.window.upToId;
    if (inWindow || options.cited?.has(event.id)) missing.push(event);
  }
  // Of the case: touches a tester endpoint, or comes from an endpoint of the SUT the tester talked to
  const ofCase = (e: TraceEvent) => testerEndpoints.has(key(e.src)) || testerEndpoints.has(key(e.dst)) || (e.kind === 'mikey' && sutEndpoints.has(key(e.src)));
  const extra = captured.filter((c) => !used.has(c.id) && ofCase(c));
  const events = live.map((e): TraceEvent => (e.kind === 'note' ? e : { ...e, frames: frames.get(e.id) ?? [] }));
  const rewriteText = (text: string): string =>
    text.replace(/\b(frames?) (\d+(?:,\d+)*)/g, (_all, word: string, list: string) => {
      const whole = tapToWire.get(list);
      if (whole) return `${whole.length > 1 ? 'frames' : 'frame'} ${whole.join(',')}`;
      const mapped = list.split(',').map((n) => tapFrameToWire.get(Number(n)));
      if (mapped.every((m) => m !== undefined)) {
        const all = [...new Set(mapped.flat())].sort((a, b) => a - b);
        return `${all.length > 1 ? 'frames' : 'frame'} ${all.join(',')}`;
      }
      return `tap ${word} ${list}`; // not on the wire: say which numbering it is
    });
  return { events, missing, extra, framesOf: (id) => frames.get(id), rewriteText };
}

function rewriteValue(value: unknown, rewrite: (s: string) => string): unknown {
  if (typeof value === 'string') return rewrite(value);
  if (Array.isArray(value)) return value.map((v) => rewriteValue(v, rewrite));
  if (value && typeof value === 'object' && !Buffer.isBuffer(value) && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteValue(v, rewrite)]));
  }
  return value;
}

/**
 * Points a finding at the wire pcap, in place (the same Finding objects are listed by the steps): the
 * evidence frames become the wire frames of its events, and frame numbers quoted in its texts follow.
 */
export function remapFinding(finding: Finding, rec: Reconciliation): void {
  const wireFrames = finding.evidence.events.flatMap((id) => rec.framesOf(id) ?? []);
  finding.evidence = { events: [...finding.evidence.events], frames: [...new Set(wireFrames)].sort((a, b) => a - b) };
  finding.message = rec.rewriteText(finding.message);
  if (finding.expected !== undefined) finding.expected = rewriteValue(finding.expected, rec.rewriteText);
  if (finding.actual !== undefined) finding.actual = rewriteValue(finding.actual, rec.rewriteText);
}

/** One line per event, for the findings about events missing or extra on the wire. */
export function describeWireEvent(e: TraceEvent, numbering: 'tap' | 'wire'): string {
  const where = `${e.src.address}:${e.src.port} -> ${e.dst.address}:${e.dst.port}`;
  const frames = e.frames.length ? ` (${numbering === 'tap' ? 'tap ' : ''}frames ${e.frames.join(',')})` : '';
  switch (e.kind) {
    case 'mikey': return `MIKEY ${e.bytes.length} octets ${where}${frames}`;
    case 'http-request': return `HTTP ${e.method} ${e.target} ${where}${frames}`;
    case 'http-response': return `HTTP ${e.status} ${e.reason} ${where}${frames}`;
    case 'note': return e.text;
  }
}

export interface WireOutcome {
  /** The case's trace: live events with wire frame numbers. */
  events: TraceEvent[];
  /** Whether the wire capture and the tester's sockets agree (nothing missing, nothing extra). */
  agreed: boolean;
}

/**
 * After a case recorded with a wire backend: reconciles the live trace with the wire pcap, points every
 * finding (already in `tracker`, shared with the steps) at the wire frames, and adds the case-level
 * findings about the capture: a live event the wire lacks is an ERROR (the attached pcap does not hold the
 * evidence; a fault of the harness or the capture, not of the SUT); a message of the SUT seen only on the
 * wire is INCONC (the tester did not judge everything the SUT sent); one of the tester's is an ERROR.
 */
export async function applyWireCapture(
  tracker: VerdictTracker,
  live: readonly TraceEvent[],
  wirePath: string,
  options: ReconcileOptions & { kind: CaptureKind; tapPath?: string; dropped?: number; caughtUp?: boolean },
): Promise<WireOutcome> {
  const cited = new Set(tracker.findings.flatMap((f) => f.evidence.events));
  let rec: Reconciliation;
  try {
    rec = await reconcileWithCapture(live, wirePath, { ...options, cited });
  } catch (e) {
    tracker.atStep(undefined);
    tracker.error('capture.read', `the ${options.kind} capture ${wirePath} could not be read back: ${(e as Error).message}`);
    return { events: live.map((e) => (e.kind === 'note' ? e : { ...e, frames: [] })), agreed: false };
  }
  for (const f of tracker.findings) remapFinding(f, rec);
  const events = rec.events.map((e) => (e.kind === 'note' ? { ...e, text: rec.rewriteText(e.text) } : e));
  tracker.atStep(undefined);
  const dropNote = options.dropped ? ` (${options.kind} reports ${options.dropped} packet(s) dropped by the kernel: its capture buffer overran)` : '';
  const lagNote = options.caughtUp === false ? ` (the closing marker never reached the ${options.kind} capture: it had not caught up when stopped)` : '';
  const tapNote = `${dropNote}${lagNote}${options.tapPath ? `; the tester's own record is kept in ${options.tapPath}` : ''}`;
  if (rec.missing.length) {
    tracker.error(
      'capture.missing',
      `the ${options.kind} capture lacks ${rec.missing.length} message(s) the tester's sockets sent or received, so the attached pcap does not hold the complete evidence: ${rec.missing.map((e) => `event ${e.id} ${describeWireEvent(e, 'tap')}`).join('; ')}${tapNote}`,
      { events: rec.missing.map((e) => e.id), frames: [] },
    );
  }
  const extraSut = rec.extra.filter((e) => e.actor !== 'tester');
  const extraTester = rec.extra.filter((e) => e.actor === 'tester');
  if (extraSut.length) {
    tracker.inconc(
      'capture.extra',
      `the ${options.kind} capture holds ${extraSut.length} message(s) of the SUT that the tester's sockets never reported, so they were not judged: ${extraSut.map((e) => describeWireEvent(e, 'wire')).join('; ')}${tapNote}`,
      { events: [], frames: [...new Set(extraSut.flatMap((e) => e.frames))].sort((a, b) => a - b) },
    );
  }
  if (extraTester.length) {
    tracker.error(
      'capture.extra',
      `the ${options.kind} capture holds ${extraTester.length} message(s) from the tester's endpoints that its sockets never reported: ${extraTester.map((e) => describeWireEvent(e, 'wire')).join('; ')}${tapNote}`,
      { events: [], frames: [...new Set(extraTester.flatMap((e) => e.frames))].sort((a, b) => a - b) },
    );
  }
  return { events, agreed: rec.missing.length === 0 && rec.extra.length === 0 };
}

/** Where the tester's own (tap) record goes when the case pcap is a wire capture: next to it. */
export function tapSidePath(pcapPath: string): string {
  return pcapPath.endsWith('.pcap') ? `${pcapPath.slice(0, -'.pcap'.length)}.tap.pcap` : `${pcapPath}.tap.pcap`;
}
