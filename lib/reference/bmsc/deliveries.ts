// MIKEY deliveries of the reference BM-SC to one UE: MSK messages (6.3.1 step 5, 6.3.2.1) and solicited-pull
// triggers (6.3.2.1), each with its COUNTER per MUK (RFC 3830 §5.3, protocol §6.1) and CSB ID (profile O10),
// retransmitted while a V=1 message is not acknowledged (profile O18), and the verification messages (ACKs)
// that end them, matched by CSB ID and COUNTER (RFC 3830 §5.4) and checked (RFC 3830 §5.2, §6.9).
import { randomOctets, randomUint32 } from '../../random-pool.ts';
import type { RemoteInfo } from 'node:dgram';
import {
  buildMskMessage, buildSolicitedPullTrigger, decodeMikeyLenient, findPayload, verifyVerificationMessage, TsType,
  type BuiltMessage, type MikeyMessage,
} from '../../mikey/index.ts';
import type { Endpoint } from '../common/index.ts';
import { hex, hex32, now, subscribedGroups, type BmscContext, type UserRecord } from './context.ts';
import type { BmscAckRejectedEvent, MikeySent } from './events.ts';
import { mukCounterName, type Msk } from './state.ts';

interface Transmission { csbId: number; counter: number; message: MikeyMessage; bytes: Buffer }

interface Delivery {
  id: number;
  kind: 'msk' | 'trigger';
  btid: string;
  to: Endpoint;
  v: boolean;
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

export class Deliveries {
  readonly #ctx: BmscContext;
  #open = new Map<number, Delivery>();
  /** `${csbId}:${counter}` of every transmission of an open delivery -> delivery id (protocol §1.2). */
  #ackIndex = new Map<string, number>();
  #nextId = 1;
  #lastCounterSent = new Map<string, number>();

  constructor(ctx: BmscContext) {
    this.#ctx = ctx;
  }

  /** Next COUNTER for a MUK or MSK (protocol §6.1), through the counter hook; names the faults that changed it. */
  nextCounter(name: string, applied: string[]): number {
    const book = this.#ctx.state().counters;
    const last = this.#lastCounterSent.get(name);
    const r = this.#ctx.hooks.apply('counter', book.next(name), { last, next: () => book.next(name) });
    applied.push(...r.applied);
    this.#lastCounterSent.set(name, r.value);
    return r.value;
  }

