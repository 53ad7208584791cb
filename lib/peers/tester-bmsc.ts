// The tester's BM-SC emulator, for a UE under test (reference §1, §7.2): an HTTP server that hands each
// request of the UE to the case (which decides the answer step by step: 401 challenges with options, 200
// with a right or wrong rspauth, nextnonce) and a UDP socket that sends MIKEY messages built with the
// lib/mikey builders and receives the UE's verification messages. Every octet is recorded through the
// case's LiveTrace. The request/answer policy lives in the suite's steps, not here.

import { createServer, type Server, type Socket } from 'node:net';
import type { Endpoint, HttpRequestEvent, HttpResponseEvent, LiveTcpConnection, LiveTrace, MikeyEvent } from '../trace/index.ts';
import { PeerBindError, PeerClosedError } from './errors.ts';
import { serializeResponse } from './http-wire.ts';
import { RecordedUdpSocket } from './udp.ts';

export interface TesterBmscOptions {
  trace: LiveTrace;
  bindAddress: string;
  /** HTTP port of the MSK request server (0 = ephemeral; the UE is told where to connect). */
  httpPort: number;
  /** Source port of MIKEY messages, where ACKs come back (O17). */
  mikeyPort: number;
}

/** A request of the UE waiting for the case to answer it. */
export interface PendingRequest {
  event: HttpRequestEvent;
  /** Answered already (a request is answered once). */
  answered: boolean;
  /** @internal */
  connection: LiveTcpConnection;
  /** @internal */
  socket: Socket;
}

export interface HttpAnswer {
  status: number;
  reason?: string;
  headers?: [string, string][];
  body?: Buffer;
  /** Close the connection after the answer (default false: keep-alive, RFC 9112 §9.3). */
  close?: boolean;
}

const REASONS: Record<number, string> = { 200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };

export class TesterBmsc {
  readonly options: TesterBmscOptions;
  readonly mikey: RecordedUdpSocket;
  readonly http: Endpoint;
  private readonly server: Server;
  private readonly queue: PendingRequest[] = [];
  private readonly waiters: ((r: PendingRequest) => void)[] = [];
  private readonly sockets = new Set<Socket>();
  private closed = false;

  private constructor(options: TesterBmscOptions, server: Server, http: Endpoint, mikey: RecordedUdpSocket) {
    this.options = options;
    this.server = server;
    this.http = http;
    this.mikey = mikey;
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: TesterBmscOptions): Promise<TesterBmsc> {
    const server = createServer({ allowHalfOpen: false });
    const http = await new Promise<Endpoint>((resolve, reject) => {
      server.once('error', (e) => reject(new PeerBindError('BM-SC HTTP', options.bindAddress, options.httpPort, { cause: e })));
      server.listen({ host: options.bindAddress, port: options.httpPort, exclusive: true }, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? { address: a.address, port: a.port } : { address: options.bindAddress, port: options.httpPort });
      });
    });
    let mikey: RecordedUdpSocket;
    try {
      mikey = await RecordedUdpSocket.bind(options.trace, 'BM-SC MIKEY', options.bindAddress, options.mikeyPort);
    } catch (e) {
      server.close();
      throw e;
    }
    return new TesterBmsc(options, server, http, mikey);
  }

  private accept(socket: Socket): void {
    if (this.closed) { socket.destroy(); return; }
    this.sockets.add(socket);
    const local = { address: socket.localAddress ?? this.http.address, port: socket.localPort ?? this.http.port };
    const remote = { address: socket.remoteAddress ?? '0.0.0.0', port: socket.remotePort ?? 0 };
    const connection = this.options.trace.openTcp(false, local, remote);
    socket.on('data', (chunk: Buffer) => {
      if (connection.closed) return;
      for (const event of connection.received(chunk).events) {
        if (event.kind !== 'http-request') continue;
        const pending: PendingRequest = { event, answered: false, connection, socket };
        const waiter = this.waiters.shift();
        if (waiter) waiter(pending);
        else this.queue.push(pending);
      }
    });
    socket.on('end', () => { if (!connection.closed) connection.close('sut'); });
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => { if (!connection.closed) connection.reset('sut'); });
  }

  /** The next request of the UE not yet handed out, waiting at most timeoutMs; undefined on timeout. */
  nextRequest(timeoutMs: number, signal?: AbortSignal): Promise<PendingRequest | undefined> {
    if (this.closed) return Promise.reject(new PeerClosedError('BM-SC'));
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const waiter = (r: PendingRequest) => { clearTimeout(timer); signal?.removeEventListener('abort', onAbort); resolve(r); };
      const drop = () => { const i = this.waiters.indexOf(waiter); if (i >= 0) this.waiters.splice(i, 1); };
      const onAbort = () => { clearTimeout(timer); drop(); resolve(undefined); };
      const timer = setTimeout(() => { drop(); signal?.removeEventListener('abort', onAbort); resolve(undefined); }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Requests received and not yet handed out (e.g. for silence checks). */
  get unclaimed(): readonly PendingRequest[] {
    return this.queue;
  }

  /** Writes the answer to a request; returns the recorded response event. */
  respond(pending: PendingRequest, answer: HttpAnswer): HttpResponseEvent | undefined {
    if (pending.answered) throw new PeerClosedError('request (already answered)');
    pending.answered = true;
    const body = answer.body ?? Buffer.alloc(0);
    const headers: [string, string][] = [...(answer.headers ?? [])];
    if (!headers.some(([n]) => n.toLowerCase() === 'content-length')) headers.push(['Content-Length', String(body.length)]);
    if (answer.close) headers.push(['Connection', 'close']);
    const raw = serializeResponse(answer.status, answer.reason ?? REASONS[answer.status] ?? 'Status', headers, body);
    if (pending.connection.closed) return undefined;
    const recorded = pending.connection.sent(raw);
    pending.socket.write(raw);
    if (answer.close) {
      pending.socket.end();
      pending.connection.close('tester');
    }
    return recorded.events.find((e): e is HttpResponseEvent => e.kind === 'http-response');
  }

  /** Sends a MIKEY datagram from the BM-SC's MIKEY socket. */
  sendMikey(bytes: Buffer, to: Endpoint): Promise<MikeyEvent> {
    return this.mikey.send(bytes, to);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) void w;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.mikey.close();
  }
}
