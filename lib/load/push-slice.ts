// The UE side of a push load run (TS 33.246 §6.3.2.1): a slice of the simulated UEs, each on its own MIKEY
// socket, receiving the MSK the BM-SC pushes to every UE of a key group, judging every message as the
// conformance runs and analyze do, and acknowledging every valid V=1 message (RFC 3830 §5.2). In the
// mtk-update scenario the UEs then receive the MTK messages of the updates under that MSK (§6.3.3), each
// judged as the UE it reaches, and measured from the update it belongs to (`mtkSent`). In the pull-group
// scenario the BM-SC sends each UE a solicited-pull trigger instead (§6.3.2.1): the UE judges it,
// acknowledges it when V=1, and requests the MSK over HTTP (§6.3.1, MskRequestClient); the MSK message
// then comes as in a push.
//
// A slice runs in the calling process or in a child process of its own (push-process.ts): a UE socket is a
// file descriptor, and a process holds at most RLIMIT_NOFILE of them (20,000 here), so 100,000 UEs take
// several processes. Times are kept on the wall clock with sub-millisecond precision
// (performance.timeOrigin + performance.now()), the clock all processes of a machine share; the slice learns
// the trigger time only at the end, and measures every UE's delivery from it then.
import { createSocket, type Socket } from 'node:dgram';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MbmsProfile } from '../mbms/index.ts';
import { classifyDatagram, judgeUnsubscribedMsk, type CheckOutcome, type KeyGroupRef } from '../suite/verify/mikey.ts';
import { loadUe, type LoadUeIdentity } from './population.ts';
import { httpErrorReason, MskRequestClient, type ProcedureOutcome, type Target } from './procedure.ts';
import { encodeHistogram, FailureTally, histogram, recordMs, wallClock, type Evidence } from './stats.ts';
import type { Histogram } from 'hdr-histogram-js';
import { AckWatch, copyWatchMs, MtkVerdictCache, UeKeyState, type JudgedKeyMessage } from './ue-keys.ts';

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
  /** pull-group: where a UE sends its MSK request after a trigger (the BM-SC's HTTP endpoint and host). */
  pull?: { http: { address: string; port: number }; host: string; timeoutMs: number; jitterMs: number };
}

export interface PushSliceProgress {
  delivered: number; acknowledged: number; subscribed: number; done: boolean;
  /** New MTKs taken by the UEs of the slice, all updates together. */
  mtkDelivered: number;
  /** MIKEY messages received so far (the BM-SC is still sending while it grows). */
  messages: number;
}

/** One MTK update as a slice saw it: UEs that took its MTK, and when the first and the last did (wall clock). */
export interface MtkUpdateSeen { mtkId: string; delivered: number; firstAt?: number; lastAt?: number }

export interface MtkSliceResult {
  /** Histogram (encoded) of each UE's new MTK after its update was triggered, µs. */
  latencyHistogram: string;
  updates: MtkUpdateSeen[];
  /** MTK messages received, and those repeating the octets a UE had taken already. */
  messages: number;
  repeats: number;
  /** New MTKs of an MTK ID no update announced (the latency of which is unknown). */
  unannounced: number;
}

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
  mtk?: MtkSliceResult;
  pull?: PullSliceResult;
  /**
   * How late the slice's event loop ran (p99 and max, ms) while it listened: a slice late by tens of
   * milliseconds read its sockets late, and its time-outs and late copies are partly its own starvation.
   */
  loopDelayMs: { p99: number; max: number };
}

export interface PullSliceResult {
  /** Valid triggers the UEs took (copies not counted), and their MSK requests granted. */
  triggers: number;
  granted: number;
  /** Requests that failed, by reason (http-timeout, http-503, ...). */
  errors: Record<string, number>;
  /** Histogram (encoded) of each UE's 200 OK after its trigger came, µs. */
  okHistogram: string;
}

/** An MTK update in a slice: when it was triggered (once the coordinator says), and the UEs' new MTKs. */
interface MtkUpdateState { sentAt?: number; pending: number[]; delivered: number; firstAt?: number; lastAt?: number }


