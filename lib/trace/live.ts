// LiveTrace: the tester's sockets report each datagram and each TCP byte chunk once; the tap recorder
// writes the pcap frames and the trace gets the protocol event with those frame numbers filled in.
import { type HttpMessage, HttpConnectionParser, addressToBytes, bytesToAddress, type TapRecorderOptions, type TapTcpConnection, TapRecorder, epochMs } from '../capture/index.ts';
import type { Socket } from 'node:net';
import { TraceClosedError } from './errors.ts';
import { decodeMikeyFields } from './mikey-event.ts';
import { Trace } from './trace.ts';
import type { Endpoint, HttpRequestEvent, HttpResponseEvent, MikeyEvent, NoteEvent } from './types.ts';

/**
 * The endpoint as the pcap shows it (IPv4-mapped IPv6 as IPv4, canonical IPv6 text), so live events
 * and events read back from the pcap name endpoints identically.
 */
export function canonicalEndpoint(ep: Endpoint): Endpoint {
  return { address: bytesToAddress(addressToBytes(ep.address)), port: ep.port };
}

/** Which way a recorded unit went, seen from the tester. */
export type LiveDirection = 'sent' | 'received';

export interface LiveTraceOptions extends Omit<TapRecorderOptions, 'path'> {
  /** pcap file to write (created/overwritten). */
  pcapPath: string;
  /** The side the tester plays: 'ue' when testing a BM-SC, 'bmsc' when testing a UE. */
  testerRole: 'ue' | 'bmsc';
}

export interface LiveHttpResult {
  /** Frame numbers written for these bytes. */
  frames: number[];
  /** HTTP messages these bytes completed (usually zero or one), already appended to the trace. */
  events: (HttpRequestEvent | HttpResponseEvent)[];
}

/**
 * One recorded TCP connection. The tester reports every byte chunk it writes (`sent`) and every chunk
 * its socket delivers (`received`), in the order they happened; HTTP messages are framed from those
 * bytes (RFC 9112), so the events hold exactly what was on the connection.
 */
export class LiveTcpConnection {
  /** Connection number, as `conn` in the HTTP events (same numbering as an offline read of the pcap). */
  readonly id: number;
  readonly tester: Endpoint;
  readonly sut: Endpoint;
  /** Whether the tester opened the connection (then it sends requests). */
  readonly testerIsClient: boolean;
  /** Frames of the synthetic handshake. */
  readonly openFrames: readonly number[];
  private readonly live: LiveTrace;
  private readonly tap: TapTcpConnection;
  private readonly parser: HttpConnectionParser;
  private readonly offsets = { client: 0, server: 0 };
  private completed: HttpMessage[] = [];
  private readonly requestIds = new Map<number, number>();
  private readonly unpaired = new Map<number, HttpResponseEvent[]>();

  /** @internal created by LiveTrace.openTcp */
  constructor(live: LiveTrace, tap: TapTcpConnection, testerIsClient: boolean, tester: Endpoint, sut: Endpoint) {
    this.live = live;
    this.tap = tap;
    this.id = tap.id;
    this.testerIsClient = testerIsClient;
    this.tester = tester;
    this.sut = sut;
    this.openFrames = tap.openFrames;
    this.parser = new HttpConnectionParser({
      onMessage: (m) => this.completed.push(m),
      onError: (e) =>
        this.live.addProblem({ kind: 'http-error', time: e.time, frames: e.frames, conn: this.id, code: e.error.code, message: e.error.message }),
    });
  }

  get closed(): boolean {
    return this.tap.state === 'closed';
  }

  /** Bytes the tester wrote to the socket. */
  sent(bytes: Uint8Array, time?: number): LiveHttpResult {
    return this.record(this.testerIsClient, bytes, time);
  }

  /** Bytes the tester's socket received. */
  received(bytes: Uint8Array, time?: number): LiveHttpResult {
    return this.record(!this.testerIsClient, bytes, time);
  }

  /** Records the FIN exchange, started by the tester or by the SUT; returns its frames. */
  close(by: 'tester' | 'sut' = 'tester', time?: number): number[] {
    if (this.closed) return [];
    const fromClient = (by === 'tester') === this.testerIsClient;
    const frames = this.live.recorder.tcpClose(this.tap, fromClient, time ?? this.live.now());
    this.endStreams();
    return frames;
  }

