// The tester's BM-SC emulator, for a UE under test (protocol §1, §7.2): an HTTP server that hands each
// request of the UE to the case (which decides the answer step by step) and answers it with octets it writes
// itself — 401 Digest challenges (stale, qop, algorithm; RFC 2617 §3.2.1), 200 OK with the MSK response body
// and Authentication-Info whose rspauth is right, wrong or absent, with or without nextnonce (§3.2.3) — and a
// UDP socket that sends MSK messages, MTK messages and solicited-pull triggers composed with the lib/mikey
// builders (tester-bmsc-mikey.ts: counters per MUK and per MSK, corruptions) and receives whatever the UE
// sends back. The server is node:net rather than node:http so that the pcap and the trace hold exactly the
// octets on the connection. Every octet is recorded through the case's LiveTrace. The request/answer policy
// lives in the suite's steps, not here.
//
// What a fixture needs: `url` (the BM-SC origin the UE is configured with), `mikeyEndpoint` (the source of
// every MIKEY message, where verification messages must come back, O17), and configure() with the UE's
// identity, services and MIKEY endpoint once the SUT session is open.

import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  computeRspauth, formatAuthenticationInfo, formatChallenge, parseCredentials,
  type AuthenticationInfo, type DigestChallenge, type DigestCredentials,
} from '../digest/index.ts';
import {
  buildMskResponseBody, digestPassword, parseMskRequestBody, realm,
  type MbmsProfile, type MskRequestEntry, type MskResponseEntry,
} from '../mbms/index.ts';
import type { Endpoint, HttpRequestEvent, HttpResponseEvent, LiveTcpConnection, LiveTrace, MikeyEvent } from '../trace/index.ts';
import { PeerArgumentError, PeerBindError, PeerClosedError } from './errors.ts';
import { serializeResponse } from './http-wire.ts';
import { BmscMikeyComposer, type ComposeRequest, type ComposedMikey } from './tester-bmsc-mikey.ts';
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

/** The UE under test as the tester BM-SC knows it (what a real BM-SC learns from the BSF over Zn and from registration). */
export interface TesterBmscSut {
  /** B-TID and Ks_NAF (= MUK under GBA_ME, protocol §3.4); the Digest password is base64(Ks_NAF). */
  identity: { btid: string; ksNaf: Buffer };
  /** BM-SC FQDN: realm host (protocol §3.3) and IDi of MSK messages. */
  nafFqdn: string;
  profile: MbmsProfile;
  /** The services the UE takes part in (Key Domain ID, MSK IDs; the first MSK ID is the "current" one). */
  services: { keyDomainId: Buffer; mskIds: number[] }[];
  /** The UE's MIKEY socket (O1): destination of MSK messages and triggers. */
  ueMikey: Endpoint;
  /** Where MTK messages go (the MBMS bearer); default the UE's MIKEY socket. */
  bearer?: Endpoint;
  /** Highest COUNTER already used for the MUK (a UE that keeps its counters across cases). */
  initialCounter?: number;
  /** Highest COUNTER already used per counter space (composer.counters() of an earlier case). */
  initialCounters?: Record<string, number>;
  /** Highest Key Number used per key group (composer.keyNumbers() of an earlier case). */
  initialKeyNumbers?: Record<string, number>;
  /** A MUK the UE no longer uses (G-U4); default random. */
  oldMuk?: Buffer;
}

/** Options of a 401 challenge (`respond-http.challenge`): RFC 2617 §3.2.1. */
export interface ChallengeOptions {
  stale?: boolean;
  /** qop-options offered, comma separated (default: the profile's qop, O5); '' = no qop directive. */
  qop?: string;
  /** algorithm directive (default: the profile's algorithm); '' = no directive (MD5). */
  algorithm?: string;
}

/** Options of a 200 OK (`respond-http`): Authentication-Info (RFC 2617 §3.2.3) and the MSK response body. */
export interface OkOptions {
  /** valid: computed over the response body; wrong: one hex digit changed; absent: no rspauth directive. */
  rspauth?: 'valid' | 'wrong' | 'absent';
  /** Add a fresh nextnonce. */
  nextnonce?: boolean;
  /** Per-MSK status of every requested MSK: the profile's success code, or its not-authorised code (O4). */
  statuses?: 'success' | 'error';
}

/** A nonce the tester issued, in issue order. */
export interface IssuedNonce {
  nonce: string;
  via: 'challenge' | 'nextnonce';
  challenge: DigestChallenge;
  /** The response that carried it. */
  event?: HttpResponseEvent;
}

