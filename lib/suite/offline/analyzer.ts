// Offline re-judging of a recorded exchange between any BM-SC and any UE (TS 33.246 clause 6.3): events
// arrive in time order (events.ts), procedure instances are found as they unfold and judged with the
// live runs' verifiers (verify/mikey.ts, verify/http.ts) and verdict model (verdict.ts). Only
// per-procedure state and bounded per-UE windows are kept: a delivery's MIKEY octets are dropped once
// its ACK window has closed, an MTK message's once its silence window has.
//
// Procedures (protocol §1):
//   msk-request    POST [-> 401 -> authorised POST] -> 200 -> MIKEY MSK message(s) -> ACK iff V=1 (6.3.1)
//   msk-push       unsolicited MSK message (+ retransmissions) -> ACK iff V=1 (6.3.2.1)
//   solicited-pull trigger (key IDs 0) -> ACK iff V=1 -> the UE's MSK request within T_pull (6.3.2.1)
//   mtk-update     MTK messages under one MSK, V=0, no UDP back from the UE within the silence window (6.3.3)
import { parseChallenges, parseCredentials, type DigestChallenge, type DigestCredentials } from '../../digest/index.ts';
import { digestPassword, parseMskResponseBody, type MbmsProfile } from '../../mbms/index.ts';
import { findPayload, type KeyIds } from '../../mikey/index.ts';
import { btidOf, decodeMikeyFields, normalizeAddress, type Endpoint, type HttpRequestEvent, type HttpResponseEvent, type MikeyEvent, type TraceEvent, type TraceProblem } from '../../trace/index.ts';
import { header, verifyAuthenticationInfo, verifyChallenge } from '../verify/http.ts';
import { judgeCredentials, judgeRequestBody, judgeRequestHeaders } from '../verify/http-request.ts';
import { ackCrossingMs, judgeCopyCsbId, judgeCounter, judgeMtkId, judgeNoKeyInBody, judgeRandPerMsk, validForUe } from '../verify/history.ts';
import { classifyDatagram, verifyAck, verifyKeyMessage, type CheckOutcome, type KeyMessageVerdict } from '../verify/mikey.ts';
import type { Finding, Role, Verdict } from '../verdict.ts';
import type { EventConsumer, UdpRecord } from './events.ts';
import { DeadlineQueue } from './deadlines.ts';
import { DEFAULT_LIMITS, ProcedureInstance, zeroCounts, type CheckCounts, type InstanceLimits, type ProcedureKind, type ProcedureResult } from './instance.ts';
import { emptyKeys, type AnalyzeKeys, type UeKeys } from './keys.ts';

export interface AnalyzerOptions {
  profile: MbmsProfile;
  keys?: AnalyzeKeys;
  mikeyPorts: number[];
  limits?: Partial<InstanceLimits>;
  /**
   * Called with every procedure instance as it is judged, listed in the results or only counted: a
   * consumer that streams them (analyze --json) sees them all while the analyzer keeps a bounded list.
   */
  onJudged?: (result: ProcedureResult) => void;
}

/** An address as one key, whatever its spelling (case, zone, IPv4-mapped IPv6): memoised, used per event. */
const addressKeys = new Map<string, string>();
function addressKey(address: string): string {
  const known = addressKeys.get(address);
  if (known !== undefined) return known;
  const key = normalizeAddress(address);
  if (addressKeys.size >= 65_536) addressKeys.clear();
  addressKeys.set(address, key);
  return key;
}
const epKey = (e: Endpoint): string => `${addressKey(e.address)}|${e.port}`;
const hexOf = (b: Buffer | undefined): string => (b ? b.toString('hex') : '');
const isMulticast = (address: string): boolean => /^(22[4-9]|23\d)\./.test(address) || /^ff/i.test(address);
const keyName = (ids: KeyIds): string => `${hexOf(ids.keyDomainId)}/${hexOf(ids.mskId)}`;

/** One transmission of an MSK message or trigger, kept while its delivery is open (for ACK matching). */
interface Copy {
  event: MikeyEvent;
  csbId: number;
  counter?: bigint;
  v: boolean;
  /** true/false when the MUK was known; undefined when the MAC could not be judged. */
  macValid?: boolean;
  /** Counter above every earlier one for the MUK (replay protection, RFC 3830 §5.3). */
  fresh: boolean;
  /** Valid for the UE (verify/history.ts validForUe); undefined when the MAC could not be judged. */
  valid?: boolean;
  acks: number;
  muk?: Buffer;
}

/** What every copy of a delivery showed, summed as they come (the copies themselves are kept bounded). */
interface CopyStats {
  count: number;
  anyV: boolean;
  /** A copy with V=1 that is valid for the UE (an ACK is owed). */
  anyValidV: boolean;
  allMacInvalid: boolean;
  /** Every copy replayed (COUNTER not fresh) or with a MAC that does not verify. */
  allStaleOrBadMac: boolean;
  allInvalid: boolean;
  anyMacUnknown: boolean;
  acked: boolean;
}

/** Copies kept per delivery: enough for every ACK of a conformant exchange and for the evidence of a storm. */
const KEPT_COPIES = 32;

const newStats = (): CopyStats => ({ count: 0, anyV: false, anyValidV: false, allMacInvalid: true, allStaleOrBadMac: true, allInvalid: true, anyMacUnknown: false, acked: false });

/** One MSK (or trigger) delivery to one UE: the first transmission and its retransmissions (O18). */
interface Delivery {
  instance: ProcedureInstance;
  kind: 'msk' | 'trigger';
  ue: Endpoint;
  keyIds: string;
  /**
   * The copies kept: the first and the latest KEPT_COPIES - 1 (a retransmission storm keeps a bounded list;
   * `stats` sums them all).
   */
  copies: Copy[];
  stats: CopyStats;
  ack?: { time: number; event: MikeyEvent };
  crossedOnce: boolean;
  deadline: number;
  firstTime: number;
  /**
   * What made the BM-SC's retransmissions moot before they were due: a newer delivery of the same key to
   * the same UE, or (a trigger) the UE's MSK request. The O18 count is then not judged.
   */
  supersededBy?: string;
}

type RequestState = 'unauthenticated' | 'challenged' | 'authorised' | 'granted' | 'refused';

interface RequestProcedure {
  instance: ProcedureInstance;
  address: string;
  state: RequestState;
  authorised?: HttpRequestEvent;
  credentials?: DigestCredentials;
  /** A POST without credentials was answered 200 (A-B1 broken): a key delivery after it is the BM-SC's fault too. */
  unauthenticatedOk?: boolean;
  /** Credential checks the authorised POST failed that the BM-SC must refuse (RFC 2617 §3.2.2): a 200 to it is the BM-SC's FAIL. */
  refusable?: string[];
  challengeNonce?: string;
  /** The challenge of the 401, parsed (what the credentials are judged against). */
  challengeParsed?: DigestChallenge;
  challenge?: HttpResponseEvent;
  ok?: HttpResponseEvent;
  /** MSK IDs the 200 OK grants (per-MSK status success), when the body could be read. */
  grantedIds?: Set<number>;
  deliveredIds: Set<number>;
  deliveries: number;
  deadline: number;
  btid?: string;
  orderPassed: boolean;
}

interface PullProcedure {
  instance: ProcedureInstance; address: string; trigger: MikeyEvent; deadline: number; satisfied: boolean;
  /** The trigger (or a copy of it) was valid for the UE; undefined while its MAC cannot be judged. */
  triggerValid?: boolean;
}

interface MtkState { instance: ProcedureInstance; lastCounter?: { value: bigint; event: MikeyEvent }; lastMtkId?: { value: bigint; event: MikeyEvent; key?: Buffer } }

interface SilenceWindow {
  mtk: MikeyEvent; ue: Endpoint; bmsc: Endpoint; csbId?: number; counter?: bigint; until: number; instance: ProcedureInstance;
  /** Broken by a datagram from the UE (judged FAIL) before it ended. */
  broken?: boolean;
}

/**
 * Where a silence window is found by the datagrams that can break it: a unicast UE by its address, a
 * multicast bearer by the BM-SC endpoint its UEs would answer.
 */
const silenceKey = (w: SilenceWindow): string => (isMulticast(w.ue.address) ? `bmsc ${epKey(w.bmsc)}` : `ue ${addressKey(w.ue.address)}`);

