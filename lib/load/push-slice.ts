// The UE side of a push load run (TS 33.246 §6.3.2.1): a slice of the simulated UEs, each on its own MIKEY
// socket, receiving the MSK the BM-SC pushes to every UE of a key group, judging every message as the
// conformance runs and analyze do, and acknowledging every valid V=1 message (RFC 3830 §5.2).
//
// A slice runs in the calling process or in a child process of its own (push-process.ts): a UE socket is a
// file descriptor, and a process holds at most RLIMIT_NOFILE of them (20,000 here), so 100,000 UEs take
// several processes. Times are kept on the wall clock with sub-millisecond precision
// (performance.timeOrigin + performance.now()), the clock all processes of a machine share; the slice learns
// the trigger time only at the end, and measures every UE's delivery from it then.
import { createSocket, type Socket } from 'node:dgram';
import type { MbmsProfile } from '../mbms/index.ts';
import { buildVerificationMessage } from '../mikey/index.ts';
import { ackCrossingMs, judgeCounter } from '../suite/verify/history.ts';
import { classifyDatagram, judgeSubscribedMsk, judgeUnsubscribedMsk, verifyKeyMessage, type CheckOutcome, type KeyGroupRef } from '../suite/verify/mikey.ts';
import { loadUe } from './population.ts';
import { encodeHistogram, histogram, recordMs, type Evidence } from './stats.ts';

export interface PushSliceInput {
  seed: string;
  /** UE indices of this slice: [first, first + count). */
  first: number;
  count: number;
  /** UEs with an index below this are subscribed to the pushed key group; the others are not. */
  subscribedBelow: number;
  port: number;
  /** The key group pushed (Key Domain ID as hex, MSK ID's upper 16 bits the group). */
  keyDomainId: string;
  keyGroup: number;
  profile: MbmsProfile;
  evidencePerCheck: number;
}

export interface PushSliceProgress { delivered: number; acknowledged: number; subscribed: number; done: boolean }

export interface PushSliceResult {
  subscribed: number;
  unsubscribed: number;
  /** Subscribed UEs that received a valid MSK message of the group, and that acknowledged one. */
  delivered: number;
  acknowledged: number;
  /** Wall-clock times (ms) of the first delivery, the last UE's first delivery and the last UE's first ACK. */
  firstDeliveryAt?: number;
  lastDeliveryAt?: number;
  allAckedAt?: number;
  /** Histogram (encoded) of each UE's first delivery after the trigger, µs. */
  deliveryHistogram: string;
  /** First deliveries per 100 ms after the trigger. */
  deliveriesPer100Ms: number[];
  messages: number;
  acksSent: number;
  lostAcks: number;
  /** Copies of acknowledged deliveries received (retransmissions, the one that may cross an ACK included). */
  retransmissions: number;
  conformanceFailures: Record<string, number>;
  evidence: Evidence[];
}

const clock = (): number => performance.timeOrigin + performance.now();

interface PushUe {
  index: number;
  btid: string;
  ksNaf: Buffer;
  subscribed: boolean;
  socket?: Socket;
  lastCounter?: bigint;
  /** The last message taken (a retransmission repeats it byte for byte when the profile says so, O18 freshTs: false). */
  lastBytes?: Buffer;
  firstAt?: number;
  /** The delivery acknowledged last: copies of it past the crossing copy are ACKs the BM-SC did not take. */
  acked?: { csbId: number; at: number; crossed: boolean; lost: boolean };
}

export class PushSlice {
  readonly #input: PushSliceInput;
  readonly #ues: PushUe[] = [];
  readonly #group: KeyGroupRef;
  readonly #failures: Record<string, number> = {};
  readonly #evidence: Evidence[] = [];
  #messages = 0;
  #acksSent = 0;
  #lostAcks = 0;
  #retransmissions = 0;
  #delivered = 0;
  #acknowledged = 0;
  #allAckedAt?: number;

  private constructor(input: PushSliceInput) {
    this.#input = input;
    this.#group = { keyDomainId: Buffer.from(input.keyDomainId, 'hex'), mskId: (input.keyGroup * 0x10000) >>> 0 };
  }