  /** Records an RST sent by the tester or the SUT (aborted connection). */
  reset(by: 'tester' | 'sut', time?: number): number[] {
    if (this.closed) return [];
    const frames = this.live.recorder.tcpReset(this.tap, (by === 'tester') === this.testerIsClient, time ?? this.live.now());
    this.endStreams();
    return frames;
  }

  private endStreams(): void {
    this.parser.requests.end();
    this.parser.responses.end();
    this.flush();
  }

  private record(fromClient: boolean, bytes: Uint8Array, time?: number): LiveHttpResult {
    if (this.closed) throw new TraceClosedError(`TCP connection ${this.id}`);
    const t = time ?? this.live.now();
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const frames = this.live.recorder.tcpData(this.tap, fromClient, buffer, t);
    // one parser chunk per frame, so each message cites exactly the frames that carried it
    const mss = this.live.recorder.maxSegmentSize(this.tap.client);
    const stream = fromClient ? this.parser.requests : this.parser.responses;
    const side = fromClient ? 'client' : 'server';
    frames.forEach((frame, i) => {
      const data = Buffer.from(buffer.subarray(i * mss, Math.min((i + 1) * mss, buffer.length)));
      stream.push({ data, frame, time: t, offset: this.offsets[side] });
      this.offsets[side] += data.length;
    });
    return { frames, events: this.flush() };
  }

  private flush(): (HttpRequestEvent | HttpResponseEvent)[] {
    const messages = this.completed;
    this.completed = [];
    return messages.map((m) => {
      const fromClient = m.kind === 'request';
      const testerSent = fromClient === this.testerIsClient;
      const base = {
        time: m.lastTime,
        frames: m.frames,
        src: testerSent ? this.tester : this.sut,
        dst: testerSent ? this.sut : this.tester,
        actor: testerSent ? ('tester' as const) : ('sut' as const),
        conn: this.id,
        headers: m.headers,
        body: m.body,
      };
      if (m.kind === 'request') {
        const request = this.live.append({ ...base, kind: 'http-request' as const, method: m.method, target: m.target });
        this.requestIds.set(m.index, request.id);
        // a response that came before its request was complete (100-continue, early 401) is paired now
        for (const early of this.unpaired.get(m.index) ?? []) early.requestId = request.id;
        this.unpaired.delete(m.index);
        return request;
      }
      const input: Omit<HttpResponseEvent, 'id'> = { ...base, kind: 'http-response', status: m.status, reason: m.reason };
      const requestId = m.requestIndex === undefined ? undefined : this.requestIds.get(m.requestIndex);
      if (requestId !== undefined) input.requestId = requestId;
      const response = this.live.append(input);
      if (requestId === undefined && m.requestIndex !== undefined) {
        const list = this.unpaired.get(m.requestIndex) ?? [];
        list.push(response);
        this.unpaired.set(m.requestIndex, list);
      }
      return response;
    });
  }
}

export class LiveTrace extends Trace {
  readonly recorder: TapRecorder;
  readonly pcapPath: string;
  readonly now: () => number;
  private readonly connections: LiveTcpConnection[] = [];

  constructor(options: LiveTraceOptions) {
    super({ testerRole: options.testerRole });
    const { pcapPath, testerRole: _role, ...tap } = options;
    this.pcapPath = pcapPath;
    this.now = options.now ?? epochMs;
    this.recorder = new TapRecorder({ ...tap, path: pcapPath, now: this.now });
  }

  /** Frames written so far (the next frame gets frames + 1). */
  get frames(): number {
    return this.recorder.frames;
  }

  /**
   * A MIKEY datagram the tester sent (`local` -> `remote`) or received (`remote` -> `local`): writes the
   * frame and appends a MikeyEvent decoded leniently (decodeError keeps the offset of a bad message).
   */
  recordMikey(direction: LiveDirection, local: Endpoint, remote: Endpoint, bytes: Uint8Array, time?: number): MikeyEvent {
    const t = time ?? this.now();
    const [src, dst] = (direction === 'sent' ? [local, remote] : [remote, local]).map(canonicalEndpoint);
    const copy = Buffer.from(bytes);
    const frames = this.recorder.udp(src, dst, copy, t);
    return this.append({
      kind: 'mikey' as const,
      time: t,
      frames,
      src,
      dst,
      actor: direction === 'sent' ? ('tester' as const) : ('sut' as const),
      bytes: copy,
      ...decodeMikeyFields(copy),
    });
  }

