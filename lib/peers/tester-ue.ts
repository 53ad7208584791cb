// The tester's UE emulator, for a BM-SC under test (protocol §1.1-§1.4, §7.1): an HTTP client for the MSK
// request (6.3.1) with HTTP Digest from lib/digest (including deliberate faults for negative cases), and a
// UDP socket on the UE's MIKEY port that receives MSK/MTK messages and triggers and sends verification
// messages. Every octet sent or received is recorded through the case's LiveTrace (pcap + events).

import { connect, type Socket } from 'node:net';
import { DigestClient, formatCredentials, type DigestChallenge, type DigestClientFaults, type DigestAuthorization } from '../digest/index.ts';
import { digestPassword, type MbmsProfile } from '../mbms/index.ts';
import type { Endpoint, HttpRequestEvent, HttpResponseEvent, LiveTrace, MikeyEvent } from '../trace/index.ts';
import { PeerClosedError } from './errors.ts';
import { serializeRequest } from './http-wire.ts';
import { RecordedUdpSocket } from './udp.ts';

export interface UeIdentity {
  /** B-TID: the Digest username (protocol §3.3). */
  btid: string;
  /** Ks_NAF = MUK (GBA_ME); the Digest password is base64(Ks_NAF). */
  ksNaf: Buffer;
}

export interface TesterUeOptions {
  trace: LiveTrace;
  /** Local address of every tester socket (loopback, or the worker's own address against an external SUT). */
  bindAddress: string;
  /** UDP port on which the tester receives MIKEY (O1); 0 = ephemeral (embedded SUT told where to send). */
  mikeyPort: number;
  /** The BM-SC's MSK request endpoint (may be set later with setBmsc, once the SUT is up). */
  bmscHttp?: Endpoint;
  /** Host header value (the BM-SC FQDN, with port when not 80). */
  host?: string;
  identity: UeIdentity;
  profile: MbmsProfile;
  /** User-Agent of the requests; default `mbms-conform; <profile token>` (24.109 B.3). */
  userAgent?: string;
}

export interface HttpExchange {
  /** Octets written. */
  raw: Buffer;
  request?: HttpRequestEvent;
  response?: HttpResponseEvent;
  /** Why no response was recorded (connection refused, reset, timeout). */
  error?: string;
  /** No response within the exchange's time limit (as opposed to a refused or closed connection). */
  timedOut?: boolean;
  /** Local endpoint of the connection. */
  local?: Endpoint;
}

export class TesterUe {
  private readonly options: TesterUeOptions;
  readonly mikey: RecordedUdpSocket;
  private client: DigestClient;
  private closed = false;
  private readonly sockets = new Set<Socket>();

  private constructor(options: TesterUeOptions, mikey: RecordedUdpSocket) {
    this.options = options;
    this.mikey = mikey;
    this.client = this.clientFor(options.identity);
  }

  private clientFor(identity: UeIdentity): DigestClient {
    return new DigestClient({ username: identity.btid, password: digestPassword(identity.ksNaf), preferQop: this.options.profile.http.qop });
  }

  /** Digest client of the identity: counts nc per nonce, as a UE does (RFC 2617 §3.2.2). */
  get digest(): DigestClient {
    return this.client;
  }

  /** The identity the UE plays (known once the SUT session has provisioned one); resets the nc counts. */
  setIdentity(identity: UeIdentity): void {
    this.options.identity = identity;
    this.client = this.clientFor(identity);
  }

  static async start(options: TesterUeOptions): Promise<TesterUe> {
    const mikey = await RecordedUdpSocket.bind(options.trace, 'UE MIKEY', options.bindAddress, options.mikeyPort);
    return new TesterUe(options, mikey);
  }

  /** Points the HTTP client at the BM-SC (known only once the SUT has started). */
  setBmsc(http: Endpoint, host: string): void {
    this.options.bmscHttp = { ...http };
    this.options.host = host;
  }

  /** Where the BM-SC must send MIKEY to reach this UE. */
  get mikeyEndpoint(): Endpoint {
    return this.mikey.local;
  }

  get userAgent(): string {
    return this.options.userAgent ?? `mbms-conform/0.1; ${this.options.profile.http.userAgentToken}`;
  }

