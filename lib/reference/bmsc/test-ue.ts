// A minimal UE for the BM-SC's own tests: HTTP Digest client (lib/digest), a UDP socket for MIKEY and the
// lib/mikey readers. Deliberately not the reference UE: the BM-SC is judged by independent code.

import { createSocket, type Socket } from 'node:dgram';
import { DigestClient, type DigestClientFaults } from '../../digest/index.ts';
import { buildMskRequestBody, digestPassword, mskRequestTarget, type MbmsProfile } from '../../mbms/index.ts';
import type { Endpoint } from '../common/index.ts';

export interface Datagram { bytes: Buffer; from: Endpoint; time: number }

/** A UDP socket whose datagrams are awaited with bounds (no fixed sleeps). */
export class TestUdp {
  readonly socket: Socket;
  endpoint: Endpoint = { address: '127.0.0.1', port: 0 };
  #queue: Datagram[] = [];
  #waiters: ((d: Datagram) => void)[] = [];

  private constructor() {
    this.socket = createSocket('udp4');
    this.socket.on('message', (bytes, rinfo) => {
      const d = { bytes, from: { address: rinfo.address, port: rinfo.port }, time: performance.now() };
      const waiter = this.#waiters.shift();
      if (waiter) waiter(d); else this.#queue.push(d);
    });
  }

  static async open(): Promise<TestUdp> {
    const udp = new TestUdp();
    await new Promise<void>((resolve) => udp.socket.bind(0, '127.0.0.1', resolve));
    udp.endpoint = { address: '127.0.0.1', port: udp.socket.address().port };
    return udp;
  }

  /** The next datagram; rejects after `boundMs`. */
  next(boundMs: number): Promise<Datagram> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`no datagram within ${boundMs} ms`));
      }, boundMs);
      const waiter = (d: Datagram) => { clearTimeout(timer); resolve(d); };
      this.#waiters.push(waiter);
    });
  }

  /** Everything that arrives within a silence window (a profile timer, protocol §9 O24). */
  async collect(windowMs: number): Promise<Datagram[]> {
    const out: Datagram[] = [];
    for (;;) {
      try { out.push(await this.next(windowMs)); } catch { return out; }
    }
  }

  send(bytes: Buffer, to: Endpoint): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, to.port, to.address, (e) => (e ? reject(e) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export interface HttpReply { status: number; headers: Headers; body: Buffer }

/** One POST to the BM-SC's MSK request URI. */
export async function postMsk(http: Endpoint, profile: MbmsProfile, opts: {
  body: Buffer; authorization?: string; contentType?: string; target?: string; extraHeaders?: Record<string, string>;
}): Promise<HttpReply> {
  const headers: Record<string, string> = {
    'content-type': opts.contentType ?? profile.http.requestContentType,
    'user-agent': `mbms-conform-test; ${profile.http.userAgentToken}`,
  };
  if (opts.authorization) headers.authorization = opts.authorization;
  Object.assign(headers, opts.extraHeaders);
  const response = await fetch(`http://${http.address}:${http.port}${opts.target ?? mskRequestTarget(profile)}`, {
    method: 'POST', headers, body: new Uint8Array(opts.body),
  });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** The UE side of 6.3.1 steps 1-4: unauthenticated POST, 401, authorised POST. */
export async function mskRequest(http: Endpoint, profile: MbmsProfile, opts: {
  btid: string; ksNaf: Buffer; keys: { keyDomainId: Buffer; mskId: number }[];
  client?: DigestClient; faults?: DigestClientFaults; password?: string;
}): Promise<{ challenge: HttpReply; reply: HttpReply; client: DigestClient; body: Buffer; authorization: string }> {
  const body = Buffer.from(buildMskRequestBody(opts.keys, profile), 'utf8');
  const client = opts.client ?? new DigestClient({ username: opts.btid, password: opts.password ?? digestPassword(opts.ksNaf) });
  const challenge = await postMsk(http, profile, { body });
  const www = challenge.headers.get('www-authenticate');
  if (challenge.status !== 401 || !www) throw new Error(`expected a 401 challenge, got ${challenge.status}`);
  const authorization = client.authorize(www, { method: 'POST', uri: mskRequestTarget(profile), body }, opts.faults);
  const reply = await postMsk(http, profile, { body, authorization });
  return { challenge, reply, client, body, authorization };
}