export interface OkAnswer {
  event?: HttpResponseEvent;
  body: Buffer;
  entries: MskResponseEntry[];
  /** The keys the UE asked for (parsed from its body; the services when the body does not parse). */
  requested: MskRequestEntry[];
  authenticationInfo?: string;
  nextnonce?: string;
  /** Why no rspauth could be computed (no usable Authorization in the request). */
  rspauthProblem?: string;
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
  private sut?: TesterBmscSut;
  private mikeyComposer?: BmscMikeyComposer;
  /** Every nonce issued, oldest first (challenges and nextnonces). */
  readonly nonces: IssuedNonce[] = [];

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

  /** Tells the tester BM-SC who the UE under test is (needed before answering with Digest or sending MIKEY). */
  configure(sut: TesterBmscSut): void {
    this.sut = sut;
    this.mikeyComposer = new BmscMikeyComposer({
      profile: sut.profile, muk: sut.identity.ksNaf, idi: sut.nafFqdn, idr: sut.identity.btid, services: sut.services,
      ...(sut.initialCounter !== undefined ? { initialCounter: sut.initialCounter } : {}),
      ...(sut.initialCounters ? { initialCounters: sut.initialCounters } : {}),
      ...(sut.initialKeyNumbers ? { initialKeyNumbers: sut.initialKeyNumbers } : {}),
      ...(sut.oldMuk ? { oldMuk: sut.oldMuk } : {}),
    });
  }

  /** Origin of the MSK request server, e.g. http://127.0.0.1:40123 (the UE's bmscUrl; path and query from O2). */
  get url(): string {
    const host = this.http.address.includes(':') ? `[${this.http.address}]` : this.http.address;
    return `http://${host}:${this.http.port}`;
  }

  /** Source address and port of the tester's MIKEY messages: where the UE's verification messages go (O17). */
  get mikeyEndpoint(): Endpoint {
    return this.mikey.local;
  }

  get configured(): boolean {
    return this.sut !== undefined;
  }

  private need(): TesterBmscSut {
    if (!this.sut) throw new PeerArgumentError('tester BM-SC: configure() it with the UE under test first');
    return this.sut;
  }

  /** MSK/MTK/trigger composer: counters per MUK and per MSK, the MSKs made so far (protocol §6.1). */
  get composer(): BmscMikeyComposer {
    this.need();
    return this.mikeyComposer!;
  }

  /** Digest realm: '<first accepted prefix>@<BM-SC FQDN>' (protocol §3.3, O6). */
  get realm(): string {
    const sut = this.need();
    return realm(sut.nafFqdn, sut.profile.http.realmPrefixes[0]);
  }

  /** The Digest password of the UE: base64(Ks_NAF) (protocol §3.3). */
  get password(): string {
    return digestPassword(this.need().identity.ksNaf);
  }

  /** The newest nonce issued (by a challenge or a nextnonce). */
  get latestNonce(): IssuedNonce | undefined {
    return this.nonces[this.nonces.length - 1];
  }

  /** The newest nonce issued through a 401 challenge. */
  get latestChallenge(): IssuedNonce | undefined {
    return [...this.nonces].reverse().find((n) => n.via === 'challenge');
  }

  /** The issued nonce record of a nonce value. */
  nonceRecord(nonce: string): IssuedNonce | undefined {
    return this.nonces.find((n) => n.nonce === nonce);
  }

  /** A fresh server nonce (RFC 2617 §3.2.1: opaque to the client; 128 random bits, base64). */
  private freshNonce(): string {
    return randomBytes(16).toString('base64');
  }

  /** Answers 401 with a fresh Digest challenge (RFC 2617 §3.2.1, protocol §1.1 step 2). */
  answerChallenge(pending: PendingRequest, options: ChallengeOptions = {}): { event?: HttpResponseEvent; challenge: DigestChallenge } {
    const sut = this.need();
    const http = sut.profile.http;
    const qop = options.qop ?? http.qop;
    const algorithm = options.algorithm ?? http.algorithm;
    const challenge: DigestChallenge = {
      realm: this.realm, nonce: this.freshNonce(), opaque: randomBytes(8).toString('hex'), extra: {},
      ...(qop !== '' ? { qop: qop.split(',').map((q) => q.trim()).filter(Boolean) } : {}),
      ...(algorithm !== '' ? { algorithm } : {}),
      ...(options.stale !== undefined ? { stale: options.stale } : {}),
    };
    const event = this.respond(pending, { status: 401, headers: [['WWW-Authenticate', formatChallenge(challenge)]] });
    this.nonces.push({ nonce: challenge.nonce, via: 'challenge', challenge, ...(event ? { event } : {}) });
    return { ...(event ? { event } : {}), challenge };
  }