  /**
   * Authorization header for a request answering `challenge`, with faults applied (lib/digest client
   * faults; see DigestClientFaults). A different identity (unknown B-TID) gets its own one-shot client.
   */
  authorize(challenge: DigestChallenge, req: { method: string; uri: string; body: Buffer }, faults: DigestClientFaults = {}, as?: UeIdentity): DigestAuthorization {
    const client = as ? this.clientFor(as) : this.client;
    return client.authorizeDetailed(challenge, req, faults);
  }

  /** Authorization value with the response digest replaced (e.g. one hex digit flipped). */
  static withResponse(auth: DigestAuthorization, response: string): string {
    return formatCredentials({ ...auth.credentials, response });
  }

  /** Octets of an MSK request (POST) with the standard headers plus `extra`. */
  buildRequest(target: string, body: Buffer, options: { contentType?: string; authorization?: string; extra?: [string, string][] } = {}): Buffer {
    const headers: [string, string][] = [
      ['Host', this.options.host ?? this.options.bmscHttp?.address ?? 'localhost'],
      ['User-Agent', this.userAgent],
      ['Content-Type', options.contentType ?? this.options.profile.http.requestContentType],
      ['Content-Length', String(body.length)],
    ];
    if (options.authorization) headers.push(['Authorization', options.authorization]);
    headers.push(['Connection', 'close'], ...(options.extra ?? []));
    return serializeRequest('POST', target, headers, body);
  }

  /**
   * Sends raw request octets on a new TCP connection and waits (bounded) for the response. The request and
   * response events come from framing the recorded bytes (lib/trace LiveTcpConnection), never from a
   * library's idea of what was sent.
   */
  async exchange(raw: Buffer, timeoutMs: number, signal?: AbortSignal, extend?: () => number): Promise<HttpExchange> {
    if (this.closed) throw new PeerClosedError('UE');
    const { trace, bindAddress, bmscHttp } = this.options;
    const result: HttpExchange = { raw };
    if (!bmscHttp) return { raw, error: 'no BM-SC HTTP endpoint configured' };
    const socket = connect({ host: bmscHttp.address, port: bmscHttp.port, localAddress: bindAddress });
    this.sockets.add(socket);
    return await new Promise<HttpExchange>((resolve) => {
      let conn: ReturnType<LiveTrace['openTcp']> | undefined;
      let done = false;
      const finish = (error?: string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error && !result.response) result.error = error;
        if (conn && !conn.closed) conn.close('tester');
        socket.destroy();
        this.sockets.delete(socket);
        resolve(result);
      };
      const onAbort = () => finish('aborted');
      // At the time limit `extend` may give time back (the tester was not running for part of it).
      const expire = (): void => {
        const more = extend?.() ?? 0;
        if (more > 0) { timer = setTimeout(expire, more); return; }
        result.timedOut = true;
        finish(`no HTTP response within ${timeoutMs} ms`);
      };
      let timer = setTimeout(expire, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        const local = { address: socket.localAddress ?? bindAddress, port: socket.localPort ?? 0 };
        result.local = local;
        conn = trace.openTcp(true, local, { ...bmscHttp });
        const sent = conn.sent(raw);
        result.request = sent.events.find((e): e is HttpRequestEvent => e.kind === 'http-request');
        socket.write(raw);
      });
      socket.on('data', (chunk: Buffer) => {
        if (!conn || done) return;
        const got = conn.received(chunk);
        const response = got.events.find((e): e is HttpResponseEvent => e.kind === 'http-response' && e.status >= 200);
        if (response) {
          result.response = response;
          finish();
        }
      });
      socket.on('end', () => {
        if (conn && !conn.closed) conn.close('sut');
        finish('the BM-SC closed the connection without a complete response');
      });
      socket.on('error', (e: NodeJS.ErrnoException) => finish(`connection error: ${e.code ?? e.message}`));
    });
  }

  /** Sends a MIKEY datagram (a verification message) from the UE's MIKEY socket. */
  sendMikey(bytes: Buffer, to: Endpoint): Promise<MikeyEvent> {
    return this.mikey.send(bytes, to);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await this.mikey.close();
  }
}
