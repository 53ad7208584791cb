// The reference BM-SC: a real HTTP server for the UE-initiated MSK request (TS 33.246 §6.3.1), a real UDP
// socket for MIKEY (MSK push §6.3.2.1, push solicited pull, MTK update §6.3.3) and a control API through
// which the suite (or an operator) triggers the BM-SC-initiated procedures. Faults (faults.ts) switch on
// one deviation each so the suite can prove it catches them.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSocket, type Socket as UdpSocket, type RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  DigestServer, formatAuthenticationInfo, parseAuthenticationInfo, type DigestCredentials, type DigestVerifyResult,
} from '../../digest/index.ts';
import {
  buildMskMessage, buildMtkMessage, buildSolicitedPullTrigger, decodeMikeyLenient, encodeKeyData, findPayload,
  verifyVerificationMessage, mikeyProfile, EncrAlg, KeyIdType, KvType, KeyDataType, TsType,
  type BuiltMessage, type MikeyMessage, type MikeyProfile, type KemacPayload, type ExtPayload,
} from '../../mikey/index.ts';
import {
  MbmsBodyError, buildMskResponseBody, digestPassword, mskIdToBytes, mskRequestTarget, parseMskRequestBody, realm,
  type MbmsProfile, type MskResponseEntry,
} from '../../mbms/index.ts';
import {
  ControlApiError, ControlServer, FaultSet, bindUdp, closeHttp, closeUdp, formatEndpoint, listenHttp, readRequestBody, type Endpoint,
} from '../common/index.ts';
import { BMSC_FAULTS } from './faults.ts';
import {
  parseKeyDomainId, parseMskIdText, parseUser, resolveBmscConfig, type BmscUser, type ReferenceBmscConfig,
  type ReferenceBmscOptions, type UserInput,
} from './config.ts';
import { BmscState, mskCounterName, mukCounterName, type Msk } from './state.ts';

const now = (): number => performance.timeOrigin + performance.now();
const hex = (b: Buffer): string => b.toString('hex');
const hex32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

// ---- events ------------------------------------------------------------------------------------------------

export interface BmscHttpRequestEvent {
  time: number; id: number; remote: Endpoint; local: Endpoint;
  method: string; target: string; headers: [string, string][]; body: Buffer;
}
export interface BmscHttpResponseEvent {
  time: number; requestId: number; remote: Endpoint; status: number; headers: [string, string][]; body: Buffer;
  /** How the request was judged: Digest outcome ('ok', 'missing', 'stale', ...) or the body/route problem. */
  outcome: string; btid?: string;
}
export type MikeyKind = 'msk' | 'trigger' | 'mtk';
export interface BmscMikeyOutEvent {
  time: number; kind: MikeyKind; btid?: string; from: Endpoint; to: Endpoint; bytes: Buffer;
  keyDomainId: Buffer; mskId: number; mtkId?: number; csbId: number; counter: number; v: boolean;
  /** 1 = first transmission, 2.. = retransmissions. */
  attempt: number;
  /** Delivery this message belongs to (retransmissions share it). */
  deliveryId?: number;
  /** Active faults that changed this message. */
  faults: string[];
}
export interface BmscAckInEvent {
  time: number; from: Endpoint; bytes: Buffer; btid: string; csbId: number; counter: number; deliveryId: number;
  /** The ACK's V MAC did not verify but bmsc-accept-bad-ack took it anyway. */
  macValid: boolean;
}
export interface BmscAckRejectedEvent {
  time: number; from: Endpoint; bytes: Buffer; reason: string; csbId?: number; counter?: number; deliveryId?: number;
}
export interface BmscAckTimeoutEvent { time: number; deliveryId: number; btid: string; attempts: number }

export interface ReferenceBmscEvents {
  'http-request': [BmscHttpRequestEvent];
  'http-response': [BmscHttpResponseEvent];
  'mikey-out': [BmscMikeyOutEvent];
  'ack-in': [BmscAckInEvent];
  'ack-rejected': [BmscAckRejectedEvent];
  /** A delivery with V=1 gave up: retransmissions exhausted without a valid ACK. */
  'ack-timeout': [BmscAckTimeoutEvent];
  /** Socket-level trouble that does not stop the BM-SC (send failure, ...). */
  'warning': [{ time: number; message: string }];
}

/** One MIKEY message as the control API reports it (control-api.schema.json MikeySent). */
export interface MikeySent {
  kind: MikeyKind; btid?: string; to: Endpoint; keyDomainId: string; mskId: string; mtkId?: string;
  csbId: string; counter: number; v: boolean; attempt: number; length: number;
}

// ---- internal records --------------------------------------------------------------------------------------

interface UserRecord {
  user: BmscUser;
  /** Source address of the user's last MSK request (used when no ueAddress is configured). */
  lastAddress?: string;
  /** CSB ID of MSK messages when profile O10 says 'fixed-per-muk'. */
  fixedCsbId?: number;
}

interface Transmission { csbId: number; counter: number; message: MikeyMessage; bytes: Buffer }

interface Delivery {
  id: number;
  kind: 'msk' | 'trigger';
  btid: string;
  to: Endpoint;
  v: boolean;
  msk?: Msk;
  /** Builds the next transmission (fresh counter, new MAC) per profile O18; names the faults it applied. */
  build: (applied: string[]) => Transmission;
  sent: Transmission[];
  acked: boolean;
  done: boolean;
  timer?: NodeJS.Timeout;
  /** Forgets the delivery once no ACK can reasonably arrive any more. */
  retireTimer?: NodeJS.Timeout;
  keyDomainId: Buffer;
  mskId: number;
}

/** Response of a started BM-SC. */
export interface BmscEndpoints { http: Endpoint; mikey: Endpoint; control: Endpoint }