  /** Any other UDP datagram: recorded in the pcap only; returns its frame numbers. */
  recordUdp(direction: LiveDirection, local: Endpoint, remote: Endpoint, bytes: Uint8Array, time?: number): number[] {
    const [src, dst] = direction === 'sent' ? [local, remote] : [remote, local];
    return this.recorder.udp(src, dst, bytes, time ?? this.now());
  }

  /**
   * Records a TCP connection's handshake: `testerIsClient` when the tester connected (its HTTP client),
   * false when the SUT connected to the tester's server. Report its bytes through the returned object.
   */
  openTcp(testerIsClient: boolean, local: Endpoint, remote: Endpoint, time?: number): LiveTcpConnection {
    const [client, server] = testerIsClient ? [local, remote] : [remote, local];
    const tap = this.recorder.tcpOpen(client, server, time ?? this.now());
    const conn = new LiveTcpConnection(this, tap, testerIsClient, canonicalEndpoint(local), canonicalEndpoint(remote));
    this.connections.push(conn);
    return conn;
  }

  /**
   * Records a tester `net.Socket` by itself: the handshake when it is connected, every chunk written
   * through `write`/`end` as sent, every 'data' chunk as received, and the FIN exchange (or RST) when it
   * closes. Resolves with the connection once the handshake is recorded. Works for raw `net` sockets and
   * for the socket of an `http.request` client. Not for sockets of an `http.Server`: Node reads those
   * natively without 'data' events, so a tester server reports its bytes through `openTcp` instead.
   */
  attachSocket(socket: Socket, testerIsClient: boolean): Promise<LiveTcpConnection> {
    let conn: LiveTcpConnection | undefined;
    const early: Buffer[] = [];
    let endedBy: 'tester' | 'sut' | undefined;
    const sent = (chunk: unknown, encoding: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);
      if (bytes.length === 0) return;
      if (conn) {
        if (!conn.closed) conn.sent(bytes);
      } else early.push(bytes);
    };
    const write = socket.write;
    const end = socket.end;
    socket.write = function (this: Socket, chunk: unknown, encoding?: unknown, cb?: unknown) {
      sent(chunk, encoding);
      return (write as (...args: unknown[]) => boolean).call(this, chunk, encoding, cb);
    } as Socket['write'];
    socket.end = function (this: Socket, chunk?: unknown, encoding?: unknown, cb?: unknown) {
      sent(chunk, encoding);
      endedBy ??= 'tester';
      return (end as (...args: unknown[]) => Socket).call(this, chunk, encoding, cb);
    } as Socket['end'];
    socket.on('data', (d: Buffer) => {
      if (conn && !conn.closed) conn.received(d);
    });
    socket.on('end', () => {
      endedBy ??= 'sut';
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (conn && !conn.closed && e.code === 'ECONNRESET') conn.reset('sut');
    });
    socket.on('close', () => {
      if (conn && !conn.closed) conn.close(endedBy ?? 'tester');
    });
    return new Promise((resolve, reject) => {
      const start = () => {
        const local = { address: socket.localAddress!, port: socket.localPort! };
        const remote = { address: socket.remoteAddress!, port: socket.remotePort! };
        conn = this.openTcp(testerIsClient, local, remote);
        for (const bytes of early.splice(0)) conn.sent(bytes);
        resolve(conn);
      };
      if (!socket.connecting && socket.remoteAddress !== undefined) start();
      else {
        socket.once('connect', start);
        socket.once('close', () => conn ?? reject(new TraceClosedError('socket that never connected')));
      }
    });
  }

  /** A tester action (control-API trigger, operator prompt, ...) on the timeline; no frames. */
  note(text: string, where: { src?: Endpoint; dst?: Endpoint } = {}, time?: number): NoteEvent {
    const none = { address: '0.0.0.0', port: 0 };
    return this.append({ kind: 'note' as const, time: time ?? this.now(), frames: [], src: where.src ?? none, dst: where.dst ?? none, actor: 'tester' as const, text });
  }

  /** Records FINs for connections still open, closes the pcap; returns its path and frame count. */
  close(): { path: string; frames: number } {
    for (const c of this.connections) if (!c.closed) c.close('tester');
    return { path: this.pcapPath, frames: this.recorder.close() };
  }
}
