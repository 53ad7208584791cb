// The reference BM-SC: a real HTTP server for the UE-initiated MSK request (TS 33.246 §6.3.1, msk-request.ts),
// a real UDP socket for MIKEY (MSK push §6.3.2.1 and push solicited pull, deliveries.ts; MTK update §6.3.3,
// mtk-update.ts) and a control API through which the suite (or an operator) triggers the BM-SC-initiated
// procedures. This file wires the parts together and owns the users and the key state. Faults (faults.ts)
// each change one decision through a named hook, so the suite can prove it catches them.
import { createServer, type Server } from 'node:http';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { mikeyProfile } from '../../mikey/index.ts';
import type { MbmsProfile } from '../../mbms/index.ts';
import {
  ControlApiError, ControlServer, FaultSet, bindUdp, closeHttp, closeUdp, listenHttp, parseKeyDomainId, parseMskIdHex, type Endpoint,
} from '../common/index.ts';
import {
  parseUser, resolveBmscConfig, type BmscUser, type ReferenceBmscConfig,
  type ReferenceBmscOptions, type UserInput,
} from './config.ts';
import { hex, hex32, isSubscribed, now, subscribedGroups, type BmscContext, type UserRecord } from './context.ts';
import { Deliveries } from './deliveries.ts';
import type { BmscEndpoints, MikeySent, ReferenceBmscEvents } from './events.ts';
import { BMSC_FAULTS, BmscFaultHooks } from './faults.ts';
import { MskRequests } from './msk-request.ts';
import { MtkUpdates } from './mtk-update.ts';
import { BmscState, type Msk } from './state.ts';

export type * from './events.ts';

/** Receive buffer asked for the MIKEY socket (bytes). */
const MIKEY_RECEIVE_BUFFER = 8 * 1024 * 1024;
/** MSK messages of a group push sent between two reads of the MIKEY socket. */
const PUSH_BATCH = 32;

export class ReferenceBmsc extends EventEmitter<ReferenceBmscEvents> {
  readonly config: ReferenceBmscConfig;
  readonly faults: FaultSet;
  readonly #ctx: BmscContext;
  readonly #deliveries: Deliveries;
  readonly #mskRequests: MskRequests;
  readonly #mtkUpdates: MtkUpdates;
  #state?: BmscState;
  #users = new Map<string, UserRecord>();
  #http?: Server;
  #udp?: UdpSocket;
  #control?: ControlServer;
  #endpoints?: BmscEndpoints;

