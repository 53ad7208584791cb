// A Trace from a capture file (offline analysis): UDP to/from the MIKEY ports becomes MikeyEvents,
// TCP becomes HTTP request/response events paired by requestId, each with its frame numbers.
import { type Endpoint as CaptureEndpoint, type HttpMessage, type TcpConnectionInfo, dissectCapture } from '../capture/index.ts';
import { TraceCaptureError } from './errors.ts';
import { decodeMikeyFields } from './mikey-event.ts';
import { Trace, type TraceProblem } from './trace.ts';
import type { Actor, Endpoint, HttpRequestEvent, HttpResponseEvent, MikeyEvent, TraceEventInput } from './types.ts';

export interface TraceFromCaptureOptions {
  /** UDP ports carrying MIKEY (protocol §9 O1, default profile: [4359]). */
  mikeyPorts: number[];
  /** TCP server ports carrying HTTP; default: every TCP connection is parsed as HTTP. */
  httpPorts?: number[];
  /**
   * Who sent from this endpoint. Default: HTTP requests 'ue', responses 'bmsc'; MIKEY to a MIKEY port
   * 'bmsc' (key delivery to the UE, TS 33.246 6.3.2), from a MIKEY port 'ue' (verification message).
   */
  roleOf?: (ep: Endpoint) => Actor | undefined;
  /** Role of the tester when the capture comes from a live run (for Trace.sentByUe with tester/sut actors). */
  testerRole?: 'ue' | 'bmsc';
}

type Pending = { input: TraceEventInput; firstFrame: number; requestKey?: string; key?: string };

/** Reads the capture in one streaming pass; events are ordered by time (ties by first frame) before ids are given. */
export async function traceFromCapture(path: string, options: TraceFromCaptureOptions): Promise<Trace> {
  const mikeyPorts = new Set(options.mikeyPorts);
  const httpPorts = options.httpPorts ? new Set(options.httpPorts) : undefined;
  const pending: Pending[] = [];
  const problems: TraceProblem[] = [];
  const actor = (ep: Endpoint, fallback: Actor): Actor => options.roleOf?.(ep) ?? fallback;
  const httpEvent = (conn: TcpConnectionInfo, m: HttpMessage): Pending => {
    const base = { time: m.lastTime, frames: m.frames, conn: conn.id, headers: m.headers, body: m.body };
    if (m.kind === 'request') {
      const input: Omit<HttpRequestEvent, 'id'> = {
        kind: 'http-request', ...base, src: conn.client, dst: conn.server, actor: actor(conn.client, 'ue'), method: m.method, target: m.target,
      };
      return { input, firstFrame: m.frames[0] ?? 0, key: `${conn.id}/${m.index}` };
    }
    const input: Omit<HttpResponseEvent, 'id'> = {
      kind: 'http-response', ...base, src: conn.server, dst: conn.client, actor: actor(conn.server, 'bmsc'), status: m.status, reason: m.reason,
    };
    return { input, firstFrame: m.frames[0] ?? 0, requestKey: m.requestIndex === undefined ? undefined : `${conn.id}/${m.requestIndex}` };
  };
  try {
    await dissectCapture(
      path,
      {
        onUdp: (d) => {
          const toMikey = mikeyPorts.has(d.dst.port);
          if (!toMikey && !mikeyPorts.has(d.src.port)) return;
          const bytes = Buffer.from(d.payload);
          const input: Omit<MikeyEvent, 'id'> = {
            kind: 'mikey', time: d.time, frames: d.frames, src: d.src, dst: d.dst, actor: actor(d.src, toMikey ? 'bmsc' : 'ue'), bytes, ...decodeMikeyFields(bytes),
          };
          pending.push({ input, firstFrame: d.frames[0] });
        },
        onHttpMessage: (conn, m) => pending.push(httpEvent(conn, m)),
        onHttpError: (conn, _from, e) => problems.push({ kind: 'http-error', time: e.time, frames: e.frames, conn: conn.id, code: e.error.code, message: e.error.message }),
      },
      {
        isHttp: httpPorts ? (conn) => httpPorts.has(conn.server.port) : undefined,
        isServer: httpPorts ? (ep: CaptureEndpoint) => httpPorts.has(ep.port) : undefined,
      },
    );
  } catch (e) {
    throw new TraceCaptureError(path, e);
  }
  pending.sort((a, b) => a.input.time - b.input.time || a.firstFrame - b.firstFrame);
  const trace = new Trace({ testerRole: options.testerRole });
  const requestIds = new Map<string, number>();
  const responses: { event: HttpResponseEvent; requestKey: string }[] = [];
  for (const p of pending) {
    const event = trace.append(p.input);
    if (p.key !== undefined) requestIds.set(p.key, event.id);
    if (p.requestKey !== undefined && event.kind === 'http-response') responses.push({ event, requestKey: p.requestKey });
  }
  // Paired after all ids exist: an early response (401 before the body is in) may sort before its request
  for (const { event, requestKey } of responses) {
    const id = requestIds.get(requestKey);
    if (id !== undefined) event.requestId = id;
  }
  for (const problem of problems) trace.addProblem(problem);
  return trace;
}