  /** Opens every UE's MIKEY socket on its own address. */
  static async open(input: PushSliceInput): Promise<PushSlice> {
    const slice = new PushSlice(input);
    try {
      for (let i = 0; i < input.count; i += 1000) {
        const batch = [];
        for (let j = i; j < Math.min(input.count, i + 1000); j++) batch.push(slice.#openUe(input.first + j));
        await Promise.all(batch);
      }
    } catch (e) {
      slice.close();
      throw e;
    }
    return slice;
  }

  async #openUe(index: number): Promise<void> {
    const id = loadUe(index, this.#input.seed);
    const ue: PushUe = { index, btid: id.btid, ksNaf: id.ksNaf, subscribed: index < this.#input.subscribedBelow };
    this.#ues.push(ue);
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#input.port, id.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    ue.socket = socket;
    socket.on('message', (bytes, rinfo) => this.#onMikey(ue, bytes, rinfo.address, rinfo.port));
  }

  #fail(ue: PushUe, f: CheckOutcome): void {
    this.#failures[f.check] = (this.#failures[f.check] ?? 0) + 1;
    if (this.#evidence.filter((e) => e.check === f.check).length < this.#input.evidencePerCheck) {
      this.#evidence.push({ check: f.check, ue: ue.btid, message: f.message, ...(f.expected !== undefined ? { expected: f.expected } : {}), ...(f.actual !== undefined ? { actual: f.actual } : {}) });
    }
  }

  #onMikey(ue: PushUe, bytes: Buffer, address: string, port: number): void {
    const at = clock();
    this.#messages++;
    const profile = this.#input.profile;
    if (!ue.subscribed) {
      // A-B12: no MSK of the key group to a UE not subscribed to it (whatever else the message holds)
      const c = classifyDatagram(bytes);
      const f = c.keyIds ? judgeUnsubscribedMsk(c.keyIds, [this.#group]) : undefined;
      if (f) this.#fail(ue, f);
      return;
    }
    const verdict = verifyKeyMessage(bytes, { kind: 'msk', psk: ue.ksNaf, profile: profile.mikey });
    const failures = verdict.checks.filter((c) => !c.ok);
    if (verdict.message) {
      const keyIds = judgeSubscribedMsk(verdict.keyIds, [this.#group]);
      if (!keyIds.ok) failures.push(keyIds);
    }
    let fresh = true;
    if (verdict.counter !== undefined) {
      const previous = ue.lastCounter;
      const freshTs = profile.retransmission.freshTs;
      const repeat = !freshTs && ue.lastBytes?.equals(bytes) ? { bytes: ue.lastBytes, where: 'the message it repeats' } : undefined;
      const counter = judgeCounter(verdict.counter, previous === undefined ? undefined : { value: previous, where: 'the last message to this MUK' }, { key: 'muk', freshTs, bytes, ...(repeat ? { retransmissionOf: repeat } : {}) });
      for (const c of counter) if (!c.ok) failures.push(c);
      fresh = counter.every((c) => c.ok);
      // Only a message whose MAC verifies moves the replay state (RFC 3830 §5.3)
      if (verdict.macValid && (previous === undefined || verdict.counter > previous)) {
        ue.lastCounter = verdict.counter;
        ue.lastBytes = Buffer.from(bytes);
      }
    }
    for (const f of failures) this.#fail(ue, f);
    if (!verdict.macValid || !fresh || failures.length > 0) return;
    const csbId = verdict.csbId ?? -1;
    if (ue.acked && ue.acked.csbId === csbId) {
      // A copy of the delivery this UE acknowledged (CSB ID per delivery, O10): one copy may cross the ACK
      // (verify/history.ts ackCrossingMs, the rule of the live suites and analyze); any other means an ACK the
      // BM-SC did not take, counted once per delivery. The copy is a valid V=1 message: acknowledged again.
      this.#retransmissions++;
      if (!ue.acked.crossed && at - ue.acked.at <= ackCrossingMs(profile)) ue.acked.crossed = true;
      else if (!ue.acked.lost) {
        ue.acked.lost = true;
        this.#lostAcks++;
      }
    } else if (ue.firstAt === undefined) {
      ue.firstAt = at;
      this.#delivered++;
    }
    if (verdict.v) {
      const ack = buildVerificationMessage({ received: bytes, psk: ue.ksNaf, profile: profile.mikey });
      const first = ue.acked === undefined;
      if (first || ue.acked!.csbId !== csbId) ue.acked = { csbId, at, crossed: false, lost: false };
      ue.socket!.send(ack.bytes, port, address);
      this.#acksSent++;
      if (first) {
        this.#acknowledged++;
        if (this.#acknowledged === this.subscribed) this.#allAckedAt = at;
      }
    }
  }

  get subscribed(): number {
    return Math.max(0, Math.min(this.#input.first + this.#input.count, this.#input.subscribedBelow) - this.#input.first);
  }

  /**
   * Done: every subscribed UE acknowledged, and the copy an ACK the BM-SC did not take would bring (its
   * retransmissions, O18) had time to come.
   */
  progress(): PushSliceProgress {
    // An ACK the BM-SC did not take shows as a second copy: one interval after the copy that may cross the ACK
    const quietMs = ackCrossingMs(this.#input.profile) + this.#input.profile.retransmission.intervalMs;
    const done = this.#allAckedAt !== undefined && clock() - this.#allAckedAt >= quietMs;
    return { delivered: this.#delivered, acknowledged: this.#acknowledged, subscribed: this.subscribed, done };
  }

  /** The slice's figures, deliveries measured from the trigger `t0` (wall clock, ms). */
  result(t0: number): PushSliceResult {
    const h = histogram();
    const per100: number[] = [];
    let first: number | undefined;
    let last: number | undefined;
    for (const ue of this.#ues) {
      if (ue.firstAt === undefined) continue;
      recordMs(h, ue.firstAt - t0);
      const bucket = Math.max(0, Math.floor((ue.firstAt - t0) / 100));
      while (per100.length <= bucket) per100.push(0);
      per100[bucket]!++;
      first = first === undefined ? ue.firstAt : Math.min(first, ue.firstAt);
      last = last === undefined ? ue.firstAt : Math.max(last, ue.firstAt);
    }
    const out: PushSliceResult = {
      subscribed: this.subscribed, unsubscribed: this.#input.count - this.subscribed,
      delivered: this.#delivered, acknowledged: this.#acknowledged,
      ...(first !== undefined ? { firstDeliveryAt: first, lastDeliveryAt: last } : {}),
      ...(this.#allAckedAt !== undefined ? { allAckedAt: this.#allAckedAt } : {}),
      deliveryHistogram: encodeHistogram(h), deliveriesPer100Ms: per100,
      messages: this.#messages, acksSent: this.#acksSent, lostAcks: this.#lostAcks, retransmissions: this.#retransmissions,
      conformanceFailures: { ...this.#failures }, evidence: [...this.#evidence],
    };
    h.destroy();
    return out;
  }

  close(): void {
    for (const ue of this.#ues) {
      try { ue.socket?.close(); } catch { /* not bound */ }
    }
  }
}
