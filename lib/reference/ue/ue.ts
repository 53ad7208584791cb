// The reference UE (protocol §1, §6): a real UDP MIKEY receiver and a real HTTP client for the MSK request,
// with a control API (docs/control-api.md) and fault injection. It is the default UE the suite's BM-SC cases
// are run against, and a working example for UE vendors; lib/suite never calls it to judge anything.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import {
  defaultProfile, mskIdToBytes, mskKey, validateProfile, type MbmsProfile, type MskRequestEntry,
} from '../../mbms/index.ts';
import {
  bindUdp, closeUdp, ControlApiError, ControlServer, FaultSet, JsonStateStore, ReferenceConfigError, type Endpoint,
} from '../common/index.ts';
import { now, parseKeyDomainId, parseKsNaf, parseMskIdHex } from '../common/index.ts';
import { checkUeConfig, type UeConfig } from './config.ts';
import { UE_FAULTS } from './faults.ts';
import { UeKeyStore, type UeCounters } from './key-store.ts';
import { processDatagram, type DiscardReason, type ProcessResult } from './mikey-processor.ts';
import { MskRequester, type MskRequestOutcome, type MskRequestReason } from './msk-request.ts';

const hex = (b: Buffer): string => b.toString('hex');

export interface MikeyInEvent { time: number; from: Endpoint; bytes: Buffer }
export interface AckOutEvent { time: number; to: Endpoint; bytes: Buffer; csbId: number; counter?: number; acknowledges: string; reAck: boolean }
export interface ErrorOutEvent { time: number; to: Endpoint; bytes: Buffer; errorNo: number }
export interface HttpRequestEvent { time: number; reason: MskRequestReason; method: string; target: string; headers: Record<string, string>; body: Buffer }
export interface HttpResponseEvent { time: number; reason: MskRequestReason; status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; error?: string }
export interface KeyInstalledEvent { time: number; kind: 'msk' | 'mtk'; keyDomainId: string; mskId: string; mtkId?: string; evictedMskId?: string }
export interface DiscardedEvent { time: number; reason: DiscardReason; detail: string; messageKind: string; from: Endpoint; counter?: number; csbId?: number }
export interface ProcessedEvent { time: number; from: Endpoint; result: ProcessResult }

/** Events of ReferenceUe (EventEmitter names). */
export interface ReferenceUeEvents {
  'mikey-in': [MikeyInEvent];
  'ack-out': [AckOutEvent];
  'error-out': [ErrorOutEvent];
  'http-request': [HttpRequestEvent];
  'http-response': [HttpResponseEvent];
  'key-installed': [KeyInstalledEvent];
  discarded: [DiscardedEvent];
  /** After every datagram, once its replies left the socket. */
  processed: [ProcessedEvent];
  'msk-request-done': [MskRequestOutcome];
}

export interface UeMskState {
  keyDomainId: string;
  mskId: string;
  /** Key values appear only when profile.secrets.reveal is true. */
  key?: string;
  rand?: string;
  mtk?: { mtkId: string; key?: string; salt?: string };
}

export interface UeStateSnapshot {
  btid: string | null;
  counters: { muk: number; mukByBtid: Record<string, number>; msk: Record<string, number> };
  msks: UeMskState[];
  acksSent: number;
  errorsSent: number;
  httpRequests: number;
  discarded: Partial<Record<DiscardReason, number>>;
  faults: string[];
}

interface PersistedState { counters: UeCounters }

export class ReferenceUe extends EventEmitter<ReferenceUeEvents> {
  readonly config: UeConfig;
  readonly profile: MbmsProfile;
  readonly faults: FaultSet;
  readonly store: UeKeyStore;
  #credentials?: { btid: string; ksNaf: Buffer; muk: Buffer };
  readonly #services: Map<string, number[]>;
  readonly #requester: MskRequester;
  readonly #stateStore: JsonStateStore<PersistedState>;
  #savedCounters = '';
  #socket?: UdpSocket;
  #control?: ControlServer;
  #endpoints?: { mikey: Endpoint; control: Endpoint | null };
  #lastAccepted?: { bytes: Buffer; ack?: { bytes: Buffer; to: Endpoint } };
  #queue: Promise<void> = Promise.resolve();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #missedKeyInflight = new Set<string>();
  #acksSent = 0;
  #errorsSent = 0;
  #httpRequests = 0;
  readonly #discarded: Partial<Record<DiscardReason, number>> = {};