export interface AnalyzerOutput {
  /** The procedure instances kept with their findings and events (bounded: KEPT_PASS_PER_KIND, KEPT_OTHERS). */
  procedures: ProcedureResult[];
  /** Instances judged but not kept, counted per procedure kind and verdict (a storm of a million is counts). */
  omitted: Partial<Record<ProcedureKind, Partial<Record<Verdict, number>>>>;
  checks: Record<string, CheckCounts>;
  problems: TraceProblem[];
  problemCount: number;
}

const MAX_PROBLEMS = 50;
/** PASS instances kept per procedure kind; later ones are counted (ProcedureResult holds events and findings). */
const KEPT_PASS_PER_KIND = 100;
/** Instances with another verdict kept in all; later ones are counted (their checks still count under Checks). */
const KEPT_OTHERS = 1000;
/** Entries a per-key memory keeps (oldest forgotten first): bounded whatever the capture holds. */
const MEMORY_CAP = 4096;

/** Credential faults a BM-SC detects on its own and must refuse (RFC 2617 §3.2.2, §3.2.2.5). */
const REFUSABLE_CREDENTIALS = ['digest.response', 'digest.nc', 'digest.uri'];

export class OfflineAnalyzer implements EventConsumer {
  readonly #profile: MbmsProfile;
  readonly #keys: AnalyzeKeys;
  readonly #mikeyPorts: Set<number>;
  readonly #limits: InstanceLimits;
  readonly #limitsNoExamples: InstanceLimits;
  #counter = new Map<ProcedureKind, number>();
  #results: ProcedureResult[] = [];
  #totals: Record<string, CheckCounts> = {};
  #problems: TraceProblem[] = [];
  #problemCount = 0;
  #now = Number.NEGATIVE_INFINITY;

  #requests = new Map<string, RequestProcedure>();        // by UE address
  #requestByEvent = new Map<number, RequestProcedure>();  // by request event id (until answered)
  /** Open deliveries, by UE address (addressKey) in the order they opened. */
  #deliveriesByUe = new Map<string, Delivery[]>();
  #deliveryDeadlines = new DeadlineQueue<Delivery>();
  /** Open deliveries per procedure instance (an instance closes once it has none). */
  #openDeliveries = new Map<ProcedureInstance, number>();
  /** Instances judged or waiting only for their deliveries to close (pushes, superseded requests). */
  #draining = new Set<ProcedureInstance>();
  /** Draining instances whose last delivery closed: closed at the next clock step. */
  #drained: ProcedureInstance[] = [];
  #pulls = new Map<string, PullProcedure>();              // by UE address (addressKey)
  #pullDeadlines = new DeadlineQueue<PullProcedure>();
  /** Solicited-pull instances, with the UE address of their pull (the instance closes when its pull and deliveries have). */
  #pullInstances = new Map<ProcedureInstance, string>();
  #requestDeadlines = new DeadlineQueue<RequestProcedure>();
  /** Requests past their deadline that wait for their deliveries to close. */
  #requestsWaiting = new Map<ProcedureInstance, RequestProcedure>();
  /** B-TID -> keys, and the UEs with a MUK (the keys file is fixed for the run). */
  #ueKeysByBtid = new Map<string, UeKeys>();
  #uesWithMuk: UeKeys[] = [];
  /** UEs with a MUK and an address in the keys file, by address (addressKey). */
  #uesWithMukByAddress = new Map<string, UeKeys[]>();
  #mtk = new Map<string, MtkState>();                      // by domain/MSK ID
  /** Open silence windows in the order they opened (all are silenceMs long, so they end in that order too). */
  #silence: SilenceWindow[] = [];
  #silenceByKey = new Map<string, Set<SilenceWindow>>();
  #unattributed?: ProcedureInstance;
  #mukCounters = new Map<string, { value: bigint; event: MikeyEvent }>();
  #msks = new Map<string, { key: Buffer; rand?: Buffer }>();
  /** The RAND of each MSK's first delivery (mikey.rand-per-msk), the most recent MEMORY_CAP MSKs. */
  #randByMsk = new Map<string, { rand: Buffer; where: string }>();
  /** Challenges seen, by nonce, and how often each UE used each nonce (digest.nc): the last MEMORY_CAP. */
  #challengeByNonce = new Map<string, DigestChallenge>();
  #nonceUses = new Map<string, number>();
  #btidByEndpoint = new Map<string, string>();
  #btidByAddress = new Map<string, string>();

