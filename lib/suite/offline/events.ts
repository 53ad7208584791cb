// A bounded, streaming view of a capture as trace events (the lib/trace model): one pass through
// lib/capture's Dissector, events handed to a consumer in time order and then forgotten. Unlike
// lib/trace traceFromCapture (which keeps every event to sort them), memory here is bounded by the
// reorder window, so a capture of a million packets costs the same as one of a hundred.
//
// Numbering follows traceFromCapture: ids increase with (time, first frame) and a response is paired
// with its request (requestId). Events complete slightly out of time order (an HTTP message's time is
// its last byte; a 401 may complete before the request body does), so they wait in a small buffer until
// the capture clock has moved `reorderMs` past them (or the buffer holds `reorderLimit` events).
import {
  Dissector, readCapture, detectCaptureFormat,
  type Endpoint as CaptureEndpoint, type HttpMessage, type TcpConnectionInfo, type CaptureFormat, type CaptureTruncation,
} from '../../capture/index.ts';
import { decodeMikeyFields, type TraceEvent, type TraceEventInput, type TraceProblem, type Endpoint } from '../../trace/index.ts';
import { AnalyzeInputError } from './errors.ts';

/** A UDP datagram that is not MIKEY (no MIKEY port on either side): only its addressing is kept. */
export interface UdpRecord { kind: 'udp'; time: number; frames: number[]; src: Endpoint; dst: Endpoint; length: number }

export interface EventConsumer {
  onEvent(event: TraceEvent): void;
  onUdp?(record: UdpRecord): void;
  onProblem?(problem: TraceProblem): void;
  /** The capture clock (time of the last frame read), after the events up to it were delivered. */
  onClock?(time: number): void;
}

export interface StreamOptions {
  mikeyPorts: number[];
  /** TCP server ports carrying HTTP; default: every TCP connection is parsed as HTTP. */
  httpPorts?: number[];
  reorderMs?: number;
  reorderLimit?: number;
  /**
   * Decode MIKEY payloads into `message` / `decodeError` (default true, as lib/trace does). A consumer
   * that decodes the datagram itself anyway turns it off to decode once.
   */
  decodeMikey?: boolean;
}

export interface StreamSummary {
  format: CaptureFormat; frames: number; events: number; firstTime?: number; lastTime?: number;
  /** The file ends inside a record: judged up to its last whole record (windows cut short end INCONC). */
  truncated?: CaptureTruncation;
}

type Item = { time: number; firstFrame: number; seq: number } & (
  | { type: 'event'; input: TraceEventInput; key?: string; requestKey?: string }
  | { type: 'udp'; record: UdpRecord }
);