interface PushUe {
  index: number;
  btid: string;
  subscribed: boolean;
  socket?: Socket;
  /** Its replay state, the delivery it acknowledged and the judging of its MSK messages. */
  keys: UeKeyState;
  /** Its loopback address (the evidence names it, and a pcap slice is cut by it). */
  address: string;
  firstAt?: number;
  /** pull-group: its identity (for its MSK request), the trigger it acknowledged, where its pull stands. */
  id?: LoadUeIdentity;
  triggerAcks?: AckWatch;
  pull?: 'requesting' | 'granted' | 'failed';
}

export class PushSlice {
  readonly #input: PushSliceInput;
  readonly #ues: PushUe[] = [];
  readonly #group: KeyGroupRef;
  readonly #failures: FailureTally;
  #messages = 0;
  #acksSent = 0;
  #lostAcks = 0;
  #retransmissions = 0;
  #delivered = 0;
  #acknowledged = 0;
  #allAckedAt?: number;
  readonly #mtkCache: MtkVerdictCache;
  readonly #updates = new Map<string, MtkUpdateState>();
  #mtkLatency?: Histogram;
  #mtkMessages = 0;
  #mtkRepeats = 0;
  #mtkDelivered = 0;
  #target?: Target;
  #triggers = 0;
  #granted = 0;
  #pullFailed = 0;
  readonly #pullErrors: Record<string, number> = {};
  #okHistogram?: Histogram;
  readonly #loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  private constructor(input: PushSliceInput) {
    this.#input = input;
    this.#failures = new FailureTally(input.evidencePerCheck);
    this.#mtkCache = new MtkVerdictCache(input.profile);
    this.#group = { keyDomainId: Buffer.from(input.keyDomainId, 'hex'), mskId: (input.keyGroup * 0x10000) >>> 0 };
    if (input.pull) this.#target = { http: input.pull.http, host: input.pull.host, keyDomainId: this.#group.keyDomainId, keyGroup: input.keyGroup };
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
    // The loop's delay while it listens (opening thousands of sockets is not the load)
    slice.#loopDelay.enable();
    return slice;
  }

  async #openUe(index: number): Promise<void> {
    const id = loadUe(index, this.#input.seed);
    const ue: PushUe = { index, btid: id.btid, address: id.address, subscribed: index < this.#input.subscribedBelow, keys: new UeKeyState(id.ksNaf, this.#input.profile, this.#group) };
    if (this.#target) {
      ue.id = id;
      ue.triggerAcks = new AckWatch(this.#input.profile);
    }
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

  #fail(ue: PushUe, f: CheckOutcome, at = wallClock()): void {
    this.#failures.add(ue.btid, f, { address: ue.address, at });
  }

  /** An ACK the BM-SC did not take: counted apart (lostAcks), its first findings kept as evidence. */
  #lostAck(ue: PushUe, f: CheckOutcome | undefined, at: number): void {
    if (!f) return;
    this.#lostAcks++;
    this.#failures.keep(ue.btid, f, { address: ue.address, at });
  }

  #onMikey(ue: PushUe, bytes: Buffer, address: string, port: number): void {
    const at = wallClock();
    this.#messages++;
    const c = classifyDatagram(bytes);
    if (!ue.subscribed) {
      // A-B12: no MSK of the key group to a UE not subscribed to it (whatever else the message holds). An
      // MTK message is protected by that MSK, which this UE lacks: it carries no key the UE can use.
      const f = c.keyIds && c.kind !== 'mtk' ? judgeUnsubscribedMsk(c.keyIds, [this.#group]) : undefined;
      if (f) this.#fail(ue, f);
      return;
    }
    if (c.kind === 'mtk') {
      this.#onMtk(ue, bytes, at);
      return;
    }
    if (c.kind === 'trigger' && this.#target) {
      this.#onTrigger(ue, bytes, address, port, at);
      return;
    }
    const judged = ue.keys.judge(bytes);
    for (const f of judged.failures) this.#fail(ue, f);
    if (!judged.macValid || judged.failures.length > 0) return;
    const { copy, firstAck } = this.#answer(ue, ue.keys.acks, judged, at, address, port);
    if (!copy && ue.firstAt === undefined) {
      ue.firstAt = at;
      this.#delivered++;
    }
    if (firstAck) {
      this.#acknowledged++;
      this.#settled(at);
    }
  }

  /**
   * A valid message to a UE whose ACKs `acks` watches (its MSK deliveries', or its triggers'). A copy of the
   * delivery it acknowledged (same CSB ID, per delivery, O10) is a retransmission: one copy may cross the
   * ACK, any other means an ACK the BM-SC did not take, counted once per delivery (ue-keys.ts). A V=1 message
   * is acknowledged, a copy again too (RFC 3830 §5.2). `firstAck`: the first ACK this watch saw.
   */
  #answer(ue: PushUe, acks: AckWatch, judged: JudgedKeyMessage, at: number, address: string, port: number): { copy: boolean; firstAck: boolean } {
    const copy = acks.acked?.csbId === judged.csbId;
    if (copy) {
      this.#retransmissions++;
      this.#lostAck(ue, acks.lostAck(at), at);
    }
    if (!judged.ack) return { copy, firstAck: false };
    const firstAck = acks.acked === undefined;
    acks.acknowledged(judged, at);
    ue.socket!.send(judged.ack, port, address);
    this.#acksSent++;
    return { copy, firstAck };
  }

  /** Every subscribed UE acknowledged its MSK, or failed its pull: the slice waits for nothing more. */
  #settled(at: number): void {
    if (this.#allAckedAt === undefined && this.#acknowledged + this.#pullFailed >= this.subscribed) this.#allAckedAt = at;
  }

  /**
   * A solicited-pull trigger to a subscribed UE (§6.3.2.1): judged as that UE (structure, MAC under its MUK,
   * key IDs 0x0, COUNTER in the MUK's replay state), acknowledged when V=1 (a copy of the acknowledged
   * trigger too, and counted as a retransmission), and a valid one starts the UE's MSK request. An invalid
   * trigger starts nothing: a UE must not pull on it (G-U9).
   */
  #onTrigger(ue: PushUe, bytes: Buffer, address: string, port: number, at: number): void {
    const judged = ue.keys.judge(bytes, 'trigger');
    for (const f of judged.failures) this.#fail(ue, f);
    if (!judged.macValid || judged.failures.length > 0) return;
    const { copy } = this.#answer(ue, ue.triggerAcks!, judged, at, address, port);
    if (copy || ue.pull !== undefined) return;
    this.#triggers++;
    ue.pull = 'requesting';
    // O20: a UE may wait a random delay of up to jitterMs before it pulls, so that a group's pulls spread
    const jitter = this.#input.pull!.jitterMs;
    if (jitter > 0) setTimeout(() => void this.#pull(ue, at), Math.random() * jitter);
    else void this.#pull(ue, at);
  }

  async #pull(ue: PushUe, triggerAt: number): Promise<void> {
    const client = new MskRequestClient(ue.id!, this.#input.profile);
    const out: ProcedureOutcome = { phases: {}, failures: [] };
    const start = performance.now();
    try {
      await client.request(this.#target!, start, { reuseNonce: false, timeoutMs: this.#input.pull!.timeoutMs }, out);
    } catch (e) {
      out.error = httpErrorReason(e);
    } finally {
      // The UE's connection closes with its pull: 100,000 UEs keep no 100,000 connections open
      client.destroy();
    }
    for (const f of out.failures) this.#fail(ue, f);
    if (out.error === undefined) {
      ue.pull = 'granted';
      this.#granted++;
      recordMs((this.#okHistogram ??= histogram()), wallClock() - triggerAt);
    } else {
      ue.pull = 'failed';
      this.#pullErrors[out.error] = (this.#pullErrors[out.error] ?? 0) + 1;
      if (ue.firstAt === undefined) {
        this.#pullFailed++;
        this.#settled(wallClock());
      }
    }
  }

  /** An MTK message to a subscribed UE (§6.3.3): judged as that UE, a new MTK measured from its update. */
  #onMtk(ue: PushUe, bytes: Buffer, at: number): void {
    this.#mtkMessages++;
    const judged = ue.keys.judgeMtk(bytes, this.#mtkCache);
    for (const f of judged.failures) this.#fail(ue, f);
    if (judged.mtkId === undefined) return;
    if (!judged.fresh) {
      if (judged.failures.length === 0) this.#mtkRepeats++;
      return;
    }
    this.#mtkDelivered++;
    const update = this.#update(judged.mtkId);
    update.delivered++;
    update.firstAt ??= at;
    update.lastAt = at;
    if (update.sentAt !== undefined) recordMs(this.#latency(), at - update.sentAt);
    else if (update.pending.length < this.#input.count) update.pending.push(at);
  }

  /** The slice's state of the update whose MTK ID is `mtkId` (whichever comes first: its MTK or its trigger time). */
  #update(mtkId: string): MtkUpdateState {
    let update = this.#updates.get(mtkId);
    if (!update) this.#updates.set(mtkId, (update = { pending: [], delivered: 0 }));
    return update;
  }

  #latency(): Histogram {
    return (this.#mtkLatency ??= histogram());
  }

  /**
   * The update whose MTK ID is `mtkId` was triggered at `at` (wall clock): the UEs' new MTKs of it are
   * measured from then, those already received included.
   */
  mtkSent(mtkId: string, at: number): void {
    const update = this.#update(mtkId);
    if (update.sentAt !== undefined) return; // the same MTK ID answered again: measured from its first update
    update.sentAt = at;
    for (const t of update.pending) recordMs(this.#latency(), t - at);
    update.pending = [];
  }

  get subscribed(): number {
    return Math.max(0, Math.min(this.#input.first + this.#input.count, this.#input.subscribedBelow) - this.#input.first);
  }

  /**
   * Done: every subscribed UE acknowledged, and the copy an ACK the BM-SC did not take would bring (its
   * retransmissions, O18) had time to come.
   */
  progress(): PushSliceProgress {
    const quietMs = copyWatchMs(this.#input.profile);
    const done = this.#allAckedAt !== undefined && wallClock() - this.#allAckedAt >= quietMs;
    return { delivered: this.#delivered, acknowledged: this.#acknowledged, subscribed: this.subscribed, done, mtkDelivered: this.#mtkDelivered, messages: this.#messages };
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
      conformanceFailures: { ...this.#failures.counts }, evidence: [...this.#failures.evidence],
      loopDelayMs: { p99: Math.round(this.#loopDelay.percentile(99) / 1e4) / 100, max: Math.round(this.#loopDelay.max / 1e4) / 100 },
    };
    h.destroy();
    if (this.#target) {
      out.pull = { triggers: this.#triggers, granted: this.#granted, errors: { ...this.#pullErrors }, okHistogram: encodeHistogram((this.#okHistogram ??= histogram())) };
    }
    if (this.#mtkMessages > 0 || this.#updates.size > 0) {
      const latency = this.#latency();
      out.mtk = {
        latencyHistogram: encodeHistogram(latency),
        updates: [...this.#updates].map(([mtkId, u]) => ({ mtkId, delivered: u.delivered, ...(u.firstAt !== undefined ? { firstAt: u.firstAt, lastAt: u.lastAt } : {}) })),
        messages: this.#mtkMessages, repeats: this.#mtkRepeats,
        unannounced: [...this.#updates.values()].reduce((n, u) => n + (u.sentAt === undefined ? u.delivered : 0), 0),
      };
    }
    return out;
  }

  close(): void {
    this.#loopDelay.disable();
    this.#mtkLatency?.destroy();
    this.#mtkLatency = undefined;
    this.#okHistogram?.destroy();
    this.#okHistogram = undefined;
    for (const ue of this.#ues) {
      try { ue.socket?.close(); } catch { /* not bound */ }
    }
  }
}