  constructor(config: UeConfig) {
    super();
    checkUeConfig(config);
    this.config = config;
    this.profile = validateProfile(structuredClone(config.profile ?? defaultProfile()));
    if (this.profile.mikey.timestamp.type !== 'counter') {
      // Replay state is kept as 32-bit counters per MUK and per MSK (protocol §6.1, TS 31.102 EF_MUK/EF_MSK).
      throw new ReferenceConfigError(`the reference UE implements COUNTER timestamps only (O7), not '${this.profile.mikey.timestamp.type}'`, { field: 'profile.mikey.timestamp.type' });
    }
    this.faults = new FaultSet('ue', UE_FAULTS, config.faults ?? []);
    if (config.btid !== undefined && config.ksNaf !== undefined) {
      const ksNaf = parseKsNaf(config.ksNaf);
      this.#credentials = { btid: config.btid, ksNaf, muk: config.muk !== undefined ? parseKsNaf(config.muk) : ksNaf };
    }
    this.#services = new Map();
    for (const s of config.services ?? []) {
      const domain = hex(parseKeyDomainId(s.keyDomainId));
      this.#services.set(domain, [...(this.#services.get(domain) ?? []), ...s.mskIds.map(parseMskIdHex)]);
    }
    this.#stateStore = new JsonStateStore<PersistedState>(config.statePath);
    const persisted = this.#stateStore.load();
    this.store = new UeKeyStore({
      maxPerGroup: this.profile.keyIds.maxMsksPerGroup,
      strictIncrease: this.profile.keyIds.monotonic === 'strict-increase',
      ...(persisted?.counters ? { counters: persisted.counters } : {}),
    });
    this.#savedCounters = JSON.stringify(this.store.counters());
    this.#requester = new MskRequester({
      credentials: () => this.#credentials,
      bmscUrl: config.bmscUrl,
      // A specific MIKEY address is the UE's address: HTTP leaves from it too (unspecified: the system's choice).
      ...(config.mikey?.address && !['0.0.0.0', '::'].includes(config.mikey.address) ? { localAddress: config.mikey.address } : {}),
      nafFqdn: config.nafFqdn,
      profile: this.profile,
      faults: this.faults,
      onRequest: (request, reason) => {
        this.#httpRequests += 1;
        this.emit('http-request', { time: now(), reason, ...request });
      },
      onExchange: (exchange, reason) => {
        const r = exchange.response;
        this.emit('http-response', {
          time: now(), reason, status: r?.status ?? 0, headers: r?.headers ?? {}, body: r?.body ?? Buffer.alloc(0),
          ...(exchange.error ? { error: exchange.error } : {}),
        });
      },
    });
  }

  /** Bound sockets, once started. */
  get endpoints(): { mikey: Endpoint; control: Endpoint | null } | undefined {
    return this.#endpoints;
  }

  get btid(): string | undefined {
    return this.#credentials?.btid;
  }

  /** Binds the MIKEY UDP socket and the control API. Port 0 picks an ephemeral port. */
  async start(): Promise<{ mikey: Endpoint; control: Endpoint }> {
    const mikeyAt = this.config.mikey ?? { address: '127.0.0.1', port: this.profile.ports.ueMikey };
    const socket = createSocket({ type: mikeyAt.address.includes(':') ? 'udp6' : 'udp4' });
    socket.on('message', (bytes, rinfo) => {
      const from = { address: rinfo.address, port: rinfo.port };
      this.#queue = this.#queue.then(() => this.#handleDatagram(Buffer.from(bytes), from)).catch(() => undefined);
    });
    const mikey = await bindUdp(socket, 'MIKEY (UE)', mikeyAt);
    this.#socket = socket;
    let control: Endpoint | null = null;
    if (this.config.control !== null) {
      this.#control = new ControlServer({
        role: 'ue',
        info: { product: 'mbms-conform reference UE', version: '0.1', endpoints: () => this.#endpointMap() },
        handlers: this.#controlHandlers(),
      });
      try {
        control = await this.#control.listen(this.config.control ?? { address: '127.0.0.1', port: 0 });
      } catch (error) {
        await closeUdp(socket);
        throw error;
      }
    }
    this.#endpoints = { mikey, control };
    // The return type promises a control endpoint; with control: null it is reported as port 0.
    return { mikey, control: control ?? { address: mikeyAt.address, port: 0 } };
  }

  async stop(): Promise<void> {
    if (this.#socket) await closeUdp(this.#socket);
    this.#socket = undefined;
    await this.#control?.close();
    this.#control = undefined;
    await this.idle();
    this.#requester.close();
  }

  /** Resolves once queued datagrams are processed and started MSK requests are over. */
  async idle(): Promise<void> {
    await this.#queue;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /**
   * Installs GBA credentials (as after a Ub run). A new B-TID is a new MUK with its own counter space.
   * `muk` defaults to Ks_NAF (GBA_ME); under GBA_U it is Ks_int_NAF while the Digest password stays
   * base64(Ks_ext_NAF) (protocol §3.4, O23).
   */
  bootstrap(btid: string, ksNaf: Buffer | string, muk?: Buffer | string): void {
    const toKey = (k: Buffer | string): Buffer => (typeof k === 'string' ? parseKsNaf(k) : Buffer.from(k));
    const key = toKey(ksNaf);
    if (this.#credentials?.btid !== btid || !this.#credentials.ksNaf.equals(key)) this.#requester.reset();
    this.#credentials = { btid, ksNaf: key, muk: muk === undefined ? key : toKey(muk) };
  }

  /** The configured services as MSK request entries (protocol §1.1: MSKs of the services the UE joins). */
  serviceKeys(): MskRequestEntry[] {
    return [...this.#services].flatMap(([domain, ids]) => ids.map((mskId) => ({ keyDomainId: Buffer.from(domain, 'hex'), mskId })));
  }

  /** Runs the UE-initiated MSK request (6.3.1) for `keys` (default: the configured services). */
  requestMsks(keys: MskRequestEntry[] = this.serviceKeys(), reason: MskRequestReason = 'control'): Promise<MskRequestOutcome> {
    const run = (async () => {
      const outcome = await this.#requester.request(keys, reason);
      this.emit('msk-request-done', outcome);
      return outcome;
    })();
    this.#track(run);
    return run;
  }

  /** Forgets MSKs (all, one domain, one MSK), e.g. to provoke a missed-key update. */
  deleteMsks(keyDomainId?: Buffer, mskId?: number): { keyDomainId: string; mskId: string }[] {
    return this.store.deleteMsks(keyDomainId, mskId).map((m) => ({ keyDomainId: hex(m.keyDomainId), mskId: hex(mskIdToBytes(m.mskId)) }));
  }

  /** State snapshot; key values only when profile.secrets.reveal allows them. */
  state(): UeStateSnapshot {
    const reveal = this.profile.secrets.reveal;
    const counters = this.store.counters();
    return {
      btid: this.#credentials?.btid ?? null,
      counters: { muk: this.#credentials ? this.store.mukCounter(this.#credentials.btid) : 0, mukByBtid: counters.muk, msk: counters.msk },
      msks: this.store.msks().map((m) => ({
        keyDomainId: hex(m.keyDomainId), mskId: hex(mskIdToBytes(m.mskId)),
        ...(reveal ? { key: hex(m.key), rand: hex(m.rand) } : {}),
        ...(m.mtk ? { mtk: { mtkId: m.mtk.mtkId.toString(16).padStart(this.profile.keyIds.mtkIdLength * 2, '0'), ...(reveal ? { key: hex(m.mtk.key), ...(m.mtk.salt ? { salt: hex(m.mtk.salt) } : {}) } : {}) } } : {}),
      })),
      acksSent: this.#acksSent,
      errorsSent: this.#errorsSent,
      httpRequests: this.#httpRequests,
      discarded: { ...this.#discarded },
      faults: this.faults.active(),
    };
  }

  #track(promise: Promise<unknown>): void {
    this.#inflight.add(promise);
    void promise.finally(() => this.#inflight.delete(promise)).catch(() => undefined);
  }

  #endpointMap(): Record<string, Endpoint> {
    const e = this.#endpoints;
    return e ? { mikey: e.mikey, ...(e.control ? { control: e.control } : {}) } : {};
  }

  async #handleDatagram(bytes: Buffer, from: Endpoint): Promise<void> {
    this.emit('mikey-in', { time: now(), from, bytes });
    const result = processDatagram(bytes, from, {
      profile: this.profile, faults: this.faults, store: this.store,
      credentials: this.#credentials && { btid: this.#credentials.btid, muk: this.#credentials.muk },
      knownDomains: new Set(this.#services.keys()), services: this.#services, now: now(),
      ...(this.#lastAccepted ? { lastAccepted: this.#lastAccepted } : {}),
    });
    this.#persistCounters();
    if (result.installed) {
      const i = result.installed;
      this.emit('key-installed', {
        time: now(), kind: i.kind, keyDomainId: hex(i.keyDomainId), mskId: hex(mskIdToBytes(i.mskId)),
        ...(i.mtkId !== undefined ? { mtkId: i.mtkId.toString(16).padStart(this.profile.keyIds.mtkIdLength * 2, '0') } : {}),
        ...(i.evictedMskId !== undefined ? { evictedMskId: hex(mskIdToBytes(i.evictedMskId)) } : {}),
      });
    }
    if (result.discarded) {
      this.#discarded[result.discarded.reason] = (this.#discarded[result.discarded.reason] ?? 0) + 1;
      this.emit('discarded', {
        time: now(), ...result.discarded, messageKind: result.messageKind, from,
        ...(result.counter !== undefined ? { counter: result.counter } : {}), ...(result.csbId !== undefined ? { csbId: result.csbId } : {}),
      });
    }
    if (result.accepted) this.#lastAccepted = { bytes };
    for (const action of result.actions) {
      if (action.kind === 'ack') {
        await this.#send(action.bytes, action.to);
        this.#acksSent += 1;
        if (result.accepted && !action.reAck) this.#lastAccepted = { bytes, ack: { bytes: action.bytes, to: action.to } };
        this.emit('ack-out', { time: now(), to: action.to, bytes: action.bytes, csbId: action.csbId, acknowledges: action.acknowledges, reAck: action.reAck ?? false, ...(action.counter !== undefined ? { counter: action.counter } : {}) });
      } else if (action.kind === 'error-message') {
        await this.#send(action.bytes, action.to);
        this.#errorsSent += 1;
        this.emit('error-out', { time: now(), to: action.to, bytes: action.bytes, errorNo: action.errorNo });
      } else {
        this.#startRequest(action.keys, action.reason);
      }
    }
    this.emit('processed', { time: now(), from, result });
  }

  #startRequest(keys: MskRequestEntry[], reason: 'solicited-pull' | 'missed-key'): void {
    if (reason === 'missed-key') {
      // One outstanding request per missing MSK: a burst of MTK messages must not become a request storm.
      const id = mskKey(keys[0]!.keyDomainId, keys[0]!.mskId);
      if (this.#missedKeyInflight.has(id)) return;
      this.#missedKeyInflight.add(id);
      const run = this.requestMsks(keys, reason).finally(() => this.#missedKeyInflight.delete(id));
      this.#track(run);
      return;
    }
    // O20: a random delay of up to jitterMs spreads the pulls of many UEs.
    const jitter = this.profile.solicitedPull.jitterMs > 0 ? randomInt(this.profile.solicitedPull.jitterMs + 1) : 0;
    const run = (jitter > 0 ? new Promise((r) => setTimeout(r, jitter)) : Promise.resolve()).then(() => this.requestMsks(keys, reason));
    this.#track(run);
  }

  #send(bytes: Buffer, to: Endpoint): Promise<void> {
    return new Promise((resolve) => {
      const socket = this.#socket;
      if (!socket) { resolve(); return; }
      socket.send(bytes, to.port, to.address, () => resolve());
    });
  }

  #persistCounters(): void {
    const text = JSON.stringify(this.store.counters());
    if (text === this.#savedCounters) return;
    this.#stateStore.save({ counters: this.store.counters() });
    this.#savedCounters = text;
  }

  #controlHandlers(): Record<string, (ctx: { body: any }) => unknown> {
    const mskRef = (keyDomainId: Buffer, mskId: number) => ({ keyDomainId: hex(keyDomainId), mskId: hex(mskIdToBytes(mskId)) });
    return {
      'POST /bootstrap': ({ body }) => {
        this.bootstrap(body.btid, body.ksNaf);
        return { btid: body.btid };
      },
      'POST /msk-request': async ({ body }) => {
        const keys: MskRequestEntry[] = body.keys
          ? (body.keys as { keyDomainId: string; mskId: string }[]).map((k) => ({ keyDomainId: parseKeyDomainId(k.keyDomainId), mskId: parseMskIdHex(k.mskId) }))
          : this.serviceKeys();
        if (keys.length === 0) throw new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', 'no keys given and no services configured');
        if (!this.#credentials) throw new ControlApiError(409, 'ERR_CONTROL_NO_CREDENTIALS', 'the UE has no GBA credentials: POST /bootstrap first');
        const outcome = await this.requestMsks(keys, 'control');
        return {
          httpStatus: outcome.httpStatus,
          ...(outcome.rspauthValid !== undefined ? { rspauthValid: outcome.rspauthValid } : {}),
          results: outcome.results.map((r) => {
            const asked = keys.find((k) => k.mskId === r.mskId);
            return { ...(asked ? { keyDomainId: hex(asked.keyDomainId) } : {}), mskId: hex(mskIdToBytes(r.mskId)), status: r.status };
          }),
          exchanges: outcome.exchanges,
          accepted: outcome.accepted,
          bootstrapRequired: outcome.bootstrapRequired,
          ...(outcome.problem ? { problem: outcome.problem } : {}),
        };
      },
      'POST /delete-msk': ({ body }) => {
        const deleted = this.store.deleteMsks(
          body.keyDomainId ? parseKeyDomainId(body.keyDomainId) : undefined,
          body.mskId ? parseMskIdHex(body.mskId) : undefined,
        );
        return { deleted: deleted.map((m) => mskRef(m.keyDomainId, m.mskId)) };
      },
      'GET /state': () => {
        const s = this.state();
        return {
          btid: s.btid,
          counters: { muk: s.counters.muk, msk: s.counters.msk },
          msks: s.msks.map((m) => ({ keyDomainId: m.keyDomainId, mskId: m.mskId })),
          mtks: s.msks.filter((m) => m.mtk).map((m) => ({ keyDomainId: m.keyDomainId, mskId: m.mskId, mtkId: m.mtk!.mtkId })),
          acksSent: s.acksSent,
          errorsSent: s.errorsSent,
          httpRequests: s.httpRequests,
          discarded: s.discarded,
          faults: s.faults,
          endpoints: this.#endpointMap(),
        };
      },
      'GET /faults': () => this.faults.toJSON(),
      'PUT /faults': ({ body }) => {
        this.faults.set(body.active);
        return this.faults.toJSON();
      },
    };
  }
}