  constructor(options: AnalyzerOptions) {
    this.#profile = options.profile;
    this.#keys = options.keys ?? emptyKeys();
    this.#mikeyPorts = new Set(options.mikeyPorts);
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#limitsNoExamples = { ...this.#limits, passExamples: 0 };
    this.#onJudged = options.onJudged;
    for (const m of this.#keys.msks) this.#msks.set(`${m.keyDomainId}/${m.mskId}`, { key: m.key, rand: m.rand });
    for (const u of this.#keys.ues) if (!this.#ueKeysByBtid.has(u.btid)) this.#ueKeysByBtid.set(u.btid, u);
    this.#uesWithMuk = this.#keys.ues.filter((u) => u.muk);
    for (const u of this.#uesWithMuk) {
      if (u.address === undefined) continue;
      const key = addressKey(u.address);
      this.#uesWithMukByAddress.set(key, [...(this.#uesWithMukByAddress.get(key) ?? []), u]);
    }
  }

  // ---- EventConsumer ------------------------------------------------------------------------------

  onEvent(event: TraceEvent): void {
    this.#advance(event.time);
    if (event.kind === 'http-request') this.#onHttpRequest(event);
    else if (event.kind === 'http-response') this.#onHttpResponse(event);
    else if (event.kind === 'mikey') this.#onMikey(event);
  }

  onUdp(record: UdpRecord): void {
    this.#seen(record.time);
    this.#advance(record.time);
    // Any datagram from the UE to the BM-SC breaks the silence after an MTK message (6.3.3: no ACK, no error).
    this.#checkSilence(record.src, record.dst, undefined, record);
  }

  onProblem(problem: TraceProblem): void {
    this.#problemCount++;
    if (this.#problems.length < MAX_PROBLEMS) this.#problems.push(problem);
  }

  onClock(time: number): void {
    this.#seen(time);
    this.#advance(time);
  }

  /** The latest capture time known: windows still open then are cut by the end of the capture (INCONC). */
  #seen(time: number): void {
    if (this.#lastSeen === undefined || time > this.#lastSeen) this.#lastSeen = time;
  }

  /** Closes everything still open (end of capture) and returns the results in order of first event. */
  finish(): AnalyzerOutput {
    this.#expire(Number.POSITIVE_INFINITY, true);
    for (const state of this.#mtk.values()) this.#close(state.instance);
    this.#mtk.clear();
    if (this.#unattributed) this.#close(this.#unattributed);
    const order = (a: ProcedureResult, b: ProcedureResult) => a.firstFrame - b.firstFrame || a.startTime - b.startTime;
    return { procedures: this.#results.sort(order), omitted: this.#omitted, checks: this.#totals, problems: this.#problems, problemCount: this.#problemCount };
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  #open(kind: ProcedureKind): ProcedureInstance {
    const n = (this.#counter.get(kind) ?? 0) + 1;
    this.#counter.set(kind, n);
    // Past the first KEPT_PASS_PER_KIND PASS instances of a kind (listed with their examples), an instance
    // keeps no PASS examples, only counts: a push to a large group holds tens of thousands open at once, and
    // one that fails is shown by its failures.
    const examples = (this.#keptPass.get(kind) ?? 0) < KEPT_PASS_PER_KIND;
    return new ProcedureInstance(`${kind}#${n}`, kind, examples ? this.#limits : this.#limitsNoExamples, (check, verdict) => this.#count(check, verdict));
  }

  #count(check: string, verdict: Verdict): void {
    let counts = this.#totalsByCheck.get(check);
    if (!counts) {
      counts = zeroCounts();
      this.#totalsByCheck.set(check, counts);
      this.#totals[check] = counts;
    }
    counts[verdict]++;
  }

  /** The objects of #totals by check, found with one Map lookup per finding. */
  #totalsByCheck = new Map<string, CheckCounts>();

  #close(instance: ProcedureInstance): void {
    if (instance.closed) return;
    instance.closed = true;
    const verdict = instance.verdict;
    // Bounded whatever the capture holds: beyond the first instances, a judged instance is a count (its
    // result is built only for a consumer that streams every instance).
    const kept = verdict === 'PASS' ? (this.#keptPass.get(instance.procedure) ?? 0) : this.#keptOthers;
    const listed = kept < (verdict === 'PASS' ? KEPT_PASS_PER_KIND : KEPT_OTHERS);
    const result = listed ? instance.result() : this.#onJudged ? instance.result({ events: false }) : undefined;
    if (result) this.#onJudged?.(result);
    if (listed) {
      this.#results.push(result!);
      if (verdict === 'PASS') this.#keptPass.set(instance.procedure, kept + 1);
      else this.#keptOthers++;
      return;
    }
    const byVerdict = (this.#omitted[instance.procedure] ??= {});
    byVerdict[verdict] = (byVerdict[verdict] ?? 0) + 1;
  }

  readonly #onJudged: AnalyzerOptions['onJudged'];
  #keptPass = new Map<ProcedureKind, number>();
  #keptOthers = 0;
  #omitted: AnalyzerOutput['omitted'] = {};

  #advance(time: number): void {
    if (time > this.#now) {
      this.#now = time;
      this.#expire(time, false);
    }
  }

  /** Closes the windows that ended before `now` (every window is bounded by a profile timer, O24). */
  #expire(now: number, atEnd: boolean): void {
    const t = this.#profile.timers;
    // Windows are opened in time order with the same length, so the expired ones are at the head.
    while (this.#silence.length > 0 && this.#silence[0]!.until < now) {
      const w = this.#silence.shift()!;
      if (w.broken) continue;
      this.#unindexSilence(w);
      if (atEnd && w.until > (this.#lastSeen ?? 0)) w.instance.inconc('mtk.silence', `the capture ends ${fmt(w.until - (this.#lastSeen ?? w.mtk.time))} ms before the silence window after the MTK message closes`, [w.mtk]);
      else w.instance.pass('mtk.silence', `no UDP from the UE to the BM-SC within ${t.silenceMs} ms of the MTK message (6.3.3)`, [w.mtk]);
    }
    for (let e = this.#deliveryDeadlines.popExpired(now); e; e = this.#deliveryDeadlines.popExpired(now)) {
      const d = e.item;
      if (d.copies.length === 0) continue; // closed already
      // extended since it was queued (a copy, an ACK): queued again under its deadline of now
      if (d.deadline !== e.deadline) this.#deliveryDeadlines.push(d.deadline, d);
      else this.#closeDelivery(d, atEnd);
    }
    for (let e = this.#pullDeadlines.popExpired(now); e; e = this.#pullDeadlines.popExpired(now)) {
      const p = e.item;
      if (this.#pulls.get(p.address) === p) {
        this.#pulls.delete(p.address);
        if (!p.satisfied) {
          if (p.triggerValid === false) p.instance.pass('pull.request', 'no MSK request after a trigger the UE must discard (a check of the trigger failed: the BM-SC\'s fault, judged on the trigger)', [p.trigger]);
          else if (p.triggerValid === undefined) p.instance.inconc('pull.request', 'no MSK request after the trigger, whose validity for the UE cannot be judged without its MUK', [p.trigger]);
          else if (atEnd && p.deadline > (this.#lastSeen ?? 0)) p.instance.inconc('pull.request', 'the capture ends before T_pull after the trigger', [p.trigger]);
          else p.instance.fail('pull.request', `after a valid trigger the UE sends an MSK request within T_pull = ${t.pullMs} ms (6.3.2.1, S-U1)`, 'HTTP POST of an MSK request', 'none', [p.trigger]);
        }
        this.#maybeClosePull(p.instance);
      }
    }
    for (let e = this.#requestDeadlines.popExpired(now); e; e = this.#requestDeadlines.popExpired(now)) {
      const r = e.item;
      if (this.#requests.get(r.address) !== r || r.deadline !== e.deadline) continue;
      // closed once its deliveries have (#deliveryClosed), not before
      if ((this.#openDeliveries.get(r.instance) ?? 0) > 0) this.#requestsWaiting.set(r.instance, r);
      else this.#expireRequest(r, atEnd);
    }
    for (const r of this.#requestsReady.splice(0)) if (this.#requests.get(r.address) === r && r.deadline < now) this.#expireRequest(r, atEnd);
    for (const instance of this.#drained.splice(0)) {
      // (a delivery opened since it was queued keeps it open: #deliveryClosed queues it again)
      if ((this.#openDeliveries.get(instance) ?? 0) === 0 && this.#draining.delete(instance)) this.#close(instance);
    }
  }

  /** Requests whose deliveries closed after their deadline had passed: closed at the next clock step. */
  #requestsReady: RequestProcedure[] = [];

  #expireRequest(r: RequestProcedure, atEnd: boolean): void {
    this.#requests.delete(r.address);
    this.#requestsWaiting.delete(r.instance);
    this.#closeRequest(r, atEnd);
  }

  /** The request's deadline moved: it is judged when the new one passes. */
  #setRequestDeadline(r: RequestProcedure, deadline: number): void {
    r.deadline = deadline;
    this.#requestsWaiting.delete(r.instance);
    this.#requestDeadlines.push(deadline, r);
  }

  /** An instance waits for its deliveries to close, then closes. */
  #drain(instance: ProcedureInstance): void {
    this.#draining.add(instance);
    if ((this.#openDeliveries.get(instance) ?? 0) === 0) this.#drained.push(instance);
  }

  #openDelivery(d: Delivery): void {
    const ue = addressKey(d.ue.address);
    let list = this.#deliveriesByUe.get(ue);
    if (!list) this.#deliveriesByUe.set(ue, (list = []));
    list.push(d);
    this.#openDeliveries.set(d.instance, (this.#openDeliveries.get(d.instance) ?? 0) + 1);
  }

  /**
   * The delivery's window ends at `deadline` (an ACK window, a retransmission gap, a silence window). A
   * delivery is queued once, under its first deadline; a later deadline is seen when that one pops and
   * re-queues it (a storm of copies extends one delivery a million times and queues it a few times).
   * A deadline moved earlier (an ACK's silence window before the retransmission gap) is queued at once.
   */
  #setDeliveryDeadline(d: Delivery, deadline: number): void {
    if (deadline === d.deadline) return;
    const queued = d.deadline !== 0;
    const earlier = deadline < d.deadline;
    d.deadline = deadline;
    if (!queued || earlier) this.#deliveryDeadlines.push(deadline, d);
  }

  #deliveryClosed(d: Delivery): void {
    const ue = addressKey(d.ue.address);
    const list = this.#deliveriesByUe.get(ue);
    if (list) {
      list.splice(list.indexOf(d), 1);
      if (list.length === 0) this.#deliveriesByUe.delete(ue);
    }
    const left = (this.#openDeliveries.get(d.instance) ?? 1) - 1;
    if (left > 0) {
      this.#openDeliveries.set(d.instance, left);
      return;
    }
    this.#openDeliveries.delete(d.instance);
    if (this.#draining.has(d.instance)) this.#drained.push(d.instance);
    const waiting = this.#requestsWaiting.get(d.instance);
    if (waiting) {
      this.#requestsWaiting.delete(d.instance);
      this.#requestsReady.push(waiting);
    }
  }

  /** Open deliveries to the UE at `address`, oldest first. */
  #deliveriesTo(address: string): readonly Delivery[] {
    return this.#deliveriesByUe.get(addressKey(address)) ?? [];
  }

  #lastSeen?: number;

  // ---- HTTP (6.3.1 steps 1-4) ---------------------------------------------------------------------

  #onHttpRequest(req: HttpRequestEvent): void {
    this.#seen(req.time);
    if (req.method !== 'POST') return;
    const address = req.src.address;
    const btid = btidOf(req.headers);
    const authorization = header(req.headers, 'authorization');
    const open = this.#requests.get(address);
    const continues = open !== undefined && authorization !== undefined && open.state === 'challenged';
    let r: RequestProcedure;
    if (continues) r = open;
    else {
      if (open) {
        this.#requests.delete(address);
        this.#closeRequest(open, false);
      }
      r = { instance: this.#open('msk-request'), address, state: 'unauthenticated', deliveries: 0, deliveredIds: new Set(), deadline: 0, orderPassed: false };
      this.#requests.set(address, r);
      // A trigger's retransmissions are moot once the UE pulls
      for (const d of this.#deliveriesTo(address)) if (d.kind === 'trigger' && !d.ack) d.supersededBy ??= `the UE's MSK request (frame ${req.frames.join(',')})`;
      // A pending solicited pull is answered by this request (S-U1)
      const pull = this.#pulls.get(address);
      if (pull && !pull.satisfied && pull.triggerValid === false) {
        pull.satisfied = true;
        // A UE requests MSKs for other reasons too (a missed key, a new service): the capture cannot tell
        // that this request answers the trigger, so it is not held against the UE (the live suites can).
        pull.instance.inconc('pull.request', `an MSK request ${fmt(req.time - pull.trigger.time)} ms after a trigger the UE must discard (a check of the trigger failed): whether the trigger caused it is not shown by the capture`, [pull.trigger, req]);
        pull.instance.addEvent(req);
        this.#pulls.delete(address);
        this.#maybeClosePull(pull.instance);
      } else if (pull && !pull.satisfied) {
        pull.satisfied = true;
        pull.instance.pass('pull.request', `the UE sent its MSK request ${fmt(req.time - pull.trigger.time)} ms after the trigger (within T_pull = ${this.#profile.timers.pullMs} ms)`, [pull.trigger, req]);
        pull.instance.addEvent(req);
        this.#pulls.delete(address);
        this.#maybeClosePull(pull.instance);
      }
    }
    r.instance.addEvent(req);
    this.#setRequestDeadline(r, req.time + this.#profile.timers.httpMs);
    this.#requestByEvent.set(req.id, r);
    if (btid) {
      r.btid = btid;
      r.instance.ue = btid;
      this.#btidByAddress.set(address, btid);
    } else r.instance.ue ??= address;
    // The request itself: request line, header fields and body shape (verify/http-request.ts)
    for (const c of judgeRequestHeaders(this.#profile, req)) this.#outcome(r.instance, c, [req], 'ue');
    for (const c of judgeRequestBody(this.#profile, req).checks) this.#outcome(r.instance, c, [req], 'ue');
    if (authorization === undefined) return;

    r.state = 'authorised';
    r.authorised = req;
    if (r.challenge) r.instance.pass('order.challenge', '401 challenge -> authorised POST (6.3.1)', [r.challenge, req]);
    let credentials: DigestCredentials;
    try {
      credentials = parseCredentials(authorization);
    } catch (e) {
      r.instance.fail('digest.authorization', 'the Authorization header is Digest credentials (RFC 2617 §3.2.2)', 'Digest credentials', (e as Error).message, [req]);
      return;
    }
    r.credentials = credentials;
    if (r.challengeNonce !== undefined) {
      if (credentials.nonce === r.challengeNonce) r.instance.pass('digest.nonce', 'the authorised POST answers the nonce of the challenge', [r.challenge, req], undefined, 'ue');
      else r.instance.fail('digest.nonce', 'the authorised POST answers the nonce of the 401 challenge (RFC 2617 §3.2.2)', r.challengeNonce, credentials.nonce, [r.challenge, req], 'ue');
    }
    const ue = this.#ueByBtid(credentials.username);
    if (!ue?.ksNaf) r.instance.inconc('digest.response', `no Ks_NAF for B-TID ${credentials.username} in the keys file: the Digest response cannot be recomputed`, [req]);
    // The challenge this nonce came with, when the capture holds it; else a nonce of an earlier session
    // (preemptive reuse): judged against what the profile challenges with, nc and opaque not judged.
    const seen = this.#challengeByNonce.get(credentials.nonce);
    const challenge: DigestChallenge = seen ?? { realm: credentials.realm, nonce: credentials.nonce, qop: [this.#profile.http.qop], algorithm: this.#profile.http.algorithm, extra: {} };
    const usesKey = `${credentials.username}|${credentials.nonce}`;
    const earlierUses = this.#nonceUses.get(usesKey) ?? 0;
    const checks = judgeCredentials(req, credentials, {
      profile: this.#profile, challenge, foreign: seen === undefined, earlierUses,
      ...(ue?.ksNaf ? { password: digestPassword(ue.ksNaf) } : {}),
    });
    for (const c of checks) this.#outcome(r.instance, c, [r.challenge, req], 'ue');
    // What a BM-SC must see itself and refuse (RFC 2617 §3.2.2): a response it cannot recompute, an nc it
    // already served for this nonce, a uri that is not the Request-URI. Judged on its answer below.
    r.refusable = checks.filter((c) => !c.ok && REFUSABLE_CREDENTIALS.includes(c.check)).map((c) => c.check);
    this.#remember(this.#nonceUses, usesKey, earlierUses + 1);
  }

  #onHttpResponse(res: HttpResponseEvent): void {
    this.#seen(res.time);
    const r = res.requestId !== undefined ? this.#requestByEvent.get(res.requestId) : undefined;
    if (!r) return;
    this.#requestByEvent.delete(res.requestId!);
    r.instance.addEvent(res);
    const request = r.authorised?.id === res.requestId ? r.authorised : undefined;
    if (res.status === 401) {
      r.state = 'challenged';
      r.challenge = res;
      this.#setRequestDeadline(r, res.time + this.#profile.timers.httpMs);
      try {
        r.challengeParsed = parseChallenges(header(res.headers, 'www-authenticate') ?? '')[0];
      } catch {
        r.challengeParsed = undefined;
      }
      r.challengeNonce = r.challengeParsed?.nonce;
      // The challenge itself, as the live suites judge it (verify/http.ts): a GBA realm (the host part is
      // not judged: the capture does not say which FQDN the BM-SC has), the profile's qop and algorithm,
      // a nonce not seen in an earlier challenge.
      const earlierNonces = r.challengeParsed && this.#challengeByNonce.has(r.challengeParsed.nonce) ? [r.challengeParsed.nonce] : [];
      const { checks } = verifyChallenge(res.headers, { realm: 'gba', qop: 'profile', algorithm: 'profile', freshNonce: true },
        { profile: { ...this.#profile, http: { ...this.#profile.http, checkRealmHost: false } }, nafFqdn: '', earlierNonces });
      for (const c of checks) this.#outcome(r.instance, c, [res], 'bmsc');
      if (r.challengeParsed) this.#remember(this.#challengeByNonce, r.challengeParsed.nonce, r.challengeParsed);
      return;
    }
    if (request && r.refusable?.length) {
      // The UE's fault was judged on the request; the BM-SC's part is to refuse it (live: http.status).
      if (res.status === 200) {
        r.instance.fail('http.status', `credentials that fail ${r.refusable.join(', ')} are refused (RFC 2617 §3.2.2), not served`, 'a 401 (or 400 for the uri)', `${res.status} ${res.reason}`, [request, res], 'bmsc');
        // A wrong response is answered with a new challenge (A-B6); a replay or a wrong uri need not be.
        if (r.refusable.includes('digest.response')) r.instance.fail('digest.challenge', 'credentials that do not verify get 401 with a new Digest challenge (RFC 2617 §3.2.1, A-B6)', 'WWW-Authenticate: Digest ...', 'none: 200 OK', [request, res], 'bmsc');
      }
      else r.instance.pass('http.status', `credentials that fail ${r.refusable.join(', ')} are refused: ${res.status}`, [request, res], undefined, 'bmsc');
    }
    if (res.status !== 200) {
      r.state = 'refused';
      this.#setRequestDeadline(r, res.time);
      r.instance.inconc('http.outcome', `the MSK request was answered ${res.status} ${res.reason}: no key delivery to judge`, [res], { actual: res.status });
      return;
    }
    r.ok = res;
    this.#setRequestDeadline(r, res.time + this.#profile.timers.deliverMs);
    const wasAuthorised = r.state === 'authorised' && request !== undefined;
    r.state = 'granted';
    if (!wasAuthorised) {
      // A POST without credentials is challenged (A-B1): the status and the missing challenge, named as
      // the live cases name them, and the order of the exchange.
      r.unauthenticatedOk = true;
      r.instance.fail('http.status', 'a POST without credentials is answered 401 (RFC 2617 §3.2.1, A-B1)', 401, `${res.status} ${res.reason}`, [res], 'bmsc');
      r.instance.fail('digest.challenge', 'a POST without credentials gets a Digest challenge (WWW-Authenticate, RFC 2617 §3.2.1)', 'WWW-Authenticate: Digest ...', 'none: 200 OK', [res], 'bmsc');
      // (the order 401 -> authorised POST -> 200 is what these two say; order.challenge passes on the right order)
    } else {
      r.instance.pass('order.200', 'authorised POST -> 200 OK', [request, res]);
      const ue = r.credentials ? this.#ueByBtid(r.credentials.username) : undefined;
      if (!ue?.ksNaf) r.instance.inconc('digest.rspauth', 'no Ks_NAF for the B-TID: rspauth cannot be recomputed', [res]);
      else {
        const rspauth = this.#profile.http.rspauthMandatory ? 'valid' : 'present';
        const { checks } = verifyAuthenticationInfo(res.headers, res.body, { rspauth, echo: true }, { authorization: header(request.headers, 'authorization')!, password: digestPassword(ue.ksNaf) });
        for (const c of checks) this.#outcome(r.instance, c, [request, res], 'bmsc');
      }
    }
    try {
      const entries = parseMskResponseBody(res.body, this.#profile);
      r.grantedIds = new Set(entries.filter((e) => e.status === this.#profile.statusCodes.success).map((e) => e.mskId));
    } catch {
      r.grantedIds = undefined; // unreadable body: every MSK message within T_deliver belongs to the request
    }
  }

  #closeRequest(r: RequestProcedure, atEnd: boolean): void {
    if (r.state === 'granted') {
      if (r.deliveries > 0) { /* judged per delivery */ }
      else if (r.grantedIds?.size === 0) r.instance.notApplicable('delivery.msk-message', 'the 200 OK grants no MSK: no MIKEY message expected');
      else if (atEnd && r.ok && r.ok.time + this.#profile.timers.deliverMs > (this.#lastSeen ?? 0)) r.instance.inconc('delivery.msk-message', 'the capture ends before T_deliver after the 200 OK', [r.ok]);
      else r.instance.fail('delivery.msk-message', `an MSK message for every granted MSK within T_deliver = ${this.#profile.timers.deliverMs} ms of the 200 OK (6.3.1, A-B4)`, `${r.grantedIds?.size ?? '>= 1'} MIKEY MSK message(s)`, 'none', [r.ok]);
    } else if (r.state === 'unauthenticated' || r.state === 'authorised' || r.state === 'challenged') {
      const last = r.authorised ?? r.challenge;
      if (r.state === 'challenged') r.instance.inconc('http.outcome', 'the UE did not answer the 401 challenge in the capture', [r.challenge]);
      else r.instance.inconc('http.outcome', 'the MSK request has no response in the capture', [last]);
    }
    // requests of this procedure left unanswered are forgotten with it (bounded state)
    for (const [id, owner] of this.#requestByEvent) if (owner === r) this.#requestByEvent.delete(id);
    // closed once its deliveries are (their ACK and retransmission windows may still be open)
    this.#drain(r.instance);
  }

  // ---- MIKEY ---------------------------------------------------------------------------------------

  #onMikey(event: MikeyEvent): void {
    this.#seen(event.time);
    // The stream leaves decoding to us (once per datagram): strict first, lenient for the evidence of a bad one
    const c = classifyDatagram(event.bytes);
    const decodedHere = event.message === undefined && event.decodeError === undefined;
    if (decodedHere) Object.assign(event, c.message ? { message: c.message } : decodeMikeyFields(event.bytes));
    const fromUe = c.kind === 'ack' || c.kind === 'error' || (c.kind === 'undecodable' && !this.#mikeyPorts.has(event.dst.port));
    if (fromUe) this.#onFromUe(event, c.kind);
    else if (c.kind === 'mtk') this.#onMtk(event, c.keyIds ?? {});
    else if (c.kind === 'msk' || c.kind === 'trigger') this.#onKeyMessage(event, c.kind, c.keyIds ?? {});
    else this.#stray().fail('mikey.decode', 'a datagram to the UE MIKEY port is one well-formed MIKEY message (RFC 3830 §6)', 'MIKEY message', event.decodeError?.reason ?? 'undecodable', [event], 'bmsc');
    // Judged: the event keeps its octets, not the decoded tree (deliveries stay open for the silence
    // window after their ACK, 30,000 at once in a push to a large group); ProcedureInstance.result()
    // decodes the events it reports again.
    if (decodedHere && event.message !== undefined) event.message = undefined;
  }

  #stray(): ProcedureInstance {
    return (this.#unattributed ??= this.#open('unattributed'));
  }

  #ueByBtid(btid: string | undefined): UeKeys | undefined {
    return btid === undefined ? undefined : this.#ueKeysByBtid.get(btid);
  }

  /** The UE (and so the MUK) a key message to `dst` is for (keys file address, HTTP B-TID, MAC trial). */
  #ueFor(dst: Endpoint, bytes: Buffer, kind: 'msk' | 'trigger'): UeKeys | undefined {
    const known = this.#ueByBtid(this.#btidByEndpoint.get(epKey(dst)));
    if (known) return known;
    const withMuk = this.#uesWithMuk;
    const byAddress = (this.#uesWithMukByAddress.get(addressKey(dst.address)) ?? []).filter((u) => u.mikeyPort === undefined || u.mikeyPort === dst.port);
    if (byAddress.length === 1) return byAddress[0];
    const byHttp = this.#ueByBtid(this.#btidByAddress.get(addressKey(dst.address)) ?? this.#btidByAddress.get(dst.address));
    if (byHttp?.muk) return byHttp;
    if (withMuk.length === 1) return withMuk[0];
    // Several candidates: the MUK under which the MAC verifies names the UE
    return withMuk.find((u) => verifyKeyMessage(bytes, { kind, psk: u.muk!, profile: this.#profile.mikey }).macValid);
  }

  #onKeyMessage(event: MikeyEvent, kind: 'msk' | 'trigger', keyIds: KeyIds): void {
    const ueKeys = this.#ueFor(event.dst, event.bytes, kind);
    const muk = ueKeys?.muk;
    if (ueKeys) this.#btidByEndpoint.set(epKey(event.dst), ueKeys.btid);
    const verdict = verifyKeyMessage(event.bytes, { kind, psk: muk ?? Buffer.alloc(16), profile: this.#profile.mikey, ...(event.message ? { decoded: event.message } : {}) });
    const ids = keyName(keyIds);
    const v = verdict.v ?? false;
    const counter = verdict.counter;

    // Which procedure: the delivery of a granted MSK request, a retransmission of an open delivery, a
    // delivery before the 200 OK of a pending request, or a new push / solicited pull.
    const r = kind === 'msk' ? this.#requests.get(event.dst.address) : undefined;
    const mskIdNumber = keyIds.mskId && keyIds.mskId.length === 4 ? keyIds.mskId.readUInt32BE(0) : -1;
    // An MSK message belongs to the request when it delivers an MSK the 200 OK granted and not yet
    // delivered (a push of another MSK may follow closely); before the 200 it is a delivery too early.
    const grantedHere = r !== undefined && r.state === 'granted' && r.ok !== undefined && (r.grantedIds
      ? r.grantedIds.has(mskIdNumber) && !r.deliveredIds.has(mskIdNumber)
      : event.time <= r.ok.time + this.#profile.timers.deliverMs);
    // A copy belongs to the newest open delivery of the key to that UE: an older one was superseded by it.
    const toUe = this.#deliveriesTo(event.dst.address);
    const sameKey = (d: Delivery) => d.kind === kind && d.keyIds === ids && d.ue.port === event.dst.port && d.copies[0]!.v && v;
    const newest = (match: (d: Delivery) => boolean): Delivery | undefined => {
      for (let i = toUe.length - 1; i >= 0; i--) if (sameKey(toUe[i]!) && match(toUe[i]!)) return toUe[i];
      return undefined;
    };
    let delivery = grantedHere ? undefined : newest((d) => event.time - d.copies.at(-1)!.event.time <= this.#retransmissionGap());
    // While the UE's MSK request is pending, an MSK message of a key still being retransmitted to it (its
    // delivery not acknowledged) is one more copy of that delivery, however late a busy BM-SC sent it, not
    // a delivery ahead of the 200 OK.
    const pending = r !== undefined && (r.state === 'authorised' || r.state === 'unauthenticated' || r.state === 'challenged');
    if (!delivery && !grantedHere && pending) delivery = newest((d) => !d.ack);
    let instance: ProcedureInstance;
    if (delivery) instance = delivery.instance;
    else {
      const forRequest = grantedHere || (r !== undefined && (r.state === 'authorised' || r.state === 'unauthenticated'));
      if (r && forRequest) {
        instance = r.instance;
        r.deliveries++;
        r.deliveredIds.add(mskIdNumber);
        if (r.state === 'granted' && (r.refusable?.length || r.unauthenticatedOk)) {
          // A key for a request the BM-SC had to refuse: no MIKEY message may follow it (live: the silence
          // window after the request; A-B1, A-B6, A-B9, A-B10).
          r.instance.fail('silence', `no MSK message after a request ${r.unauthenticatedOk ? 'without credentials' : `whose credentials fail ${r.refusable!.join(', ')}`}`, 'no MIKEY message', `MSK message ${hexOf(keyIds.mskId)}`, [r.ok, event], 'bmsc');
        }
        if (r.state === 'granted') {
          if (!r.orderPassed) r.instance.pass('order.mikey-after-200', 'MIKEY MSK message after the 200 OK (6.3.1 step 5)', [r.ok, event]);
          r.orderPassed = true;
          const delay = event.time - r.ok!.time;
          if (delay <= this.#profile.timers.deliverMs) r.instance.pass('delivery.timing', `MSK message ${fmt(delay)} ms after the 200 OK`, [r.ok, event]);
          else r.instance.fail('delivery.timing', `the MSK message within T_deliver = ${this.#profile.timers.deliverMs} ms of the 200 OK (A-B4)`, `<= ${this.#profile.timers.deliverMs} ms`, `${fmt(delay)} ms`, [r.ok, event]);
        } else {
          r.instance.fail('order.mikey-after-200', 'no MIKEY message before the 200 OK of the MSK request (6.3.1: the BM-SC sends MIKEY when the request resulted in success)', '200 OK, then the MIKEY MSK message', `MIKEY MSK message while the request is ${r.state === 'authorised' ? 'unanswered' : r.state}`, [r.authorised ?? r.challenge, event]);
          // the 200 that follows still belongs to this request
        }
      } else if (kind === 'trigger') {
        instance = this.#open('solicited-pull');
        const pull: PullProcedure = { instance, address: event.dst.address, trigger: event, deadline: event.time + this.#profile.timers.pullMs, satisfied: false };
        this.#pulls.set(pull.address, pull);
        this.#pullDeadlines.push(pull.deadline, pull);
        this.#pullInstances.set(instance, pull.address);
      } else {
        instance = this.#open('msk-push');
        this.#drain(instance);
      }
      for (const older of toUe) {
        if (older.kind === kind && older.keyIds === ids && older.ue.port === event.dst.port && !older.ack) older.supersededBy ??= `a newer delivery of the same key (frame ${event.frames.join(',')})`;
      }
      delivery = { instance, kind, ue: event.dst, keyIds: ids, copies: [], stats: newStats(), crossedOnce: false, deadline: 0, firstTime: event.time };
      this.#openDelivery(delivery);
    }
    instance.addEvent(event);
    if (ueKeys) instance.ue = ueKeys.btid;
    else instance.ue ??= `${event.dst.address}:${event.dst.port}`;
    const isCopy = delivery.copies.length > 0;

    // Structure, MAC and decryption (A-B4, S-B1, G-B2), as a UE would check it
    for (const check of verdict.checks) {
      if (!muk && (check.check === 'mikey.mac' || check.check === 'mikey.key-data')) continue;
      this.#outcome(instance, check, [event], 'bmsc');
    }
    if (!muk) instance.inconc('mikey.mac', `no MUK for the UE at ${event.dst.address}:${event.dst.port} in the keys file: MAC and key data not judged`, [event]);
    if (kind === 'trigger') {
      const zero = (b: Buffer | undefined) => b === undefined || b.every((x) => x === 0);
      if (zero(keyIds.mskId) && zero(keyIds.mtkId)) instance.pass('trigger.key-ids', 'trigger key IDs are 0x0 (6.3.2.1 push solicited pull)', [event]);
    }
    if (muk && verdict.macValid && kind === 'msk' && verdict.keyData[0]) {
      // MSKs are learnt from the MSK messages: MTK messages under them are then judged too (O15 RAND)
      this.#remember(this.#msks, ids, { key: verdict.keyData[0].key, rand: verdict.rand });
      // The MSK of a request's delivery must not have travelled in clear in its 200 OK
      if (r?.ok && instance === r.instance) this.#outcome(instance, judgeNoKeyInBody(r.ok.body, verdict.keyData[0].key, ids), [r.ok, event]);
    }

    // Counters: strictly increasing per MUK, retransmissions included when refreshed (verify/history.ts)
    const mukKey = ueKeys?.btid ?? epKey(event.dst);
    const previous = this.#mukCounters.get(mukKey);
    let fresh = true;
    if (counter !== undefined) {
      const original = isCopy ? delivery.copies[0]!.event : undefined;
      const outcomes = judgeCounter(counter, previous ? { value: previous.value, where: `frame ${previous.event.frames.join(',')}` } : undefined, {
        key: 'muk', freshTs: this.#profile.retransmission.freshTs, bytes: event.bytes,
        ...(original ? { retransmissionOf: { bytes: original.bytes, where: `frame ${original.frames.join(',')}` } } : {}),
      });
      for (const o of outcomes) this.#outcome(instance, o, [previous?.event, original, event]);
      if (isCopy && verdict.csbId !== undefined) {
        const first = delivery.copies[0]!;
        for (const o of judgeCopyCsbId(verdict.csbId, { csbId: first.csbId, where: `frame ${first.event.frames.join(',')}` }, this.#profile.mikey.csbId.msk)) this.#outcome(instance, o, [first.event, event]);
      }
      fresh = previous ? counter > previous.value : counter > 0n;
      // Only a message whose MAC verifies moves the UE's replay state (RFC 3830 §5.3: a forged COUNTER must
      // not lock the UE out of later genuine messages); without the MUK every message is taken as sent.
      if (fresh && (verdict.macValid || !muk)) this.#remember(this.#mukCounters, mukKey, { value: counter, event: slim(event) });
    }
    // One RAND per MSK (MTK-message keys derive from it)
    if (kind === 'msk' && verdict.rand) {
      const seen = this.#randByMsk.get(ids);
      for (const o of judgeRandPerMsk(verdict.rand, seen, ids)) this.#outcome(instance, o, [event]);
      if (!seen) this.#remember(this.#randByMsk, ids, { rand: verdict.rand, where: `frame ${event.frames.join(',')}` });
    }

    // Retransmission after the ACK (A-B5): a copy after the delivery was acknowledged
    if (isCopy && delivery.ack) {
      const crossing = event.time - delivery.ack.time <= ackCrossingMs(this.#profile) && !delivery.crossedOnce;
      if (crossing) delivery.crossedOnce = true;
      else instance.fail('retransmission.after-ack', 'no retransmission once a valid verification message arrived (protocol §1.2, A-B5)', 'no further copy', `copy ${fmt(event.time - delivery.ack.time)} ms after the ACK`, [delivery.ack.event, event]);
    }

    const valid = muk ? validForUe(verdict, fresh) : undefined;
    const copy: Copy = { event, csbId: verdict.csbId ?? -1, counter, v, macValid: muk ? verdict.macValid : undefined, fresh, valid, acks: 0, muk };
    const st = delivery.stats;
    st.count++;
    st.anyV ||= v;
    st.anyValidV ||= v && valid === true;
    st.allMacInvalid &&= copy.macValid === false;
    st.allStaleOrBadMac &&= !fresh || copy.macValid === false;
    st.allInvalid &&= valid === false;
    st.anyMacUnknown ||= copy.macValid === undefined;
    delivery.copies.push(copy);
    // Bounded whatever the BM-SC sends: the first copy stays (the original), then the latest ones.
    if (delivery.copies.length > KEPT_COPIES) delivery.copies.splice(1, 1);
    // A solicited pull is expected only after a trigger valid for the UE: an invalid one is rightly ignored.
    const pull = kind === 'trigger' && !isCopy ? this.#pulls.get(event.dst.address) : undefined;
    if (pull && pull.trigger === event) pull.triggerValid = valid;
    else if (pull && valid === true && pull.triggerValid !== true) pull.triggerValid = true;
    this.#setDeliveryDeadline(delivery, Math.max(delivery.deadline, event.time + Math.max(this.#profile.timers.ackMs, this.#retransmissionGap())));
  }

  #retransmissionGap(): number {
    // Copies of one delivery follow each other at the O18 interval; allow twice that for scheduling jitter.
    return Math.max(2 * this.#profile.retransmission.intervalMs, 50);
  }

  #closeDelivery(d: Delivery, atEnd: boolean): void {
    this.#deliveryClosed(d);
    const first = d.copies[0]!;
    const last = d.copies.at(-1)!;
    const instance = d.instance;
    const st = d.stats;
    const anyV = st.anyV;
    const acked = st.acked;
    const valid = d.copies.filter((c) => c.v && c.valid === true);
    // ACK iff V=1 (6.3.1 step 6, A-U3): a valid, fresh message with V=1 is acknowledged; nothing else is
    if (anyV && !acked) {
      if (st.anyValidV) {
        if (atEnd && last.event.time + this.#profile.timers.ackMs > (this.#lastSeen ?? 0)) instance.inconc('ack.iff-v', 'the capture ends before T_ack after the message', [last.event]);
        else instance.fail('ack.iff-v', `a verification message within T_ack = ${this.#profile.timers.ackMs} ms of a valid MIKEY message with V=1 (RFC 3830 §5.2, A-U3)`, 'verification message (data type 1)', 'none', valid.length ? valid.map((c) => c.event) : [last.event]);
      } else if (st.allMacInvalid) {
        instance.pass('ack.iff-v', 'no verification message for messages whose MAC does not verify (RFC 3830 §5.3, G-U1)', d.copies.map((c) => c.event));
      } else if (st.allStaleOrBadMac) {
        instance.pass('ack.iff-v', 'no verification message for a replayed message (TS counter not above the last one; RFC 3830 §5.3, G-U2)', d.copies.map((c) => c.event));
      } else if (st.allInvalid) {
        instance.pass('ack.iff-v', 'no verification message for a message the UE must discard (a message check failed: the BM-SC\'s fault, judged on the message)', d.copies.map((c) => c.event));
      } else if (st.anyMacUnknown) {
        instance.inconc('ack.iff-v', 'no verification message, and the MAC could not be judged without the MUK', [first.event]);
      }
    }
    // O18: the BM-SC retransmits a V=1 delivery `count` times at its interval until a valid ACK (P-B2; an
    // invalid ACK changes nothing, G-B1), unless something made the copies moot first (a newer delivery of
    // the key; the pull a trigger asked for). Copies due before the valid ACK (one interval of slack) count.
    const { intervalMs, count } = this.#profile.retransmission;
    const due = d.ack ? Math.min(count, Math.max(0, Math.floor((d.ack.time - first.event.time) / intervalMs) - 1)) : count;
    if (anyV && (!d.ack || due > 0)) {
      const expected = 1 + due;
      const span = intervalMs * (count + 1);
      if (d.supersededBy && st.count < expected) instance.pass('retransmission.count', `${st.count} transmission(s), then retransmission was moot: ${d.supersededBy}`, d.copies.map((c) => c.event));
      else if (st.count >= expected) instance.pass('retransmission.count', `${st.count} transmissions ${d.ack ? 'before the valid ACK' : 'of an unacknowledged message'} (O18: 1 + ${due})`, d.copies.map((c) => c.event));
      else if (!(atEnd && !d.ack && first.event.time + span > (this.#lastSeen ?? 0))) instance.fail('retransmission.count', `a V=1 message without a valid ACK is retransmitted ${count} times at ${intervalMs} ms (O18, P-B2; an invalid ACK stops nothing, G-B1)`, expected, st.count, [...d.copies.map((c) => c.event), d.ack?.event]);
    }
    if (!anyV && !acked) {
      instance.pass('ack.iff-v', 'V=0 and no verification message', [first.event]);
    }
    // drop the octets of the delivery: it is judged
    d.copies.length = 0;
    this.#maybeClosePull(instance);
  }

  #maybeClosePull(instance: ProcedureInstance): void {
    const address = this.#pullInstances.get(instance);
    if (address === undefined) return;
    if ((this.#openDeliveries.get(instance) ?? 0) > 0) return;
    if (this.#pulls.get(address)?.instance === instance) return;
    this.#pullInstances.delete(instance);
    this.#close(instance);
  }

  #onMtk(event: MikeyEvent, keyIds: KeyIds): void {
    const ids = keyName(keyIds);
    let state = this.#mtk.get(ids);
    if (!state) {
      state = { instance: this.#open('mtk-update') };
      state.instance.ue = `MSK ${ids}`;
      this.#mtk.set(ids, state);
    }
    const instance = state.instance;
    instance.addEvent(event);
    const msk = this.#msks.get(ids);
    const derivationRand = this.#profile.mikey.mtkRandSource === 'msk-rand' ? msk?.rand : Buffer.alloc(0);
    const verdict: KeyMessageVerdict = verifyKeyMessage(event.bytes, { kind: 'mtk', psk: msk?.key ?? Buffer.alloc(16), derivationRand, profile: this.#profile.mikey, v: false, ...(event.message ? { decoded: event.message } : {}) });
    for (const check of verdict.checks) {
      if (!msk && (check.check === 'mikey.mac' || check.check === 'mikey.key-data')) continue;
      this.#outcome(instance, check, [event], 'bmsc');
    }
    if (!msk) instance.inconc('mikey.mac', `MSK ${ids} is neither delivered in the capture nor in the keys file: MAC and MTK not judged`, [event]);

    // Per-MSK counter and MTK ID (verify/history.ts): an MTK message repeated on the bearer keeps its ID
    if (verdict.counter !== undefined) {
      const prev = state.lastCounter;
      for (const o of judgeCounter(verdict.counter, prev ? { value: prev.value, where: `frame ${prev.event.frames.join(',')}` } : undefined, { key: 'msk', freshTs: true, bytes: event.bytes })) this.#outcome(instance, o, [prev?.event, event]);
      if (!prev || verdict.counter > prev.value) state.lastCounter = { value: verdict.counter, event: slim(event) };
    }
    if (keyIds.mtkId) {
      const mtkId = BigInt(`0x${keyIds.mtkId.toString('hex') || '0'}`);
      const prev = state.lastMtkId;
      const key = msk && verdict.macValid ? verdict.keyData[0]?.key : undefined;
      for (const o of judgeMtkId(mtkId, prev ? { value: prev.value, where: `frame ${prev.event.frames.join(',')}`, key: prev.key } : undefined, { newMtk: false, key })) this.#outcome(instance, o, [prev?.event, event]);
      if (!prev || mtkId > prev.value) state.lastMtkId = { value: mtkId, event: slim(event), key };
    }
    // Silence after the MTK message (6.3.3, M-U1): only the addressing is kept, not the octets
    const t = findPayload(verdict.message ?? { payloads: [] } as never, 'T');
    const w: SilenceWindow = { mtk: slim(event), ue: event.dst, bmsc: event.src, csbId: verdict.csbId, counter: t?.tsValue, until: event.time + this.#profile.timers.silenceMs, instance };
    this.#silence.push(w);
    const key = silenceKey(w);
    let set = this.#silenceByKey.get(key);
    if (!set) this.#silenceByKey.set(key, (set = new Set()));
    set.add(w);
  }

  #unindexSilence(w: SilenceWindow): void {
    const key = silenceKey(w);
    const set = this.#silenceByKey.get(key);
    set?.delete(w);
    if (set?.size === 0) this.#silenceByKey.delete(key);
  }

  /** A datagram from `src` to `dst` inside a silence window breaks it (one FAIL per window). */
  #checkSilence(src: Endpoint, dst: Endpoint, event: MikeyEvent | undefined, record?: UdpRecord): boolean {
    let broke = false;
    const unicast = this.#silenceByKey.get(`ue ${addressKey(src.address)}`);
    const multicast = this.#silenceByKey.get(`bmsc ${epKey(dst)}`);
    if (!unicast && !multicast) return false;
    const candidates = [...(unicast ?? []), ...(multicast ?? [])];
    if (unicast && multicast) candidates.sort((a, b) => a.until - b.until);
    for (const w of candidates) {
      const fromUe = isMulticast(w.ue.address)
        ? epKey(dst) === epKey(w.bmsc)
        : src.port === w.ue.port || epKey(dst) === epKey(w.bmsc);
      if (!fromUe) continue;
      w.broken = true;
      this.#unindexSilence(w);
      const cited = event ? [w.mtk, event] : [w.mtk];
      const what = event ? describeFromUe(event) : `a ${record?.length ?? 0}-octet UDP datagram`;
      w.instance.add({
        verdict: 'FAIL', check: 'mtk.silence',
        message: `the UE sends nothing back to an MTK message (6.3.3: no verification, no error message; M-U1)`,
        expected: `no UDP from ${w.ue.address}:${w.ue.port} within ${this.#profile.timers.silenceMs} ms`,
        actual: `${what} ${fmt((event?.time ?? record!.time) - w.mtk.time)} ms after the MTK message`,
        evidence: { events: cited.map((e) => e.id), frames: [...new Set([...cited.flatMap((e) => e.frames), ...(record?.frames ?? [])])].sort((a, b) => a - b) },
      }, cited);
      if (event) w.instance.addEvent(event);
      broke = true;
    }
    return broke;
  }

  #onFromUe(event: MikeyEvent, kind: string): void {
    // An ACK that answers an outstanding delivery is not a breach of an MTK silence window (copies crossing)
    const t = event.message ? findPayload(event.message, 'T') : undefined;
    const csbId = event.message?.hdr?.csbId;
    let match: { d: Delivery; c: Copy } | undefined;
    const fromUe = this.#deliveriesTo(event.src.address);
    if (kind === 'ack') {
      for (const d of fromUe) {
        const c = d.copies.find((x) => x.csbId === csbId && x.counter !== undefined && x.counter === t?.tsValue);
        if (c) match = { d, c };
      }
    }
    if (!match && kind === 'ack') {
      // An ACK whose CSB ID or COUNTER echoes no message: it answers the latest unanswered copy sent to that
      // UE within T_ack, and verifyAck below names what it got wrong (ack.csb-id, ack.timestamp).
      // Of those, one that shares the COUNTER (the CSB ID is wrong) or the CSB ID (the COUNTER is wrong) first.
      let best: { d: Delivery; c: Copy; score: number } | undefined;
      for (const d of fromUe) {
        for (const c of d.copies) {
          if (c.acks > 0 || event.time - c.event.time > this.#profile.timers.ackMs) continue;
          const score = (c.counter !== undefined && c.counter === t?.tsValue) || c.csbId === csbId ? 1 : 0;
          if (!best || score > best.score || (score === best.score && c.event.time > best.c.event.time)) best = { d, c, score };
        }
      }
      if (best) match = { d: best.d, c: best.c };
    }
    if (!match && kind === 'error') {
      // O19: a UE may answer a rejected MSK message with a MIKEY error message ('msk-only'), never anything else
      const open = fromUe.find((d) => d.kind === 'msk');
      if (open && this.#profile.errors.ueSendsErr === 'msk-only' && !this.#checkSilence(event.src, event.dst, event)) {
        open.instance.addEvent(event);
        const rejected = open.copies.some((c) => c.macValid === false || !c.fresh);
        if (rejected) open.instance.pass('mikey.error-message', 'a MIKEY error message answers a rejected MSK message (O19 msk-only)', [open.copies.at(-1)?.event, event]);
        else open.instance.fail('mikey.error-message', 'a MIKEY error message only answers an MSK message the UE rejects (O19 msk-only)', 'no error message to a valid MSK message', 'MIKEY error message (data type 6)', [open.copies.at(-1)?.event, event]);
        return;
      }
    }
    if (!match) {
      if (this.#checkSilence(event.src, event.dst, event)) return;
      const stray = this.#stray();
      stray.addEvent(event);
      if (kind === 'ack') stray.inconc('ack.unmatched', 'a verification message that answers no MIKEY message of the capture (CSB ID and TS)', [event], { actual: { csbId, counter: t?.tsValue?.toString() } });
      else if (kind === 'error') stray.fail('mikey.error-message', `the UE sends MIKEY error messages only when the profile allows (O19 ueSendsErr: ${this.#profile.errors.ueSendsErr})`, 'no error message', 'MIKEY error message (data type 6)', [event]);
      else stray.fail('mikey.decode', 'a datagram from the UE MIKEY port is one well-formed MIKEY message', 'MIKEY message', event.decodeError?.reason ?? 'undecodable', [event], 'ue');
      return;
    }
    const { d, c } = match;
    const instance = d.instance;
    instance.addEvent(event);
    c.acks++;
    d.stats.acked = true;
    if (c.acks > 1) {
      instance.fail('ack.once', 'exactly one verification message per MIKEY message (A-U3)', 1, c.acks, [c.event, event]);
      return;
    }
    if (!c.v) {
      instance.fail('ack.iff-v', 'no verification message to a message with V=0 (RFC 3830 §5.2, A-U3)', 'no ACK', 'ACK', [c.event, event]);
      this.#takenByBmsc(d, c, event);
      return;
    }
    if (c.macValid === false) {
      instance.fail('ack.bad-mac', 'no verification message to a message whose MAC does not verify (RFC 3830 §5.3, G-U1)', 'no ACK', 'ACK', [c.event, event]);
      this.#takenByBmsc(d, c, event);
      return;
    }
    if (!c.fresh && this.#profile.ueDuplicatePolicy !== 're-ack') {
      instance.fail('ack.replay', 'no verification message to a replayed message (TS counter not above the last one for the MUK; protocol §6.1, G-U2)', 'no ACK', 'ACK', [c.event, event]);
      this.#takenByBmsc(d, c, event);
      return;
    }
    if (c.macValid === true) instance.pass('ack.iff-v', `verification message ${fmt(event.time - c.event.time)} ms after a valid message with V=1`, [c.event, event]);
    else instance.inconc('ack.iff-v', 'a verification message was sent, but the MAC of the message could not be judged without the MUK', [c.event, event]);
    if (event.time - c.event.time > this.#profile.timers.ackMs) instance.fail('ack.timing', `the verification message within T_ack = ${this.#profile.timers.ackMs} ms`, `<= ${this.#profile.timers.ackMs} ms`, `${fmt(event.time - c.event.time)} ms`, [c.event, event]);
    let ackValid = false;
    if (c.muk) {
      const checks = verifyAck(event.bytes, { original: c.event.bytes, psk: c.muk, profile: this.#profile.mikey }).checks;
      for (const check of checks) this.#outcome(instance, check, [c.event, event], 'ue');
      ackValid = checks.every((x) => x.ok);
    } else instance.inconc('ack.mac', 'no MUK: the V MAC of the verification message is not judged', [event]);
    // Only a valid ACK ends the BM-SC's retransmissions (G-B1: a bad one is ignored): copies after an
    // invalid or unjudged one are not judged as retransmission after the ACK.
    if (!ackValid) return;
    this.#ackEnds(d, event);
  }

  /**
   * An ACK the UE should not have sent (to a replay, to V=0, to a bad MAC) still ends the delivery for the BM-SC when it
   * verifies: the BM-SC cannot know the UE's replay state, so its retransmissions are judged as after a valid ACK.
   */
  #takenByBmsc(d: Delivery, c: Copy, event: MikeyEvent): void {
    if (c.muk && verifyAck(event.bytes, { original: c.event.bytes, psk: c.muk, profile: this.#profile.mikey }).checks.every((x) => x.ok)) this.#ackEnds(d, event);
  }

  /** A valid ACK ends the retransmissions: copies after it are watched during the silence window (A-B5), then the delivery closes. */
  #ackEnds(d: Delivery, event: MikeyEvent): void {
    d.ack = { time: event.time, event };
    this.#setDeliveryDeadline(d, event.time + this.#profile.timers.silenceMs);
  }

  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.set(key, value);
    if (map.size > MEMORY_CAP) map.delete(map.keys().next().value!);
  }

  /** A check outcome as a finding; `blame` names the side for rules of either side (rules.ts 'sut'). */
  #outcome(instance: ProcedureInstance, check: CheckOutcome, cited: (TraceEvent | undefined)[], blame?: Role): void {
    if (check.ok) instance.pass(check.check, check.message, cited, check.actual, blame);
    else instance.fail(check.check, check.message, check.expected, check.actual, cited, blame);
  }
}

/** An event without its octets and decoded message, for evidence kept beyond the event's judging. */
function slim(e: MikeyEvent): MikeyEvent {
  return { ...e, bytes: Buffer.alloc(0), message: undefined };
}

function describeFromUe(e: MikeyEvent): string {
  const type = e.message?.hdr?.dataType;
  if (type === 1) return 'a MIKEY verification message';
  if (type === 6) return 'a MIKEY error message';
  return `a ${e.bytes.length}-octet MIKEY/UDP datagram`;
}

const fmt = (ms: number): string => (Math.round(ms * 10) / 10).toString();

export type { Verdict };