/** Streams the capture at `path` into `consumer`; resolves once every event was delivered. */
export async function streamCapture(path: string, options: StreamOptions, consumer: EventConsumer): Promise<StreamSummary> {
  let format: CaptureFormat;
  try {
    format = await detectCaptureFormat(path);
  } catch (e) {
    throw new AnalyzeInputError(path, captureReason(e, path));
  }
  const mikeyPorts = new Set(options.mikeyPorts);
  const httpPorts = options.httpPorts?.length ? new Set(options.httpPorts) : undefined;
  const reorderMs = options.reorderMs ?? 2000;
  const reorderLimit = options.reorderLimit ?? 4096;
  const decode = options.decodeMikey ?? true;
  let pending: Item[] = [];
  let seq = 0;
  let nextId = 1;
  let events = 0;
  // request key (conn/index) -> event id, kept while the connection may still answer
  const requestIds = new Map<string, number>();
  // responses delivered before their request (an early 401): paired when the request gets its id
  const orphanResponses = new Map<string, TraceEvent & { kind: 'http-response' }>();

  const push = (item: Item) => {
    pending.push(item);
  };
  const deliver = (item: Item) => {
    if (item.type === 'udp') {
      consumer.onUdp?.(item.record);
      return;
    }
    const event = { ...item.input, id: nextId++ } as TraceEvent;
    events++;
    if (item.key !== undefined) {
      requestIds.set(item.key, event.id);
      const early = orphanResponses.get(item.key);
      if (early) {
        early.requestId = event.id;
        orphanResponses.delete(item.key);
      }
    }
    if (item.requestKey !== undefined && event.kind === 'http-response') {
      const id = requestIds.get(item.requestKey);
      if (id !== undefined) {
        event.requestId = id;
        requestIds.delete(item.requestKey);
      } else if (orphanResponses.size < reorderLimit) orphanResponses.set(item.requestKey, event);
    }
    consumer.onEvent(event);
  };
  const order = (a: Item, b: Item) => a.time - b.time || a.firstFrame - b.firstFrame || a.seq - b.seq;
  const flush = (watermark: number) => {
    if (pending.length === 0) return;
    pending.sort(order);
    let n = 0;
    while (n < pending.length && pending[n]!.time <= watermark) n++;
    // Over the bound: release the oldest half at once (one sort per reorderLimit/2 items, not per frame)
    if (pending.length - n > reorderLimit) n = pending.length - (reorderLimit >> 1);
    if (n === 0) return;
    const ready = pending.slice(0, n);
    pending = pending.slice(n);
    for (const item of ready) deliver(item);
  };

  const httpItem = (conn: TcpConnectionInfo, m: HttpMessage): Item => {
    const base = { time: m.lastTime, frames: m.frames, conn: conn.id, headers: m.headers, body: m.body };
    const firstFrame = m.frames[0] ?? 0;
    if (m.kind === 'request') {
      return { type: 'event', time: m.lastTime, firstFrame, seq: seq++, key: `${conn.id}/${m.index}`,
        input: { kind: 'http-request', ...base, src: conn.client, dst: conn.server, actor: 'ue', method: m.method, target: m.target } };
    }
    return { type: 'event', time: m.lastTime, firstFrame, seq: seq++, requestKey: m.requestIndex === undefined ? undefined : `${conn.id}/${m.requestIndex}`,
      input: { kind: 'http-response', ...base, src: conn.server, dst: conn.client, actor: 'bmsc', status: m.status, reason: m.reason } };
  };

  const dissector = new Dissector(
    {
      onUdp: (d) => {
        const toMikey = mikeyPorts.has(d.dst.port);
        if (!toMikey && !mikeyPorts.has(d.src.port)) {
          push({ type: 'udp', time: d.time, firstFrame: d.frames[0] ?? 0, seq: seq++, record: { kind: 'udp', time: d.time, frames: d.frames, src: d.src, dst: d.dst, length: d.payload.length } });
          return;
        }
        const bytes = Buffer.from(d.payload);
        push({ type: 'event', time: d.time, firstFrame: d.frames[0] ?? 0, seq: seq++,
          input: { kind: 'mikey', time: d.time, frames: d.frames, src: d.src, dst: d.dst, actor: toMikey ? 'bmsc' : 'ue', bytes, ...(decode ? decodeMikeyFields(bytes) : {}) } });
      },
      onHttpMessage: (conn, m) => push(httpItem(conn, m)),
      onHttpError: (conn, _from, e) => consumer.onProblem?.({ kind: 'http-error', time: e.time, frames: e.frames, conn: conn.id, code: e.error.code, message: e.error.message }),
      onConnectionClose: (conn) => {
        for (const key of requestIds.keys()) if (key.startsWith(`${conn.id}/`)) requestIds.delete(key);
      },
    },
    {
      isHttp: httpPorts ? (conn) => httpPorts.has(conn.server.port) : undefined,
      isServer: httpPorts ? (ep: CaptureEndpoint) => httpPorts.has(ep.port) : undefined,
    },
  );

  let frames = 0;
  let firstTime: number | undefined;
  let lastTime: number | undefined;
  let truncated: CaptureTruncation | undefined;
  try {
    for await (const frame of readCapture(path, { onTruncated: (t) => { truncated = t; } })) {
      frames = frame.frame;
      firstTime ??= frame.time;
      lastTime = lastTime === undefined ? frame.time : Math.max(lastTime, frame.time);
      dissector.push(frame);
      if (pending.length > reorderLimit || (pending.length > 0 && (frames & 255) === 0)) flush(lastTime - reorderMs);
      if ((frames & 1023) === 0) consumer.onClock?.(lastTime - reorderMs);
    }
    dissector.end();
  } catch (e) {
    if (e instanceof AnalyzeInputError) throw e;
    throw new AnalyzeInputError(path, captureReason(e, path));
  }
  flush(Number.POSITIVE_INFINITY);
  if (lastTime !== undefined) consumer.onClock?.(lastTime);
  return { format, frames, events, firstTime, lastTime, ...(truncated ? { truncated } : {}) };
}

function captureReason(e: unknown, path: string): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return 'no such file';
  if (err?.code === 'EISDIR') return 'is a directory';
  if (err?.code === 'EACCES') return 'permission denied';
  const line = (err?.message ?? String(e)).split('\n')[0]!;
  return line.startsWith(`${path}: `) ? line.slice(path.length + 2) : line;
}
