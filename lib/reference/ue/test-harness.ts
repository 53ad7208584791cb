// Test peers for the reference UE's unit tests: a tester "BM-SC" made of a loopback UDP socket that sends
// MIKEY messages built with lib/mikey and records what comes back, and a small HTTP server that runs the
// MSK request with lib/digest's DigestServer. Everything waits on events with bounds, never on sleeps.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { DigestServer, parseCredentials, type DigestCredentials } from '../../digest/index.ts';
import {
  buildMskResponseBody, digestPassword, parseMskRequestBody, realm, type MbmsProfile, type MskRequestEntry,
} from '../../mbms/index.ts';
import type { Endpoint } from '../common/index.ts';

export const TEST_BTID = 'AbCdEf0123456789@bsf.example.com';
export const TEST_KS_NAF = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
export const TEST_NAF_FQDN = 'bmsc.example.com';

/** Waits for `count` items of a growing list, failing after `timeoutMs` (a bound, not a sleep). */
export function waitFor<T>(list: T[], count: number, timeoutMs: number, what: string, onChange: (cb: () => void) => () => void): Promise<T[]> {
  return new Promise((resolve, reject) => {
    if (list.length >= count) { resolve(list.slice(0, count)); return; }
    const timer = setTimeout(() => { off(); reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} ${what} (have ${list.length})`)); }, timeoutMs);
    const off = onChange(() => {
      if (list.length >= count) { clearTimeout(timer); off(); resolve(list.slice(0, count)); }
    });
  });
}

/** A UDP peer on 127.0.0.1 that records every datagram it receives. */
export class UdpPeer {
  readonly socket: Socket = createSocket('udp4');
  readonly received: { bytes: Buffer; from: Endpoint }[] = [];
  #listeners = new Set<() => void>();
  endpoint!: Endpoint;

  async open(): Promise<Endpoint> {
    this.socket.on('message', (bytes, rinfo) => {
      this.received.push({ bytes: Buffer.from(bytes), from: { address: rinfo.address, port: rinfo.port } });
      for (const l of [...this.#listeners]) l();
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    const a = this.socket.address();
    this.endpoint = { address: a.address, port: a.port };
    return this.endpoint;
  }

  send(bytes: Buffer, to: Endpoint): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, to.port, to.address, (e) => (e ? reject(e) : resolve())));
  }

  /** Resolves with the first `count` datagrams received (in order). */
  waitForDatagrams(count: number, timeoutMs: number): Promise<{ bytes: Buffer; from: Endpoint }[]> {
    return waitFor(this.received, count, timeoutMs, 'datagrams', (cb) => { this.#listeners.add(cb); return () => this.#listeners.delete(cb); });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export interface RecordedHttpRequest {
  method: string;
  target: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  credentials?: DigestCredentials;
  /** What the server answered. */
  status: number;
  outcome: string;
  /** Authentication-Info sent with a 200 OK. */
  authenticationInfo?: string;
}

export interface TestMskServerOptions {
  profile: MbmsProfile;
  /** Send nextnonce in Authentication-Info. */
  nextnonce?: boolean;
  /** Literal rspauth instead of the right one (wrong-rspauth cases). */
  rspauth?: string;
  /** Literal nextnonce (with a wrong rspauth: what a faulty UE must not trust). */
  forcedNextnonce?: string;
  /** Per-MSK status (default success). */
  status?: (entry: MskRequestEntry) => number;
  /** Called after the 200 OK went out, with the granted keys (to push MIKEY like a BM-SC). */
  onGranted?: (keys: MskRequestEntry[]) => void;
}

/** A minimal BM-SC HTTP side: Digest (DigestServer), MSK request parsing, MSK response with Authentication-Info. */
export class TestMskServer {
  readonly requests: RecordedHttpRequest[] = [];
  readonly digest: DigestServer;
  /** Fake clock of the digest server (ms); advance it past the nonce TTL to make nonces stale. */
  clock = 1_000_000;
  options: TestMskServerOptions;
  #server?: Server;
  #listeners = new Set<() => void>();

  constructor(options: TestMskServerOptions) {
    this.options = options;
    this.digest = new DigestServer({
      realm: realm(TEST_NAF_FQDN), qop: [options.profile.http.qop], algorithm: 'MD5', nonceTtlMs: options.profile.http.nonceTtlMs,
      lookupPassword: (user) => (user === TEST_BTID ? digestPassword(TEST_KS_NAF) : undefined), now: () => this.clock,
    });
  }

  /** Makes every nonce issued so far stale. */
  expireNonces(): void {
    this.clock += this.options.profile.http.nonceTtlMs + 1;
  }

  async open(): Promise<string> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const target = req.url ?? '/';
        const authorization = req.headers.authorization;
        const record: RecordedHttpRequest = { method: req.method ?? '', target, headers: req.headers, body, status: 0, outcome: '' };
        if (authorization) try { record.credentials = parseCredentials(authorization); } catch { /* recorded as is */ }
        const verdict = this.digest.verify({ method: req.method ?? '', uri: target, authorization, body });
        record.outcome = verdict.outcome;
        if (verdict.status !== 200) {
          record.status = verdict.status;
          res.writeHead(verdict.status, verdict.wwwAuthenticate ? { 'WWW-Authenticate': verdict.wwwAuthenticate } : {});
          res.end();
        } else {
          const keys = parseMskRequestBody(body, this.options.profile);
          const responseBody = Buffer.from(buildMskResponseBody(
            keys.map((k) => ({ mskId: k.mskId, status: this.options.status?.(k) ?? this.options.profile.statusCodes.success })), this.options.profile));
          const info = this.digest.authenticationInfo(verdict.credentials!, {
            responseBody, nextnonce: this.options.nextnonce ?? false,
            faults: {
              ...(this.options.rspauth !== undefined ? { rspauth: this.options.rspauth } : {}),
              ...(this.options.forcedNextnonce !== undefined ? { nextnonce: this.options.forcedNextnonce } : {}),
            },
          });
          record.status = 200;
          record.authenticationInfo = info;
          res.writeHead(200, { 'Content-Type': this.options.profile.http.responseContentType, 'Authentication-Info': info, 'Content-Length': responseBody.length });
          res.end(responseBody, () => this.options.onGranted?.(keys));
        }
        this.requests.push(record);
        for (const l of [...this.#listeners]) l();
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', () => resolve()));
    const a = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  waitForRequests(count: number, timeoutMs: number): Promise<RecordedHttpRequest[]> {
    return waitFor(this.requests, count, timeoutMs, 'HTTP requests', (cb) => { this.#listeners.add(cb); return () => this.#listeners.delete(cb); });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server) { resolve(); return; }
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