export class ReferenceBmsc extends EventEmitter<ReferenceBmscEvents> {
  readonly config: ReferenceBmscConfig;
  readonly faults: FaultSet;
  #profile: MbmsProfile;
  #mikeyProfile: MikeyProfile;
  #state?: BmscState;
  #digest?: DigestServer;
  #users = new Map<string, UserRecord>();
  #http?: Server;
  #udp?: UdpSocket;
  #control?: ControlServer;
  #endpoints?: BmscEndpoints;
  #deliveries = new Map<number, Delivery>();
  /** `${csbId}:${counter}` of every transmission of an open delivery -> delivery id (protocol §1.2). */
  #ackIndex = new Map<string, number>();
  #nextDeliveryId = 1;
  #nextRequestId = 1;
  #lastCounterSent = new Map<string, number>();
  #rekeyTimer?: NodeJS.Timeout;
  #clock: () => number;

  constructor(options: ReferenceBmscOptions & { clock?: () => number }) {
    super();
    this.config = resolveBmscConfig(options);
    this.faults = new FaultSet('bmsc', BMSC_FAULTS, this.config.faults);
    this.#profile = this.config.profile;
    this.#mikeyProfile = mikeyProfile(this.#profile.mikey as Parameters<typeof mikeyProfile>[0]);
    this.#clock = options.clock ?? Date.now;
    for (const user of this.config.users) this.#users.set(user.btid, { user });
  }