  constructor(options: ReferenceBmscOptions & { clock?: () => number }) {
    super();
    this.config = resolveBmscConfig(options);
    this.faults = new FaultSet('bmsc', BMSC_FAULTS, this.config.faults);
    for (const user of this.config.users) this.#users.set(user.btid, { user });
    const clock = options.clock ?? Date.now;
    this.#ctx = {
      config: this.config,
      profile: this.config.profile,
      mikeyProfile: mikeyProfile(this.config.profile.mikey as Parameters<typeof mikeyProfile>[0]),
      hooks: new BmscFaultHooks(this.faults),
      users: this.#users,
      state: () => {
        if (!this.#state) throw new Error('ReferenceBmsc not started');
        return this.#state;
      },
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
      clock,
      mikeyTarget: (btid) => this.mikeyTarget(btid),
      mikeyEndpoint: () => this.#endpoints?.mikey ?? this.config.mikey,
      send: (bytes, to) => new Promise((resolve, reject) => {
        if (!this.#udp) { reject(new Error('BM-SC stopped')); return; }
        this.#udp.send(bytes, to.port, to.address, (error) => (error ? reject(error) : resolve()));
      }),
      running: () => this.#udp !== undefined,
    };
    this.#deliveries = new Deliveries(this.#ctx);
    this.#mskRequests = new MskRequests(this.#ctx, this.#deliveries);
    this.#mtkUpdates = new MtkUpdates(this.#ctx, this.#deliveries);
  }

  get profile(): MbmsProfile { return this.#ctx.profile; }

  /** Bound endpoints (after start). */
  get endpoints(): BmscEndpoints {
    if (!this.#endpoints) throw new Error('ReferenceBmsc not started');
    return this.#endpoints;
  }

  /** Opens the state file, binds the MIKEY socket, the MSK request server and the control API. */
  async start(): Promise<BmscEndpoints> {
    if (this.#endpoints) return this.#endpoints;
    const profile = this.#ctx.profile;
    const state = new BmscState({
      maxMsksPerGroup: profile.keyIds.maxMsksPerGroup,
      counterReserveBlock: this.config.counterReserveBlock,
      ...(this.config.stateFile ? { stateFile: this.config.stateFile } : {}),
    });
    state.ensureGroups(this.config.services);
    this.#state = state;
    try {
      const udp = createSocket(this.config.mikey.address.includes(':') ? 'udp6' : 'udp4');
      this.#udp = udp;
      udp.on('message', (msg, rinfo) => this.#deliveries.onDatagram(msg, rinfo));
      const mikey = await bindUdp(udp, 'MIKEY (BM-SC)', this.config.mikey);
      // After the bind: a bind failure is reported once, by bindUdp, as ReferenceListenError.
      // Room for the ACKs of a group push arriving while the BM-SC is still sending (the kernel caps the
      // size at net.core.rmem_max; its default, about 208 KB, holds a few hundred datagrams).
      try { udp.setRecvBufferSize(MIKEY_RECEIVE_BUFFER); } catch { /* capped or refused: the default stays */ }
      udp.on('error', (error) => this.emit('warning', { time: now(), message: `MIKEY socket: ${error.message}` }));
      const server = createServer((req, res) => { void this.#mskRequests.onHttp(req, res); });
      server.keepAliveTimeout = Math.max(1000, profile.timers.httpMs);
      this.#http = server;
      const http = await listenHttp(server, 'MSK requests (HTTP)', this.config.http);
      this.#control = this.#makeControlServer();
      const control = await this.#control.listen(this.config.control);
      this.#endpoints = { http, mikey, control };
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.#mtkUpdates.startRekey();
    return this.#endpoints;
  }

  /** Stops timers and closes every socket. Outstanding deliveries are abandoned. */
  async stop(): Promise<void> {
    this.#mtkUpdates.stopRekey();
    this.#deliveries.abandonAll();
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
    const services = subscribedGroups(user);
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
    return { address, port: rec.user.uePort ?? this.#ctx.profile.ports.ueMikey };
  }

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

  // ---- BM-SC-initiated procedures (control API) -------------------------------------------------------------

  /** 6.3.2.1: pushes the named MSK, or the current MSK of every subscribed key group, to the user. */
  async push(args: { btid: string; msk?: { keyDomainId: Buffer; mskId: number }; v?: boolean }): Promise<MikeySent[]> {
    const rec = this.#userOrThrow(args.btid);
    const to = this.#targetOrThrow(args.btid);
    let msks: Msk[];
    if (args.msk) {
      const msk = this.#ctx.state().find(args.msk.keyDomainId, args.msk.mskId);
      if (!msk) throw new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', `no MSK ${hex(args.msk.keyDomainId)}/${hex32(args.msk.mskId)}`);
      msks = [msk];
    } else {
      msks = subscribedGroups(rec.user).map((g) => this.#ctx.state().current(g.keyDomainId, g.keyGroup)).filter((m): m is Msk => !!m);
      if (msks.length === 0) throw new ControlApiError(409, 'ERR_CONTROL_NO_KEY', `'${args.btid}' has no subscribed key group`);
    }
    const sent: MikeySent[] = [];
    for (const msk of msks) sent.push(await this.#deliveries.startMsk(args.btid, msk, to, args.v ?? this.config.mskAck));
    return sent;
  }

  /** Push solicited pull: a MIKEY trigger whose Key IDs are 0x0 (protocol §1.3, O20). */
  async solicitedPull(args: { btid: string; keyDomainId?: Buffer; v?: boolean }): Promise<MikeySent[]> {
    const rec = this.#userOrThrow(args.btid);
    const to = this.#targetOrThrow(args.btid);
    const keyDomainId = args.keyDomainId ?? rec.user.subscriptions[0]?.keyDomainId ?? Buffer.alloc(3);
    return [await this.#deliveries.startTrigger(args.btid, keyDomainId, to, args.v ?? this.config.triggerAck)];
  }

  /** 6.3.3: a new MTK under the current (or named) MSK of each key group, sent to every receiver. */
  mtkUpdate(args: { keyDomainId?: Buffer; mskId?: number }): Promise<MikeySent[]> {
    return this.#mtkUpdates.update(args);
  }

  /**
   * A new MSK (next Key Number) becomes current in each (or the named) key group; optionally pushed to every
   * subscribed user (6.3.2.1), or announced to each by a solicited-pull trigger (`solicitedPull`: the users
   * then request it, 6.3.1).
   */
  async rotateMsk(args: { keyDomainId?: Buffer; keyGroup?: number; push?: boolean; solicitedPull?: boolean }): Promise<{
    rotated: { keyDomainId: string; keyGroup: number; mskId: string; previousMskId?: string }[]; messages: MikeySent[];
  }> {
    const state = this.#ctx.state();
    const groups = state.groups().filter((g) =>
      (!args.keyDomainId || g.keyDomainId.equals(args.keyDomainId)) && (args.keyGroup === undefined || g.keyGroup === args.keyGroup));
    if (groups.length === 0) throw new ControlApiError(404, 'ERR_CONTROL_UNKNOWN_KEY', 'no key group matches');
    if (args.push && args.solicitedPull) throw new ControlApiError(400, 'ERR_CONTROL_SCHEMA', 'push and solicitedPull exclude each other: the new MSK is pushed, or announced by a trigger');
    const rotated = [];
    const messages: MikeySent[] = [];
    for (const g of groups) {
      const { msk, previous } = state.rotate(g.keyDomainId, g.keyGroup);
      rotated.push({
        keyDomainId: hex(msk.keyDomainId), keyGroup: msk.keyGroup, mskId: hex32(msk.id),
        ...(previous ? { previousMskId: hex32(previous.id) } : {}),
      });
      if (!args.push && !args.solicitedPull) continue;
      let started = 0;
      for (const [btid, rec] of this.#users) {
        // Only to users subscribed to the group (A-B12), through the same authorisation hook as the MSK request
        const authorised = this.#ctx.hooks.value('authorised', isSubscribed(rec.user, msk.keyDomainId, msk.keyGroup), {});
        const to = authorised ? this.mikeyTarget(btid) : undefined;
        if (!to) continue;
        messages.push(args.solicitedPull ? await this.#deliveries.startTrigger(btid, msk.keyDomainId, to, this.config.triggerAck)
          : await this.#deliveries.startMsk(btid, msk, to, this.config.mskAck));
        // A send completes without a turn of the event loop: every so often, let the ACKs already received
        // be read, or they wait (and overflow the socket) until the whole group has been sent to
        if (++started % PUSH_BATCH === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return { rotated, messages };
  }

  /** GET /state. */
  snapshot(): Record<string, unknown> {
    const state = this.#ctx.state();
    const muk: Record<string, number> = {};
    const msk: Record<string, number> = {};
    for (const [name, value] of Object.entries(state.counters.issued())) {
      if (name.startsWith('muk:')) muk[name.slice(4)] = value;
      else if (name.startsWith('msk:')) msk[name.slice(4)] = value;
    }
    const outstandingAcks = this.#deliveries.outstanding();
    return {
      nafFqdn: this.config.nafFqdn,
      ...(this.#endpoints ? { endpoints: { ...this.#endpoints } } : {}),
      counters: { muk, msk },
      keys: state.groups().map((g) => {
        const current = g.msks.at(-1)!;
        return {
          keyDomainId: hex(g.keyDomainId), keyGroup: g.keyGroup, currentMskId: hex32(current.id),
          mskIds: g.msks.map((m) => hex32(m.id)),
          ...(current.mtkId > 0 ? { mtkId: current.mtkId.toString(16).padStart(this.#ctx.mikeyProfile.ext.mtkIdLength * 2, '0') } : {}),
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
    this.faults.set(names);
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
            ...(body.msk ? { msk: { keyDomainId: parseKeyDomainId(body.msk.keyDomainId), mskId: parseMskIdHex(body.msk.mskId) } } : {}),
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
            ...(body.mskId ? { mskId: parseMskIdHex(body.mskId) } : {}),
          }),
        }),
        'POST /rotate-msk': ({ body }) => this.rotateMsk({
          ...(body.keyDomainId ? { keyDomainId: parseKeyDomainId(body.keyDomainId) } : {}),
          ...(body.keyGroup !== undefined ? { keyGroup: body.keyGroup } : {}),
          ...(body.push !== undefined ? { push: body.push } : {}),
          ...(body.solicitedPull !== undefined ? { solicitedPull: body.solicitedPull } : {}),
        }),
        'GET /state': () => this.snapshot(),
        'GET /faults': () => this.faults.toJSON(),
        'PUT /faults': ({ body }) => { this.setFaults(body.active); return this.faults.toJSON(); },
      },
    });
  }
}