  /**
   * Answers 200 OK with the MSK response body (protocol §2.4) and Authentication-Info (RFC 2617 §3.2.3):
   * qop, cnonce and nc echoed, rspauth = KD(H(A1), nonce:nc:cnonce:qop:H(":" uri [":" H(body)])) computed
   * with lib/digest over the octets of the body sent, or deliberately wrong or absent.
   */
  answerOk(pending: PendingRequest, options: OkOptions = {}): OkAnswer {
    const sut = this.need();
    const profile = sut.profile;
    let requested: MskRequestEntry[];
    try {
      requested = parseMskRequestBody(pending.event.body, profile);
    } catch {
      requested = sut.services.flatMap((s) => s.mskIds.map((mskId) => ({ keyDomainId: s.keyDomainId, mskId })));
    }
    const code = options.statuses === 'error' ? (profile.statusCodes.notAuthorised ?? 403) : profile.statusCodes.success;
    const entries = requested.map((r) => ({ mskId: r.mskId, status: code }));
    const body = Buffer.from(buildMskResponseBody(entries, profile), 'utf8');
    const headers: [string, string][] = [['Content-Type', profile.http.responseContentType]];
    const answer: OkAnswer = { body, entries, requested };
    let credentials: DigestCredentials | undefined;
    const authorization = pending.event.headers.find(([n]) => n.toLowerCase() === 'authorization')?.[1];
    if (authorization === undefined) answer.rspauthProblem = 'the request carries no Authorization';
    else {
      try {
        credentials = parseCredentials(authorization);
      } catch (e) {
        answer.rspauthProblem = `the Authorization does not parse: ${(e as Error).message}`;
      }
    }
    const info: AuthenticationInfo = {};
    if (credentials) {
      if (credentials.qop !== undefined) info.qop = credentials.qop;
      if (credentials.cnonce !== undefined) info.cnonce = credentials.cnonce;
      if (credentials.nc !== undefined) info.nc = credentials.nc;
      if ((options.rspauth ?? 'valid') !== 'absent') {
        try {
          const { rspauth } = computeRspauth({
            algorithm: credentials.algorithm, username: credentials.username, realm: credentials.realm, password: this.password,
            nonce: credentials.nonce, cnonce: credentials.cnonce, nc: credentials.nc, qop: credentials.qop, uri: credentials.uri,
            responseBody: body,
          });
          info.rspauth = options.rspauth === 'wrong' ? flipHexDigit(rspauth) : rspauth;
        } catch (e) {
          answer.rspauthProblem = `rspauth cannot be computed from the request's directives: ${(e as Error).message}`;
        }
      }
    }
    if (options.nextnonce) info.nextnonce = this.freshNonce();
    if (Object.keys(info).length > 0) {
      answer.authenticationInfo = formatAuthenticationInfo(info);
      headers.push(['Authentication-Info', answer.authenticationInfo]);
    }
    const event = this.respond(pending, { status: 200, headers, body });
    if (event) answer.event = event;
    if (info.nextnonce !== undefined) {
      answer.nextnonce = info.nextnonce;
      const base = this.latestChallenge?.challenge ?? { realm: this.realm, nonce: info.nextnonce, extra: {} };
      this.nonces.push({ nonce: info.nextnonce, via: 'nextnonce', challenge: { ...base, nonce: info.nextnonce, stale: false }, ...(event ? { event } : {}) });
    }
    return answer;
  }

  /** Composes a MIKEY message (tester-bmsc-mikey.ts) and sends it to the UE's MIKEY port or the bearer. */
  async sendComposed(request: ComposeRequest, to: 'mikey-port' | 'bearer' = 'mikey-port'): Promise<{ composed: ComposedMikey; event: MikeyEvent }> {
    const sut = this.need();
    const composed = this.composer.compose(request);
    const destination = to === 'bearer' ? (sut.bearer ?? sut.ueMikey) : sut.ueMikey;
    const event = await this.sendMikey(composed.bytes, destination);
    return { composed, event };
  }

  /** Re-sends earlier octets unchanged to the UE's MIKEY port or the bearer (replay, G-U2, G-U9). */
  async resend(bytes: Buffer, to: 'mikey-port' | 'bearer' = 'mikey-port'): Promise<MikeyEvent> {
    const sut = this.need();
    return this.sendMikey(bytes, to === 'bearer' ? (sut.bearer ?? sut.ueMikey) : sut.ueMikey);
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

/** One hex digit of a digest changed: a wrong rspauth that still looks like one (32 lower-case hex). */
function flipHexDigit(hex: string): string {
  const last = hex.slice(-1);
  return `${hex.slice(0, -1)}${last === '0' ? '1' : '0'}`;
}
