// Synthetic captures of a BM-SC and a UE exchange, written frame by frame through lib/capture's
// TapRecorder with a controlled clock: the analyzer's tests build the deviations the golden captures do
// not hold (reused counters, copies after the ACK, ACKs to bad MACs, ...) and bench/analyze.ts builds a
// million-packet capture. Messages come from lib/mikey's builders, Digest values from lib/digest, bodies
// from lib/mbms: independent of the analyzer, which only ever reads the result back.
import { randomBytes } from 'node:crypto';
import { TapRecorder, type TapTcpConnection } from '../../capture/index.ts';
import { computeResponse, computeRspauth, formatAuthenticationInfo, formatChallenge, formatCredentials } from '../../digest/index.ts';
import { buildMskRequestBody, buildMskResponseBody, digestPassword, mskRequestTarget, type MbmsProfile } from '../../mbms/index.ts';
import {
  buildMskMessage, buildMtkMessage, buildSolicitedPullTrigger, buildVerificationMessage, encodeKeyData, EncrAlg, KeyDataType, KvType, type MikeyMessage,
} from '../../mikey/index.ts';
import type { Endpoint } from '../../trace/index.ts';

export interface SyntheticOptions {
  profile: MbmsProfile;
  btid: string;
  ksNaf: Buffer;
  nafFqdn?: string;
  ue?: { address: string; mikeyPort: number; httpPort?: number };
  bmsc?: { address: string; httpPort: number; mikeyPort: number };
  keyDomainId?: Buffer;
  /** Capture clock start, epoch ms. */
  start?: number;
}

export interface Sent { bytes: Buffer; frames: number[] }

export class SyntheticCapture {
  readonly tap: TapRecorder;
  readonly profile: MbmsProfile;
  readonly ue: { mikey: Endpoint; http: Endpoint };
  readonly bmsc: { mikey: Endpoint; http: Endpoint };
  readonly keyDomainId: Buffer;
  readonly naf: string;
  /** The capture clock (ms); every record advances it by `step` unless a time is given. */
  now: number;
  step = 1;
  #conn?: TapTcpConnection;
  #clientPort: number;