  /** Sends the MSK message of `msk` to the user; retransmits while a V=1 message is not acknowledged. */
  startMsk(btid: string, msk: Msk, to: Endpoint, v: boolean): Promise<MikeySent> {
    const csbId = this.#deliveryCsbId();
    return this.#start({
      kind: 'msk', btid, to, v, keyDomainId: msk.keyDomainId, mskId: msk.id,
      build: (applied) => this.#mskTransmission(btid, msk, v, applied, csbId),
    });
  }

  /** Push solicited pull: a MIKEY trigger whose Key IDs are 0x0 (protocol §1.3, O20). */
  startTrigger(btid: string, keyDomainId: Buffer, to: Endpoint, v: boolean): Promise<MikeySent> {
    const csbId = this.#deliveryCsbId();
    return this.#start({
      kind: 'trigger', btid, to, v, keyDomainId, mskId: 0,
      build: (applied) => this.#triggerTransmission(btid, keyDomainId, v, applied, csbId),
    });
  }

  /** Deliveries still waiting for their ACK (GET /state outstandingAcks). */
  outstanding(): Record<string, unknown>[] {
    return [...this.#open.values()].filter((d) => d.v && !d.acked && !d.done).map((d) => {
      const last = d.sent.at(-1)!;
      return {
        btid: d.btid, kind: d.kind, keyDomainId: hex(d.keyDomainId), mskId: hex32(d.mskId), csbId: hex32(last.csbId),
        counter: last.counter, attempt: d.sent.length, to: d.to,
      };
    });
  }

  /** Abandons every delivery (on stop). */
  abandonAll(): void {
    for (const d of [...this.#open.values()]) this.#forget(d);
  }

  // ---- building ------------------------------------------------------------------------------------------------

  /** CSB ID of one delivery's copies under O10 'random-per-delivery' (undefined: drawn per message). */
  #deliveryCsbId(): number | undefined {
    return this.#ctx.mikeyProfile.csbId.msk === 'random-per-delivery' ? randomUint32() : undefined;
  }

  #mskCsbId(rec: UserRecord): number {
    if (this.#ctx.mikeyProfile.csbId.msk === 'fixed-per-muk') {
      rec.fixedCsbId ??= randomUint32();
      return rec.fixedCsbId;
    }
    return randomUint32(); // O10 default: random per MSK message
  }

  /** The octets of a built message through the messageBytes hook. */
  finish(built: BuiltMessage, applied: string[]): Buffer {
    const r = this.#ctx.hooks.apply('messageBytes', built.bytes, {});
    applied.push(...r.applied);
    return r.value;
  }

  /** A key message through the keyMessage hook (the faults that rewrite its payloads before encoding). */
  keyMessageHook(kind: 'msk' | 'mtk', key: Buffer, applied: string[]): (m: MikeyMessage) => void {
    return (m) => { applied.push(...this.#ctx.hooks.apply('keyMessage', m, { kind, key, profile: this.#ctx.mikeyProfile }).applied); };
  }

  #mskTransmission(btid: string, msk: Msk, v: boolean, applied: string[], deliveryCsbId?: number): Transmission {
    const { hooks, config, mikeyProfile } = this.#ctx;
    const rec = this.#ctx.users.get(btid)!;
    const csbId = deliveryCsbId ?? this.#mskCsbId(rec);
    const counter = this.nextCounter(mukCounterName(btid), applied);
    const rand = hooks.apply('mskRand', msk.rand, {});
    const extMskId = hooks.apply('extMskId', msk.id, {});
    applied.push(...rand.applied, ...extMskId.applied);
    const built = buildMskMessage({
      muk: rec.user.ksNaf, csbId, counter, rand: rand.value, keyDomainId: msk.keyDomainId, mskId: extMskId.value, msk: msk.key, v,
      idi: config.nafFqdn, idr: btid, profile: mikeyProfile, mutate: this.keyMessageHook('msk', msk.key, applied),
    });
    return { csbId, counter, message: built.message, bytes: this.finish(built, applied) };
  }

  #triggerTransmission(btid: string, keyDomainId: Buffer, v: boolean, applied: string[], deliveryCsbId?: number): Transmission {
    const { hooks, config, mikeyProfile } = this.#ctx;
    const state = this.#ctx.state();
    const rec = this.#ctx.users.get(btid)!;
    const csbId = deliveryCsbId ?? this.#mskCsbId(rec);
    const counter = this.nextCounter(mukCounterName(btid), applied);
    const current = subscribedGroups(rec.user).map((g) => state.current(g.keyDomainId, g.keyGroup)).find(Boolean);
    const built = buildSolicitedPullTrigger({
      muk: rec.user.ksNaf, csbId, counter, rand: randomOctets(16), keyDomainId, v, idi: config.nafFqdn, idr: btid,
      profile: mikeyProfile,
      mutate: (m) => { applied.push(...hooks.apply('triggerMessage', m, { currentMskId: current?.id }).applied); },
    });
    return { csbId, counter, message: built.message, bytes: this.finish(built, applied) };
  }

  // ---- sending and retransmitting --------------------------------------------------------------------------

  async #start(d: Omit<Delivery, 'id' | 'sent' | 'acked' | 'done'>): Promise<MikeySent> {
    const delivery: Delivery = { ...d, id: this.#nextId++, sent: [], acked: false, done: false };
    this.#open.set(delivery.id, delivery);
    const first = await this.#transmit(delivery, []);
    if (delivery.v) this.#scheduleRetransmission(delivery);
    else this.#close(delivery);
    return first;
  }

  async #transmit(d: Delivery, applied: string[]): Promise<MikeySent> {
    const last = d.sent.at(-1);
    // O18: a retransmission repeats the same octets, or is built afresh (new COUNTER, new MAC)
    const t = last && !this.#ctx.profile.retransmission.freshTs ? last : d.build(applied);
    d.sent.push(t);
    this.#ackIndex.set(`${t.csbId}:${t.counter}`, d.id);
    await this.#ctx.send(t.bytes, d.to);
    const attempt = d.sent.length;
    this.#ctx.emit('mikey-out', {
      time: now(), kind: d.kind, btid: d.btid, from: this.#ctx.mikeyEndpoint(), to: d.to,
      bytes: t.bytes, keyDomainId: d.keyDomainId, mskId: d.mskId, csbId: t.csbId, counter: t.counter, v: d.v,
      attempt, deliveryId: d.id, faults: [...new Set(applied)],
    });
    return {
      kind: d.kind, btid: d.btid, to: d.to, keyDomainId: hex(d.keyDomainId), mskId: hex32(d.mskId), csbId: hex32(t.csbId),
      counter: t.counter, v: d.v, attempt, length: t.bytes.length,
    };
  }

  #scheduleRetransmission(d: Delivery): void {
    const { profile, hooks } = this.#ctx;
    const policy = profile.retransmission;
    if (!hooks.value('retransmit', true, {})) return; // the delivery stays open, silent
    d.timer = setTimeout(() => {
      d.timer = undefined;
      if (d.done || !this.#ctx.running()) return;
      // after a valid ACK the retransmissions stop (protocol §1.2), unless a fault keeps them going
      const stop = d.acked ? hooks.apply('stopOnAck', true, {}) : { value: false, applied: [] };
      if (stop.value) return;
      if (d.sent.length > policy.count) {
        if (!d.acked) this.#ctx.emit('ack-timeout', { time: now(), deliveryId: d.id, btid: d.btid, attempts: d.sent.length });
        this.#close(d);
        return;
      }
      this.#transmit(d, [...stop.applied]).then(() => this.#scheduleRetransmission(d), (error) => {
        this.#ctx.emit('warning', { time: now(), message: `retransmission ${d.id}: ${(error as Error).message}` });
        this.#close(d);
      });
    }, policy.intervalMs);
  }

  #close(d: Delivery): void {
    if (d.timer) clearTimeout(d.timer);
    d.timer = undefined;
    d.done = true;
    // V=0 deliveries are never answered: forget them now. A closed V=1 delivery stays matchable for one
    // more ACK window, so a late ACK is still matched (and accepted at most once, protocol §6.1), then
    // it is forgotten too (a long-running BM-SC must not grow without bound).
    if (!d.v) this.#forget(d);
    else this.#retireLater(d);
  }

  #retireLater(d: Delivery): void {
    if (d.retireTimer) return;
    const { timers, retransmission } = this.#ctx.profile;
    d.retireTimer = setTimeout(() => this.#forget(d), timers.ackMs + timers.silenceMs + retransmission.intervalMs);
    d.retireTimer.unref();
  }

  #forget(d: Delivery): void {
    if (d.timer) clearTimeout(d.timer);
    if (d.retireTimer) clearTimeout(d.retireTimer);
    for (const t of d.sent) this.#ackIndex.delete(`${t.csbId}:${t.counter}`);
    this.#open.delete(d.id);
  }

  // ---- MIKEY in: verification messages (ACKs) ------------------------------------------------------------

  /** The MIKEY socket's message listener. */
  onDatagram(bytes: Buffer, rinfo: RemoteInfo): void {
    const { emit, hooks } = this.#ctx;
    const from = { address: rinfo.address, port: rinfo.port };
    const reject = (reason: string, extra: Partial<BmscAckRejectedEvent> = {}) => emit('ack-rejected', { time: now(), from, bytes, reason, ...extra });
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
    const d = deliveryId === undefined ? undefined : this.#open.get(deliveryId);
    if (!d) {
      reject('no outstanding message with this CSB ID and COUNTER', { csbId, counter });
      return;
    }
    const original = d.sent.find((s) => s.csbId === csbId && s.counter === counter)!;
    const rec = this.#ctx.users.get(d.btid);
    if (!rec) { reject('user no longer provisioned', { csbId, counter, deliveryId: d.id }); return; }
    const check = verifyVerificationMessage(bytes, { original: original.message, psk: rec.user.ksNaf }, this.#ctx.mikeyProfile);
    const valid = check.macValid && check.csbIdMatches && check.echoedCounterMatches && !check.error;
    if (!hooks.value('acceptAck', valid, {})) {
      reject(check.error ?? 'verification failed', { csbId, counter, deliveryId: d.id });
      return;
    }
    if (d.acked) {
      // Protocol §6.1: an ACK is accepted at most once.
      reject('duplicate ACK (delivery already acknowledged)', { csbId, counter, deliveryId: d.id });
      return;
    }
    d.acked = true;
    emit('ack-in', { time: now(), from, bytes, btid: d.btid, csbId, counter, deliveryId: d.id, macValid: check.macValid });
    if (hooks.value('stopOnAck', true, {})) this.#close(d);
  }
}