  get profile(): MbmsProfile { return this.#profile; }

  /** Bound endpoints (after start). */
  get endpoints(): BmscEndpoints {
    if (!this.#endpoints) throw new Error('ReferenceBmsc not started');
    return this.#endpoints;
  }

  /** Opens the state file, binds the MIKEY socket, the MSK request server and the control API. */
  async start(): Promise<BmscEndpoints> {
    if (this.#endpoints) return this.#endpoints;
    const state = new BmscState({
      maxMsksPerGroup: this.#profile.keyIds.maxMsksPerGroup,
      counterReserveBlock: this.config.counterReserveBlock,
      ...(this.config.stateFile ? { stateFile: this.config.stateFile } : {}),
    });
    state.ensureGroups(this.config.services);
    this.#state = state;
    this.#digest = this.#makeDigestServer();
    try {
      const udp = createSocket(this.config.mikey.address.includes(':') ? 'udp6' : 'udp4');
      this.#udp = udp;
      udp.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo));
      const mikey = await bindUdp(udp, 'MIKEY (BM-SC)', this.config.mikey);
      // After the bind: a bind failure is reported once, by bindUdp, as ReferenceListenError.
      udp.on('error', (error) => this.emit('warning', { time: now(), message: `MIKEY socket: ${error.message}` }));
      const server = createServer((req, res) => { void this.#onHttp(req, res); });
      server.keepAliveTimeout = Math.max(1000, this.#profile.timers.httpMs);
      this.#http = server;
      const http = await listenHttp(server, 'MSK requests (HTTP)', this.config.http);
      this.#control = this.#makeControlServer();
      const control = await this.#control.listen(this.config.control);
      this.#endpoints = { http, mikey, control };
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (this.config.mtkRekey) {
      this.#rekeyTimer = setInterval(() => {
        try { this.mtkUpdate({}); } catch (error) { this.emit('warning', { time: now(), message: `MTK rekey: ${(error as Error).message}` }); }
      }, this.#profile.timers.rekeyMs);
    }
    return this.#endpoints;
  }

  /** Stops timers and closes every socket. Outstanding deliveries are abandoned. */
  async stop(): Promise<void> {
    if (this.#rekeyTimer) clearInterval(this.#rekeyTimer);
    this.#rekeyTimer = undefined;
    for (const d of [...this.#deliveries.values()]) this.#forgetDelivery(d);
    await Promise.all([
      this.#http ? closeHttp(this.#http) : undefined,
      this.#udp ? closeUdp(this.#udp) : undefined,
      this.#control?.close(),
    ]);
    this.#http = undefined;
    this.#udp = undefined;
    this.#control = undefined;
    this.#endpoints = undefined;
  }

  // ---- users ---------------------------------------------------------------------------------------------

  /** Provisions (or replaces) a user, as POST /users does. */
  addUser(user: BmscUser): void {
    const previous = this.#users.get(user.btid);
    this.#users.set(user.btid, { user, ...(previous?.lastAddress ? { lastAddress: previous.lastAddress } : {}) });
    const services = user.subscriptions.flatMap((s) => s.keyGroups.map((keyGroup) => ({ keyDomainId: s.keyDomainId, keyGroup })));
    for (const svc of services) {
      if (!this.config.services.some((s) => s.keyDomainId.equals(svc.keyDomainId) && s.keyGroup === svc.keyGroup)) this.config.services.push(svc);
    }
    this.#state?.ensureGroups(services);
  }

  /** Where MIKEY goes for a user: configured address, else the source of its last MSK request (O17 mirror). */
  mikeyTarget(btid: string): Endpoint | undefined {
    const rec = this.#users.get(btid);
    if (!rec) return undefined;
    const address = rec.user.ueAddress ?? rec.lastAddress;
    if (address === undefined) return undefined;
    return { address, port: rec.user.uePort ?? this.#profile.ports.ueMikey };
  }

  // ---- HTTP: MSK request (6.3.1) ---------------------------------------------------------------------------

  #makeDigestServer(): DigestServer {
    // TS 24.109 / protocol §3.3: realm "3GPP-bootstrapping@<NAF FQDN>"; the fault drops the GBA prefix.
    const realmValue = this.faults.has('bmsc-wrong-realm')
      ? this.config.nafFqdn
      : realm(this.config.nafFqdn, this.#profile.http.realmPrefixes[0]);
    return new DigestServer({
      realm: realmValue,
      qop: [this.#profile.http.qop],
      algorithm: this.#profile.http.algorithm,
      nonceTtlMs: this.#profile.http.nonceTtlMs,
      now: () => this.#clock(),
      // Digest password on Ua = base64(Ks_NAF) (protocol §3.3).
      lookupPassword: (username) => {
        const rec = this.#users.get(username);
        return rec ? digestPassword(rec.user.ksNaf) : undefined;
      },
    });
  }

  async #onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Read before the body: an aborted upload destroys the socket, and its address with it.
    const remote = { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 };
    const local = { address: req.socket.localAddress ?? '', port: req.socket.localPort ?? 0 };
    let body: Buffer;
    try {
      body = await readRequestBody(req, MAX_REQUEST_BODY, (limit) => new RangeError(`body over ${limit} octets`));
    } catch (error) {
      // An aborted upload or an oversized body: answer if the socket still can, never deliver keys.
      const tooLarge = error instanceof RangeError;
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(tooLarge ? 413 : 400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
        res.end(tooLarge ? `request body larger than ${MAX_REQUEST_BODY} octets\n` : 'request body unreadable\n');
      }
      this.emit('warning', { time: now(), message: `HTTP request from ${formatEndpoint(remote)}: ${(error as Error).message}` });
      return;
    }
    const id = this.#nextRequestId++;
    const target = req.url ?? '/';
    this.emit('http-request', {
      time: now(), id, remote, local, method: req.method ?? '', target, headers: headerPairs(req.rawHeaders), body,
    });
    let answer: HttpAnswer;
    let afterWrite: (() => Promise<void>) | undefined;
    let beforeWrite: (() => Promise<void>) | undefined;
    try {
      ({ answer, afterWrite, beforeWrite } = this.#handleMskRequest(req, target, body, remote));
    } catch (error) {
      // The peer learns only that it failed; the cause (which may name internal state) goes to the log.
      this.emit('warning', { time: now(), message: `HTTP request from ${formatEndpoint(remote)}: internal error: ${(error as Error).message}` });
      answer = { status: 500, outcome: 'internal-error', headers: [['Content-Type', 'text/plain']], body: Buffer.from('internal error\n') };
    }
    // bmsc-mikey-before-200: the MIKEY messages leave before the response is written (6.3.1 ordering).
    if (beforeWrite) await beforeWrite();
    const headers = [...answer.headers, ['Content-Length', String(answer.body.length)]] as [string, string][];
    res.writeHead(answer.status, headers.flat());
    res.end(answer.body, () => {
      this.emit('http-response', {
        time: now(), requestId: id, remote, status: answer.status, headers, body: answer.body, outcome: answer.outcome,
        ...(answer.btid ? { btid: answer.btid } : {}),
      });
      // 6.3.1: "If the key request ... resulted to success, the BM-SC sends MIKEY messages" — after the 200 OK.
      if (afterWrite) void afterWrite();
    });
  }

  #handleMskRequest(req: IncomingMessage, target: string, body: Buffer, remote: Endpoint):
    { answer: HttpAnswer; afterWrite?: () => Promise<void>; beforeWrite?: () => Promise<void> } {
    const http = this.#profile.http;
    const expectedTarget = mskRequestTarget(this.#profile);
    if (target !== expectedTarget) {
      return { answer: textAnswer(404, 'not-found', `no resource ${target}; MSK requests go to ${expectedTarget}`) };
    }
    if (req.method !== 'POST') {
      const a = textAnswer(405, 'method', 'MSK requests use POST');
      a.headers.push(['Allow', 'POST']);
      return { answer: a };
    }
    const digest = this.#digest!;
    let credentials: DigestCredentials | undefined;
    let btid: string;
    let outcome: string;
    const unchallenged = this.faults.has('bmsc-no-challenge') && !req.headers.authorization
      ? this.#userByAddress(remote.address) : undefined;
    if (unchallenged) {
      // 6.3.1 / RFC 2617 §3.2.1 skipped: no challenge, the user is guessed from the source address.
      btid = unchallenged;
      outcome = 'unauthenticated (fault)';
    } else {
      const verdict = this.#verifyDigest(digest, req, target, body);
      if (verdict.status !== 200 || !verdict.credentials) {
        const a = textAnswer(verdict.status, verdict.outcome, verdict.reason);
        if (verdict.wwwAuthenticate) a.headers.push(['WWW-Authenticate', verdict.wwwAuthenticate]);
        return { answer: a };
      }
      credentials = verdict.credentials;
      btid = credentials.username;
      outcome = verdict.outcome;
    }
    const rec = this.#users.get(btid)!;
    // Wrong media type or malformed XML: 4xx and never a key (protocol §7.1 A-B13).
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== http.requestContentType.toLowerCase()) {
      return { answer: { ...textAnswer(415, 'media-type', `Content-Type must be ${http.requestContentType}`), btid } };
    }
    let requested;
    try {
      requested = parseMskRequestBody(body, this.#profile);
    } catch (error) {
      if (!(error instanceof MbmsBodyError)) throw error;
      return { answer: { ...textAnswer(400, 'body', error.message), btid } };
    }
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; MIKEY goes to the plain IPv4 address.
    if (!rec.user.ueAddress) rec.lastAddress = remote.address.replace(/^::ffff:(?=\d+\.)/, '');
    // Per-MSK authorisation (protocol §2.4, O4): the response is 200 even if some MSKs are refused.
    const codes = this.#profile.statusCodes;
    const granted: Msk[] = [];
    // MSK ID 0x00000000 asks for the current MSK of every key group of the domain the user is subscribed to
    // (profile keyIds.currentMsk 'all-zero', protocol §2.3): one entry per such group.
    const expanded = requested.flatMap((entry) => entry.mskId !== 0 ? [entry]
      : rec.user.subscriptions.filter((s) => s.keyDomainId.equals(entry.keyDomainId)).flatMap((s) => s.keyGroups.map((g) => ({ keyDomainId: entry.keyDomainId, mskId: (g * 0x10000) >>> 0 }))));
    const entries: MskResponseEntry[] = (expanded.length ? expanded : requested).map((entry) => {
      const group = Math.floor(entry.mskId / 0x10000);
      const subscribed = rec.user.subscriptions.some((s) => s.keyDomainId.equals(entry.keyDomainId) && s.keyGroups.includes(group));
      if (!subscribed && !this.faults.has('bmsc-grant-unsubscribed')) {
        return { mskId: entry.mskId, status: codes.notAuthorised ?? 403 };
      }
      // MSK ID with Key Number 0 asks for the current MSK of the group (protocol §2.3).
      const msk = entry.mskId % 0x10000 === 0
        ? this.#state!.current(entry.keyDomainId, group)
        : this.#state!.find(entry.keyDomainId, entry.mskId);
      if (!msk) return { mskId: entry.mskId, status: codes.unknownMsk ?? 404 };
      if (!granted.includes(msk)) granted.push(msk);
      return { mskId: msk.id, status: codes.success };
    });
    const responseBody = Buffer.from(buildMskResponseBody(entries, this.#profile), 'utf8');
    const answer: HttpAnswer = {
      status: 200, outcome, btid, body: responseBody,
      headers: [['Content-Type', http.responseContentType]],
    };
    if (credentials && !this.faults.has('bmsc-no-auth-info')) {
      answer.headers.push(['Authentication-Info', this.#authenticationInfo(digest, credentials, responseBody)]);
    }
    const mikeyTo = this.mikeyTarget(btid);
    if (granted.length === 0 || !mikeyTo) return { answer };
    const send = async () => {
      for (const msk of granted) await this.#startMskDelivery(btid, msk, mikeyTo, this.config.mskAck).catch((error) => {
        this.emit('warning', { time: now(), message: `MSK delivery to ${btid}: ${(error as Error).message}` });
      });
    };
    return this.faults.has('bmsc-mikey-before-200') ? { answer, beforeWrite: send } : { answer, afterWrite: send };
  }

  /** The user whose MIKEY address is `address` (or the only user): how bmsc-no-challenge picks a victim. */
  #userByAddress(address: string): string | undefined {
    const normalized = address.replace(/^::ffff:/, '');
    for (const [btid, rec] of this.#users) {
      if ((rec.user.ueAddress ?? rec.lastAddress) === normalized) return btid;
    }
    return this.#users.size === 1 ? [...this.#users.keys()][0] : undefined;
  }

  /** DigestServer.verify with the Digest faults applied (each turns one rejection into acceptance). */
  #verifyDigest(digest: DigestServer, req: IncomingMessage, target: string, body: Buffer): DigestVerifyResult {
    const request = { method: req.method ?? 'POST', uri: target, authorization: req.headers.authorization, body };
    let result = digest.verify(request);
    if (result.outcome === 'uri-mismatch' && this.faults.has('bmsc-uri-not-checked') && result.credentials) {
      // RFC 2617 §3.2.2.5 skipped: the digest is checked against the uri the client signed instead.
      result = digest.verify({ ...request, uri: result.credentials.uri });
    }
    if (result.outcome === 'bad-response' && this.faults.has('bmsc-accept-wrong-digest') && result.credentials
      && this.#users.has(result.credentials.username)) {
      return { ...result, outcome: 'ok', status: 200, reason: 'accepted despite a wrong digest (fault)' };
    }
    if (result.outcome === 'replay' && this.faults.has('bmsc-accept-replayed-nc')) {
      return { ...result, outcome: 'ok', status: 200, reason: 'accepted a replayed nc (fault)' };
    }
    if (result.outcome === 'stale' && this.faults.has('bmsc-ignore-stale')) {
      // RFC 2617 §3.2.1: stale=true tells the client only the nonce is old; the fault leaves it out.
      return { ...result, wwwAuthenticate: digest.challenge() };
    }
    return result;
  }

  #authenticationInfo(digest: DigestServer, credentials: DigestCredentials, responseBody: Buffer): string {
    const value = digest.authenticationInfo(credentials, { responseBody, nextnonce: this.#profile.http.nextnonce });
    if (!this.faults.has('bmsc-wrong-rspauth')) return value;
    const info = parseAuthenticationInfo(value);
    const r = info.rspauth ?? '';
    info.rspauth = `${r.slice(0, -1)}${r.endsWith('0') ? '1' : '0'}`;
    return formatAuthenticationInfo(info);
  }

  // ---- MIKEY out ---------------------------------------------------------------------------------------------

  /** Next COUNTER for a MUK or MSK (protocol §6.1), with the counter faults applied. */
  #nextCounter(name: string): { counter: number; faults: string[] } {
    const book = this.#state!.counters;
    const last = this.#lastCounterSent.get(name);
    let counter: number;
    const faults: string[] = [];
    if (last !== undefined && this.faults.has('bmsc-reuse-counter')) {
      counter = last;
      faults.push('bmsc-reuse-counter');
    } else if (this.faults.has('bmsc-decreasing-counter')) {
      faults.push('bmsc-decreasing-counter');
      if (last !== undefined && last > 0) counter = last - 1;
      else {
        // Start high enough that the decrease shows for a few messages without reaching 0.
        counter = book.next(name);
        for (let i = 0; i < 7; i++) counter = book.next(name);
      }
    } else {
      counter = book.next(name);
    }
    this.#lastCounterSent.set(name, counter);
    return { counter, faults };
  }

  /** CSB ID of one delivery's copies under O10 'random-per-delivery' (undefined: drawn per message). */
  #deliveryCsbId(): number | undefined {
    return this.#mikeyProfile.csbId.msk === 'random-per-delivery' ? randomBytes(4).readUInt32BE(0) : undefined;
  }

  #mskCsbId(rec: UserRecord): number {
    if (this.#mikeyProfile.csbId.msk === 'fixed-per-muk') {
      rec.fixedCsbId ??= randomBytes(4).readUInt32BE(0);
      return rec.fixedCsbId;
    }
    return randomBytes(4).readUInt32BE(0); // O10 default: random per MSK message
  }

  /** Mutations for the MIKEY-level faults shared by all key messages. */
  #keyMessageFaults(kind: MikeyKind, key: Buffer | undefined, applied: string[]): (m: MikeyMessage) => void {
    return (m) => {
      const kemac = m.payloads.find((p): p is KemacPayload => p.type === 'KEMAC');
      if (kemac && key && kind !== 'trigger' && this.faults.has('bmsc-null-encryption')) {
        // RFC 3830 §4.2.3 violated: the key data in clear (NULL encryption); the MAC still covers it.
        const profileKd = kind === 'msk' ? this.#mikeyProfile.keyData.msk : this.#mikeyProfile.keyData.mtk;
        kemac.encrAlg = EncrAlg.NULL;
        kemac.encrData = encodeKeyData([{ kdType: kdTypeCode(profileKd.type), kv: KvType.NULL, key }]);
        kemac.length = undefined;
        applied.push('bmsc-null-encryption');
      }
    };
  }

  #finishBytes(built: BuiltMessage, applied: string[]): Buffer {
    if (!this.faults.has('bmsc-bad-mac')) return built.bytes;
    // RFC 3830 §5.2 violated: the KEMAC MAC (the last 20 octets of a PSK message) no longer verifies.
    const bytes = Buffer.from(built.bytes);
    bytes[bytes.length - 1] ^= 0x01;
    applied.push('bmsc-bad-mac');
    return bytes;
  }

  #buildMskTransmission(btid: string, msk: Msk, v: boolean, applied: string[], deliveryCsbId?: number): Transmission {
    const rec = this.#users.get(btid)!;
    const csbId = deliveryCsbId ?? this.#mskCsbId(rec);
    const { counter, faults } = this.#nextCounter(mukCounterName(btid));
    applied.push(...faults);
    let rand = msk.rand;
    if (this.faults.has('bmsc-fresh-rand-per-message')) { rand = randomBytes(msk.rand.length); applied.push('bmsc-fresh-rand-per-message'); }
    if (this.faults.has('bmsc-short-rand')) { rand = rand.subarray(0, 8); applied.push('bmsc-short-rand'); }
    let extMskId = msk.id;
    if (this.faults.has('bmsc-wrong-key-ids')) { extMskId = msk.id + 1; applied.push('bmsc-wrong-key-ids'); }
    const built = buildMskMessage({
      muk: rec.user.ksNaf, csbId, counter, rand, keyDomainId: msk.keyDomainId, mskId: extMskId, msk: msk.key, v,
      idi: this.config.nafFqdn, idr: btid, profile: this.#mikeyProfile,
      mutate: this.#keyMessageFaults('msk', msk.key, applied),
    });
    return { csbId, counter, message: built.message, bytes: this.#finishBytes(built, applied) };
  }

  #buildTriggerTransmission(btid: string, keyDomainId: Buffer, v: boolean, applied: string[], deliveryCsbId?: number): Transmission {
    const rec = this.#users.get(btid)!;
    const csbId = deliveryCsbId ?? this.#mskCsbId(rec);
    const { counter, faults } = this.#nextCounter(mukCounterName(btid));
    applied.push(...faults);
    const rand = randomBytes(16);
    const current = this.#subscribedGroups(rec.user).map((g) => this.#state!.current(g.keyDomainId, g.keyGroup)).find(Boolean);
    const built = buildSolicitedPullTrigger({
      muk: rec.user.ksNaf, csbId, counter, rand, keyDomainId, v, idi: this.config.nafFqdn, idr: btid,
      profile: this.#mikeyProfile,
      mutate: (m) => {
        if (this.faults.has('bmsc-trigger-nonzero-ids') && current) {
          // Source §6.3.2.1 (push solicited pull) violated: the Key IDs should be 0x0.
          const ext = m.payloads.find((p): p is ExtPayload => p.type === 'EXT');
          const id = ext?.keyIds?.find((k) => k.idType === KeyIdType.MSK_ID);
          if (id) { id.value = mskIdToBytes(current.id); id.length = undefined; applied.push('bmsc-trigger-nonzero-ids'); }
          if (ext) ext.length = undefined;
        }
      },
    });
    return { csbId, counter, message: built.message, bytes: this.#finishBytes(built, applied) };
  }

  #send(bytes: Buffer, to: Endpoint): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.#udp) { reject(new Error('BM-SC stopped')); return; }
      this.#udp.send(bytes, to.port, to.address, (error) => (error ? reject(error) : resolve()));
    });
  }

  async #transmit(d: Delivery): Promise<MikeySent> {
    const applied: string[] = [];
    let t: Transmission;
    const last = d.sent.at(-1);
    if (last && !this.#profile.retransmission.freshTs) {
      t = last; // O18 alternative: repeat the same octets
    } else {
      t = d.build(applied);
    }
    if (last && d.acked) applied.push('bmsc-retransmit-after-ack');
    d.sent.push(t);
    this.#ackIndex.set(`${t.csbId}:${t.counter}`, d.id);
    await this.#send(t.bytes, d.to);
    const attempt = d.sent.length;
    this.emit('mikey-out', {
      time: now(), kind: d.kind, btid: d.btid, from: this.#endpoints?.mikey ?? this.config.mikey, to: d.to,
      bytes: t.bytes, keyDomainId: d.keyDomainId, mskId: d.mskId, csbId: t.csbId, counter: t.counter, v: d.v,
      attempt, deliveryId: d.id, faults: [...new Set(applied)],
    });
    return {
      kind: d.kind, btid: d.btid, to: d.to, keyDomainId: hex(d.keyDomainId), mskId: hex32(d.mskId), csbId: hex32(t.csbId),
      counter: t.counter, v: d.v, attempt, length: t.bytes.length,
    };
  }

  /** Opens a delivery (MSK message or trigger) and sends its first transmission; retransmits while unACKed. */
  async #startDelivery(d: Omit<Delivery, 'id' | 'sent' | 'acked' | 'done'>): Promise<MikeySent> {
    const delivery: Delivery = { ...d, id: this.#nextDeliveryId++, sent: [], acked: false, done: false };
    this.#deliveries.set(delivery.id, delivery);
    const first = await this.#transmit(delivery);
    if (delivery.v) this.#scheduleRetransmission(delivery);
    else this.#closeDelivery(delivery);
    return first;
  }

  async #startMskDelivery(btid: string, msk: Msk, to: Endpoint, v: boolean): Promise<MikeySent> {
    return this.#startDelivery({
      kind: 'msk', btid, to, v, msk, keyDomainId: msk.keyDomainId, mskId: msk.id,
      build: ((csb) => (applied: string[]) => this.#buildMskTransmission(btid, msk, v, applied, csb))(this.#deliveryCsbId()),
    });
  }