  constructor(path: string, private readonly options: SyntheticOptions) {
    this.profile = options.profile;
    this.now = options.start ?? Date.UTC(2026, 0, 1);
    this.tap = new TapRecorder({ path, mikeyPorts: [options.profile.ports.ueMikey], now: () => this.now, initialSequence: () => 1000 });
    const ue = options.ue ?? { address: '10.0.0.2', mikeyPort: options.profile.ports.ueMikey };
    const bmsc = options.bmsc ?? { address: '10.0.0.1', httpPort: 8080, mikeyPort: 4360 };
    this.#clientPort = ue.httpPort ?? 40000;
    this.ue = { mikey: { address: ue.address, port: ue.mikeyPort }, http: { address: ue.address, port: this.#clientPort } };
    this.bmsc = { mikey: { address: bmsc.address, port: bmsc.mikeyPort }, http: { address: bmsc.address, port: bmsc.httpPort } };
    this.keyDomainId = options.keyDomainId ?? Buffer.from('00f110', 'hex');
    this.naf = options.nafFqdn ?? 'bmsc.example.com';
  }

  advance(ms: number): this {
    this.now += ms;
    return this;
  }

  #tick(): number {
    this.now += this.step;
    return this.now;
  }

  msk(opts: { counter: number; mskId: number; msk: Buffer; rand: Buffer; v?: boolean; csbId?: number; badMac?: boolean; muk?: Buffer; nullEncryption?: boolean }): Sent {
    const built = buildMskMessage({
      // NULL encryption (RFC 3830 §6.2): the key data in clear, still under the MAC
      ...(opts.nullEncryption ? { mutate: (m: MikeyMessage) => {
        const kemac = m.payloads.find((x): x is Extract<MikeyMessage['payloads'][number], { type: 'KEMAC' }> => x.type === 'KEMAC');
        if (!kemac) return;
        kemac.encrAlg = EncrAlg.NULL;
        kemac.encrData = encodeKeyData([{ kdType: KeyDataType.TGK, kv: KvType.NULL, key: opts.msk }]);
        kemac.length = undefined;
      } } : {}),
      muk: opts.muk ?? this.options.ksNaf, csbId: opts.csbId ?? (0x10000000 + opts.counter), counter: opts.counter, rand: opts.rand,
      keyDomainId: this.keyDomainId, mskId: opts.mskId, msk: opts.msk, v: opts.v ?? true, idi: this.naf, idr: this.options.btid, profile: this.profile.mikey,
    });
    const bytes = Buffer.from(built.bytes);
    if (opts.badMac) bytes[bytes.length - 1]! ^= 0x01;
    return { bytes, frames: this.tap.udp(this.bmsc.mikey, this.ue.mikey, bytes, this.#tick()) };
  }

  trigger(opts: { counter: number; v?: boolean; csbId?: number; badMac?: boolean }): Sent {
    const built = buildSolicitedPullTrigger({
      muk: this.options.ksNaf, csbId: opts.csbId ?? (0x20000000 + opts.counter), counter: opts.counter, rand: randomBytes(16),
      keyDomainId: this.keyDomainId, v: opts.v ?? true, idi: this.naf, idr: this.options.btid, profile: this.profile.mikey,
    });
    const bytes = Buffer.from(built.bytes);
    if (opts.badMac) bytes[bytes.length - 1]! ^= 0x01;
    return { bytes, frames: this.tap.udp(this.bmsc.mikey, this.ue.mikey, bytes, this.#tick()) };
  }

  mtk(opts: { counter: number; mskId: number; mtkId: number; msk: Buffer; mskRand: Buffer; csbId?: number; v?: boolean; mtk?: Buffer }): Sent {
    const built = buildMtkMessage({
      msk: opts.msk, mskRand: opts.mskRand, csbId: opts.csbId ?? 0x30000000, counter: opts.counter, keyDomainId: this.keyDomainId,
      mskId: opts.mskId, mtkId: opts.mtkId, mtk: opts.mtk ?? randomBytes(16), v: opts.v ?? false, profile: this.profile.mikey,
    });
    return { bytes: built.bytes, frames: this.tap.udp(this.bmsc.mikey, this.ue.mikey, built.bytes, this.#tick()) };
  }

  /** The UE's verification message for `original` (from the UE MIKEY port back to the BM-SC's source). */
  ack(original: Buffer, opts: { muk?: Buffer } = {}): Sent {
    const built = buildVerificationMessage({ received: original, psk: opts.muk ?? this.options.ksNaf, profile: this.profile.mikey });
    return { bytes: built.bytes, frames: this.tap.udp(this.ue.mikey, this.bmsc.mikey, built.bytes, this.#tick()) };
  }

  udpFromUe(payload: Buffer, dst: Endpoint = this.bmsc.mikey): Sent {
    return { bytes: payload, frames: this.tap.udp(this.ue.mikey, dst, payload, this.#tick()) };
  }

  /**
   * The HTTP part of 6.3.1 on one kept-alive connection: POST, 401 with a Digest challenge, POST with
   * credentials (auth-int over the body), 200 OK with rspauth and the per-MSK statuses.
   */
  mskRequest(opts: {
    mskIds: number[]; password?: string; skipChallenge?: boolean; wrongRspauth?: boolean; noChallenge?: boolean;
    /** Answer with this nonce and nc instead of challenging (a UE reusing a nonce, RFC 2617 §3.2.3). */
    reuse?: { nonce: string; nc: string };
    /** Digest uri directive other than the Request-URI; qop options offered and the one used. */
    digestUri?: string; offerQop?: string[]; useQop?: string;
    /** Appended to the 200 OK body (a BM-SC that puts key material there). */
    okBodyExtra?: string;
  }): { nonce: string; frames: { post: number[]; challenge: number[]; authorised: number[]; ok: number[] } } {
    const tap = this.tap;
    if (!this.#conn) this.#conn = tap.tcpOpen(this.ue.http, this.bmsc.http, this.#tick());
    const conn = this.#conn;
    const target = mskRequestTarget(this.profile);
    const body = Buffer.from(buildMskRequestBody(opts.mskIds.map((mskId) => ({ keyDomainId: this.keyDomainId, mskId })), this.profile));
    const head = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    const request = (extra: string[]) => Buffer.concat([head([
      `POST ${target} HTTP/1.1`, `Host: ${this.naf}`, `User-Agent: synthetic ${this.profile.http.userAgentToken}`,
      `Content-Type: ${this.profile.http.requestContentType}`, `Content-Length: ${body.length}`, ...extra,
    ]), body]);
    if (opts.noChallenge) {
      // a BM-SC that serves the request without authenticating it (fault bmsc-no-challenge)
      const post = tap.tcpData(conn, true, request([]), this.#tick());
      const responseBody = Buffer.from(buildMskResponseBody(opts.mskIds.map((mskId) => ({ mskId, status: this.profile.statusCodes.success })), this.profile));
      const ok = tap.tcpData(conn, false, Buffer.concat([head(['HTTP/1.1 200 OK', `Content-Type: ${this.profile.http.responseContentType}`, `Content-Length: ${responseBody.length}`]), responseBody]), this.#tick());
      return { nonce: '', frames: { post, challenge: [], authorised: [], ok } };
    }
    const realm = `${this.profile.http.realmPrefixes[0]}@${this.naf}`;
    const nonce = opts.reuse?.nonce ?? randomBytes(12).toString('hex');
    let post: number[] = [];
    let challenge: number[] = [];
    if (!opts.skipChallenge && !opts.reuse) {
      post = tap.tcpData(conn, true, request([]), this.#tick());
      const challengeHeader = formatChallenge({ realm, nonce, qop: opts.offerQop ?? [this.profile.http.qop], algorithm: this.profile.http.algorithm, extra: {} });
      challenge = tap.tcpData(conn, false, head(['HTTP/1.1 401 Unauthorized', `WWW-Authenticate: ${challengeHeader}`, 'Content-Length: 0']), this.#tick());
    }
    const password = opts.password ?? digestPassword(this.options.ksNaf);
    const cnonce = randomBytes(8).toString('hex');
    const uri = opts.digestUri ?? target;
    const input = { algorithm: this.profile.http.algorithm, username: this.options.btid, realm, password, nonce, cnonce, nc: opts.reuse?.nc ?? '00000001', qop: opts.useQop ?? this.profile.http.qop, uri };
    const { response } = computeResponse({ ...input, method: 'POST', body });
    const authorization = formatCredentials({ username: input.username, realm, nonce, uri, response, algorithm: input.algorithm, cnonce, qop: input.qop, nc: input.nc, extra: {} });
    const authorised = tap.tcpData(conn, true, request([`Authorization: ${authorization}`]), this.#tick());
    const responseBody = Buffer.from(buildMskResponseBody(opts.mskIds.map((mskId) => ({ mskId, status: this.profile.statusCodes.success })), this.profile) + (opts.okBodyExtra ?? ''));
    let { rspauth } = computeRspauth({ ...input, responseBody });
    if (opts.wrongRspauth) rspauth = `${rspauth.slice(0, -1)}${rspauth.endsWith('0') ? '1' : '0'}`;
    const info = formatAuthenticationInfo({ qop: input.qop, rspauth, cnonce, nc: input.nc });
    const ok = tap.tcpData(conn, false, Buffer.concat([head([
      'HTTP/1.1 200 OK', `Content-Type: ${this.profile.http.responseContentType}`, `Authentication-Info: ${info}`, `Content-Length: ${responseBody.length}`,
    ]), responseBody]), this.#tick());
    return { nonce, frames: { post, challenge, authorised, ok } };
  }

  /** A datagram of no protocol (like the capture backends' markers): it only moves the capture clock. */
  noise(): number[] {
    return this.tap.udp({ address: this.bmsc.mikey.address, port: 9 }, { address: this.bmsc.mikey.address, port: 9 }, Buffer.from('end of capture'), this.#tick());
  }

  /** Ends the capture at the current clock (a last marker frame, so that open windows have elapsed). */
  close(): number {
    if (this.#conn) this.tap.tcpClose(this.#conn, true, this.#tick());
    this.noise();
    return this.tap.close();
  }
}