  #scheduleRetransmission(d: Delivery): void {
    const policy = this.#profile.retransmission;
    if (this.faults.has('bmsc-never-retransmit')) return; // O18 violated: the delivery stays open, silent
    d.timer = setTimeout(() => {
      d.timer = undefined;
      if (d.done || !this.#udp) return;
      const keepGoing = !d.acked || this.faults.has('bmsc-retransmit-after-ack');
      if (!keepGoing) return;
      if (d.sent.length > policy.count) {
        if (!d.acked) this.emit('ack-timeout', { time: now(), deliveryId: d.id, btid: d.btid, attempts: d.sent.length });
        this.#closeDelivery(d);
        return;
      }
      this.#transmit(d).then(() => this.#scheduleRetransmission(d), (error) => {
        this.emit('warning', { time: now(), message: `retransmission ${d.id}: ${(error as Error).message}` });
        this.#closeDelivery(d);
      });
    }, policy.intervalMs);
  }

  #closeDelivery(d: Delivery): void {
    if (d.timer) clearTimeout(d.timer);
    d.timer = undefined;
    d.done = true;
    // V=0 deliveries are never answered: forget them now. A closed V=1 delivery stays matchable for one
    // more ACK window, so a late ACK is still matched (and accepted at most once, protocol §6.1), then
    // it is forgotten too (a long-running BM-SC must not grow without bound).
    if (!d.v) this.#forgetDelivery(d);
    else this.#retireLater(d);
  }

  #retireLater(d: Delivery): void {
    if (d.retireTimer) return;
    const grace = this.#profile.timers.ackMs + this.#profile.timers.silenceMs + this.#profile.retransmission.intervalMs;
    d.retireTimer = setTimeout(() => this.#forgetDelivery(d), grace);
    d.retireTimer.unref();
  }

  #forgetDelivery(d: Delivery): void {
    if (d.timer) clearTimeout(d.timer);
    if (d.retireTimer) clearTimeout(d.retireTimer);
    for (const t of d.sent) this.#ackIndex.delete(`${t.csbId}:${t.counter}`);
    this.#deliveries.delete(d.id);
  }

  // ---- MIKEY in: verification messages (ACKs) ----------------------------------------------------------------

  #onDatagram(bytes: Buffer, rinfo: RemoteInfo): void {
    const from = { address: rinfo.address, port: rinfo.port };
    const reject = (reason: string, extra: Partial<BmscAckRejectedEvent> = {}) =>
      this.emit('ack-rejected', { time: now(), from, bytes, reason, ...extra });
    const { message, error } = decodeMikeyLenient(bytes);
    const t = message?.payloads ? findPayload(message, 'T') : undefined;
    const csbId = message?.hdr?.csbId;
    const counter = t?.tsType === TsType.COUNTER ? Number(t.tsValue) : undefined;
    if (csbId === undefined || counter === undefined) {
      reject(error ? `undecodable: ${error.message}` : 'no COUNTER timestamp');
      return;
    }
    // RFC 3830 §5.4: an initiator accepts only responses to its own messages, matched by CSB ID and TS.
    const deliveryId = this.#ackIndex.get(`${csbId}:${counter}`);
    const d = deliveryId === undefined ? undefined : this.#deliveries.get(deliveryId);
    if (!d) {
      reject('no outstanding message with this CSB ID and COUNTER', { csbId, counter });
      return;
    }
    const original = d.sent.find((s) => s.csbId === csbId && s.counter === counter)!;
    const rec = this.#users.get(d.btid);
    if (!rec) { reject('user no longer provisioned', { csbId, counter, deliveryId: d.id }); return; }
    const check = verifyVerificationMessage(bytes, { original: original.message, psk: rec.user.ksNaf }, this.#mikeyProfile);
    const valid = check.macValid && check.csbIdMatches && check.echoedCounterMatches && !check.error;
    if (!valid && !this.faults.has('bmsc-accept-bad-ack')) {
      reject(check.error ?? 'verification failed', { csbId, counter, deliveryId: d.id });
      return;
    }
    if (d.acked) {
      // Protocol §6.1: an ACK is accepted at most once.
      reject('duplicate ACK (delivery already acknowledged)', { csbId, counter, deliveryId: d.id });
      return;
    }
    d.acked = true;
    this.emit('ack-in', { time: now(), from, bytes, btid: d.btid, csbId, counter, deliveryId: d.id, macValid: check.macValid });
    if (!this.faults.has('bmsc-retransmit-after-ack')) this.#closeDelivery(d);
  }

  // ---- BM-SC-initiated procedures (control API) -------------------------------------------------------------

  #userOrThrow(btid: string): UserRecord {
    const rec = this.#users.get(btid);
    if (!rec) throw new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_USER', `no user with B-TID '${btid}'`);
    return rec;
  }

  #targetOrThrow(btid: string): Endpoint {
    const to = this.mikeyTarget(btid);
    if (!to) throw new ControlApiError(409, 'ERR_CONTROL_NO_TARGET', `no UE address known for '${btid}' (give ueAddress or let it send an MSK request first)`);
    return to;
  }

  #subscribedGroups(user: BmscUser): { keyDomainId: Buffer; keyGroup: number }[] {
    return user.subscriptions.flatMap((s) => s.keyGroups.map((keyGroup) => ({ keyDomainId: s.keyDomainId, keyGroup })));
  }

  /** 6.3.2.1: pushes the named MSK, or the current MSK of every subscribed key group, to the user. */
  async push(args: { btid: string; msk?: { keyDomainId: Buffer; mskId: number }; v?: boolean }): Promise<MikeySent[]> {
    const rec = this.#userOrThrow(args.btid);
    const to = this.#targetOrThrow(args.btid);
    let msks: Msk[];
    if (args.msk) {
      const msk = this.#state!.find(args.msk.keyDomainId, args.msk.mskId);
      if (!msk) throw new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', `no MSK ${hex(args.msk.keyDomainId)}/${hex32(args.msk.mskId)}`);
      msks = [msk];
    } else {
      msks = this.#subscribedGroups(rec.user).map((g) => this.#state!.current(g.keyDomainId, g.keyGroup)).filter((m): m is Msk => !!m);
      if (msks.length === 0) throw new ControlApiError(409, 'ERR_CONTROL_NO_KEY', `'${args.btid}' has no subscribed key group`);
    }
    const sent: MikeySent[] = [];
    for (const msk of msks) sent.push(await this.#startMskDelivery(args.btid, msk, to, args.v ?? this.config.mskAck));
    return sent;
  }

  /** Push solicited pull: a MIKEY trigger whose Key IDs are 0x0 (protocol §1.3, O20). */
  async solicitedPull(args: { btid: string; keyDomainId?: Buffer; v?: boolean }): Promise<MikeySent[]> {
    const rec = this.#userOrThrow(args.btid);
    const to = this.#targetOrThrow(args.btid);
    const keyDomainId = args.keyDomainId ?? rec.user.subscriptions[0]?.keyDomainId ?? Buffer.alloc(3);
    const v = args.v ?? this.config.triggerAck;
    const first = await this.#startDelivery({
      kind: 'trigger', btid: args.btid, to, v, keyDomainId, mskId: 0,
      build: ((csb) => (applied: string[]) => this.#buildTriggerTransmission(args.btid, keyDomainId, v, applied, csb))(this.#deliveryCsbId()),
    });
    return [first];
  }

  /** 6.3.3: a new MTK under the current (or named) MSK of each key group, sent to every receiver. */
  mtkUpdate(args: { keyDomainId?: Buffer; mskId?: number }): Promise<MikeySent[]> {
    const state = this.#state!;
    let msks: Msk[];
    if (args.mskId !== undefined) {
      const domains = args.keyDomainId ? [args.keyDomainId] : state.groups().map((g) => g.keyDomainId);
      const found = domains.map((d) => state.find(d, args.mskId!)).find(Boolean);
      if (!found) throw new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', `no MSK ${hex32(args.mskId)}`);
      msks = [found];
    } else {
      msks = state.groups()
        .filter((g) => !args.keyDomainId || g.keyDomainId.equals(args.keyDomainId))
        .map((g) => g.msks.at(-1)).filter((m): m is Msk => !!m);
      if (args.keyDomainId && msks.length === 0) throw new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', `no key group in domain ${hex(args.keyDomainId)}`);
    }
    return this.#sendMtks(msks);
  }

  async #sendMtks(msks: Msk[]): Promise<MikeySent[]> {
    const sent: MikeySent[] = [];
    for (const msk of msks) {
      const targets = this.#mtkTargets(msk);
      if (targets.length === 0) continue;
      const applied: string[] = [];
      const repeat = this.faults.has('bmsc-repeat-mtk-id') && msk.mtkId > 0;
      if (repeat) applied.push('bmsc-repeat-mtk-id');
      const { mtkId, mtk } = this.#state!.nextMtk(msk, { repeatId: repeat });
      const { counter, faults } = this.#nextCounter(mskCounterName(msk.keyDomainId, msk.id));
      applied.push(...faults);
      const csbId = this.#mikeyProfile.csbId.mtk === 'fixed-per-msk' ? msk.mtkCsbId : randomBytes(4).readUInt32BE(0);
      const v = this.faults.has('bmsc-mtk-with-v');
      if (v) applied.push('bmsc-mtk-with-v');
      const built = buildMtkMessage({
        msk: msk.key, mskRand: msk.rand, csbId, counter, keyDomainId: msk.keyDomainId, mskId: msk.id, mtkId, mtk, v,
        idi: this.config.nafFqdn, profile: this.#mikeyProfile, mutate: this.#keyMessageFaults('mtk', mtk, applied),
      });
      const bytes = this.#finishBytes(built, applied);
      // Point-to-multipoint (protocol §1.4): the same octets to every receiver, no ACK expected.
      for (const to of targets) {
        await this.#send(bytes, to);
        this.emit('mikey-out', {
          time: now(), kind: 'mtk', from: this.#endpoints?.mikey ?? this.config.mikey, to, bytes,
          keyDomainId: msk.keyDomainId, mskId: msk.id, mtkId, csbId, counter, v, attempt: 1, faults: [...new Set(applied)],
        });
        sent.push({
          kind: 'mtk', to, keyDomainId: hex(msk.keyDomainId), mskId: hex32(msk.id),
          mtkId: mtkId.toString(16).padStart(this.#mikeyProfile.ext.mtkIdLength * 2, '0'),
          csbId: hex32(csbId), counter, v, attempt: 1, length: bytes.length,
        });
      }
    }
    return sent;
  }

  #mtkTargets(msk: Msk): Endpoint[] {
    if (this.config.mtkTargets) return this.config.mtkTargets;
    const out: Endpoint[] = [];
    for (const [btid, rec] of this.#users) {
      const subscribed = rec.user.subscriptions.some((s) => s.keyDomainId.equals(msk.keyDomainId) && s.keyGroups.includes(msk.keyGroup));
      const to = subscribed ? this.mikeyTarget(btid) : undefined;
      if (to && !out.some((e) => e.address === to.address && e.port === to.port)) out.push(to);
    }
    return out;
  }

  /** A new MSK (next Key Number) becomes current in each (or the named) key group; optionally pushed. */
  async rotateMsk(args: { keyDomainId?: Buffer; keyGroup?: number; push?: boolean }): Promise<{
    rotated: { keyDomainId: string; keyGroup: number; mskId: string; previousMskId?: string }[]; messages: MikeySent[];
  }> {
    const state = this.#state!;
    const groups = state.groups().filter((g) =>
      (!args.keyDomainId || g.keyDomainId.equals(args.keyDomainId)) && (args.keyGroup === undefined || g.keyGroup === args.keyGroup));
    if (groups.length === 0) throw new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', 'no key group matches');
    const rotated = [];
    const messages: MikeySent[] = [];
    for (const g of groups) {
      const { msk, previous } = state.rotate(g.keyDomainId, g.keyGroup);
      rotated.push({
        keyDomainId: hex(msk.keyDomainId), keyGroup: msk.keyGroup, mskId: hex32(msk.id),
        ...(previous ? { previousMskId: hex32(previous.id) } : {}),
      });
      if (!args.push) continue;
      for (const [btid, rec] of this.#users) {
        const subscribed = rec.user.subscriptions.some((s) => s.keyDomainId.equals(msk.keyDomainId) && s.keyGroups.includes(msk.keyGroup));
        const to = subscribed ? this.mikeyTarget(btid) : undefined;
        if (to) messages.push(await this.#startMskDelivery(btid, msk, to, this.config.mskAck));
      }
    }
    return { rotated, messages };
  }

  /** GET /state. */
  snapshot(): Record<string, unknown> {
    const state = this.#state!;
    const muk: Record<string, number> = {};
    const msk: Record<string, number> = {};
    for (const [name, value] of Object.entries(state.counters.issued())) {
      if (name.startsWith('muk:')) muk[name.slice(4)] = value;
      else if (name.startsWith('msk:')) msk[name.slice(4)] = value;
    }
    const outstandingAcks = [...this.#deliveries.values()].filter((d) => d.v && !d.acked && !d.done).map((d) => {
      const last = d.sent.at(-1)!;
      return {
        btid: d.btid, kind: d.kind, keyDomainId: hex(d.keyDomainId), mskId: hex32(d.mskId), csbId: hex32(last.csbId),
        counter: last.counter, attempt: d.sent.length, to: d.to,
      };
    });
    return {
      nafFqdn: this.config.nafFqdn,
      ...(this.#endpoints ? { endpoints: { ...this.#endpoints } } : {}),
      counters: { muk, msk },
      keys: state.groups().map((g) => {
        const current = g.msks.at(-1)!;
        return {
          keyDomainId: hex(g.keyDomainId), keyGroup: g.keyGroup, currentMskId: hex32(current.id),
          mskIds: g.msks.map((m) => hex32(m.id)),
          ...(current.mtkId > 0 ? { mtkId: current.mtkId.toString(16).padStart(this.#mikeyProfile.ext.mtkIdLength * 2, '0') } : {}),
          mtkCsbId: hex32(current.mtkCsbId),
        };
      }),
      users: [...this.#users.keys()].map((btid) => this.#userView(btid)),
      outstandingAcks,
      faults: this.faults.active(),
    };
  }

  #userView(btid: string): Record<string, unknown> {
    const { user } = this.#users.get(btid)!;
    const target = this.mikeyTarget(btid);
    return {
      btid,
      ...(user.ueAddress ? { ueAddress: user.ueAddress } : {}),
      ...(user.uePort ? { uePort: user.uePort } : {}),
      ...(target ? { mikeyTarget: target } : {}),
      subscriptions: user.subscriptions.map((s) => ({ keyDomainId: hex(s.keyDomainId), keyGroups: [...s.keyGroups] })),
    };
  }

  /** Replaces the active faults (PUT /faults); the realm fault takes effect on the next challenge. */
  setFaults(names: string[]): void {
    const hadRealmFault = this.faults.has('bmsc-wrong-realm');
    this.faults.set(names);
    if (this.#digest && hadRealmFault !== this.faults.has('bmsc-wrong-realm')) this.#digest = this.#makeDigestServer();
  }

  #makeControlServer(): ControlServer {
    return new ControlServer({
      role: 'bmsc',
      info: { product: 'mbms-conform reference BM-SC', endpoints: () => ({ ...(this.#endpoints ?? {}) }) },
      handlers: {
        'POST /users': ({ body }) => {
          const user = parseUser(body as UserInput);
          this.addUser(user);
          return { user: this.#userView(user.btid) };
        },
        'POST /push': async ({ body }) => ({
          messages: await this.push({
            btid: body.btid,
            ...(body.msk ? { msk: { keyDomainId: parseKeyDomainId(body.msk.keyDomainId), mskId: parseMskIdText(body.msk.mskId) } } : {}),
            ...(body.v !== undefined ? { v: body.v } : {}),
          }),
        }),
        'POST /solicited-pull': async ({ body }) => ({
          messages: await this.solicitedPull({
            btid: body.btid,
            ...(body.keyDomainId ? { keyDomainId: parseKeyDomainId(body.keyDomainId) } : {}),
            ...(body.v !== undefined ? { v: body.v } : {}),
          }),
        }),
        'POST /mtk-update': async ({ body }) => ({
          messages: await this.mtkUpdate({
            ...(body.keyDomainId ? { keyDomainId: parseKeyDomainId(body.keyDomainId) } : {}),
            ...(body.mskId ? { mskId: parseMskIdText(body.mskId) } : {}),
          }),
        }),
        'POST /rotate-msk': ({ body }) => this.rotateMsk({
          ...(body.keyDomainId ? { keyDomainId: parseKeyDomainId(body.keyDomainId) } : {}),
          ...(body.keyGroup !== undefined ? { keyGroup: body.keyGroup } : {}),
          ...(body.push !== undefined ? { push: body.push } : {}),
        }),
        'GET /state': () => this.snapshot(),
        'GET /faults': () => this.faults.toJSON(),
        'PUT /faults': ({ body }) => { this.setFaults(body.active); return this.faults.toJSON(); },
      },
    });
  }
}

// ---- helpers -------------------------------------------------------------------------------------------------

interface HttpAnswer {
  status: number;
  outcome: string;
  headers: [string, string][];
  body: Buffer;
  btid?: string;
}

function textAnswer(status: number, outcome: string, text: string): HttpAnswer {
  return { status, outcome, headers: [['Content-Type', 'text/plain; charset=utf-8']], body: Buffer.from(`${text}\n`, 'utf8') };
}

function headerPairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** MSK request bodies list a few key IDs; anything this large is not one (protocol §2.3). */
const MAX_REQUEST_BODY = 64 * 1024;


function kdTypeCode(name: string): number {
  switch (name) {
    case 'TGK+SALT': return KeyDataType.TGK_SALT;
    case 'TEK': return KeyDataType.TEK;
    case 'TEK+SALT': return KeyDataType.TEK_SALT;
    default: return KeyDataType.TGK;
  }
}
