// One timeline of protocol events (HTTP exchanges, MIKEY messages, tester notes), with the queries the
// verifiers and the report need, live notification, and correlation per UE.
import { EventEmitter } from 'node:events';
import { parseCredentials } from '../digest/index.ts';
import { TraceWaitAbortedError } from './errors.ts';
import type { Actor, Endpoint, HttpRequestEvent, HttpResponseEvent, MikeyEvent, TraceEvent, TraceEventInput, TraceEventKind } from './types.ts';

export type HttpEvent = HttpRequestEvent | HttpResponseEvent;

/** Something in the capture that is not a protocol event but that a verdict may need to cite. */
export interface TraceProblem {
  kind: 'http-error' | 'undecodable';
  time: number;
  frames: number[];
  conn?: number;
  /** Error code of the underlying failure (e.g. ERR_HTTP_PARSE). */
  code: string;
  message: string;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Also consider events already in the trace whose id is greater than this (e.g. the id before a stimulus). */
  after?: number;
}

export interface UeGroup {
  /** The first B-TID seen for the UE, else its first address (or address:port). */
  key: string;
  btids: string[];
  addresses: string[];
  /** UE-side endpoints of MIKEY traffic. */
  mikeyEndpoints: Endpoint[];
  /** Ids of the events of this UE, in order. */
  events: number[];
}

export interface CorrelateOptions {
  /**
   * Join events of the same UE IP address (default true). Turn off when several UEs share one address
   * (e.g. all on loopback); MIKEY events then group by UE endpoint (address and port) and HTTP by B-TID.
   */
  byAddress?: boolean;
}

/** Normalized address for comparisons (IPv4-mapped IPv6 -> IPv4, zone dropped, lowercase). */
export function sameAddress(a: string, b: string): boolean {
  return normalizeAddress(a) === normalizeAddress(b);
}

/** One spelling of an address: no zone, lower case, an IPv4-mapped IPv6 address as its IPv4 address. */
export function normalizeAddress(address: string): string {
  const a = address.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1] : a;
}

/** Whether `ep` matches `pattern` (an omitted address or port matches anything). */
export function endpointMatches(ep: Endpoint, pattern: Partial<Endpoint>): boolean {
  return (pattern.address === undefined || sameAddress(ep.address, pattern.address)) && (pattern.port === undefined || ep.port === pattern.port);
}

/** The username of a Digest Authorization header: the B-TID in 33.246 (TS 33.220 GBA). */
export function btidOf(headers: readonly [string, string][]): string | undefined {
  const value = headers.find(([n]) => n.toLowerCase() === 'authorization')?.[1];
  if (!value) return undefined;
  try {
    return parseCredentials(value).username;
  } catch {
    // incomplete credentials still name their user for correlation purposes
    return /\busername\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(value)?.[1]?.replace(/\\(.)/g, '$1');
  }
}

interface TraceEvents {
  event: [TraceEvent];
}

/**
 * An append-only list of events with ids increasing in append order. Offline traces are built sorted
 * by time; live traces append as things happen, so ids follow time there too.
 */
export class Trace {
  /** Which side the tester plays in a live trace (to tell UE from BM-SC among 'tester'/'sut'). */
  testerRole: 'ue' | 'bmsc' | undefined;
  readonly problems: TraceProblem[] = [];
  private readonly list: TraceEvent[] = [];
  private readonly emitter = new EventEmitter<TraceEvents>();
  private nextId = 1;

  constructor(options: { testerRole?: 'ue' | 'bmsc' } = {}) {
    this.testerRole = options.testerRole;
    this.emitter.setMaxListeners(0);
  }

  get events(): readonly TraceEvent[] {
    return this.list;
  }

  get length(): number {
    return this.list.length;
  }

  /** Id of the newest event (0 when empty): pass it as `after` to waitFor before a stimulus. */
  get lastId(): number {
    return this.nextId - 1;
  }

  /** Appends an event, giving it the next id, and notifies listeners and waiters. */
  append<E extends TraceEventInput>(input: E): E & { id: number } {
    const event = { id: this.nextId++, ...input } as E & { id: number };
    this.list.push(event as unknown as TraceEvent);
    this.emitter.emit('event', event as unknown as TraceEvent);
    return event;
  }

  addProblem(problem: TraceProblem): void {
    this.problems.push(problem);
  }

  /** Listens to every appended event; returns the function that stops listening. */
  onEvent(listener: (event: TraceEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  /**
   * Resolves with the first new event matching `predicate`, or undefined when `timeoutMs` passes first.
   * Rejects with TraceWaitAbortedError when the signal aborts. Event-driven: no polling.
   */
  waitFor<E extends TraceEvent = TraceEvent>(
    predicate: ((event: TraceEvent) => event is E) | ((event: TraceEvent) => boolean),
    timeoutMs: number,
    signalOrOptions?: AbortSignal | WaitOptions,
  ): Promise<E | undefined> {
    const options: WaitOptions = signalOrOptions instanceof AbortSignal ? { signal: signalOrOptions } : (signalOrOptions ?? {});
    const { signal, after } = options;
    if (after !== undefined) {
      const found = this.list.find((e) => e.id > after && predicate(e));
      if (found) return Promise.resolve(found as E);
    }
    if (signal?.aborted) return Promise.reject(new TraceWaitAbortedError(signal.reason));
    return new Promise<E | undefined>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.emitter.off('event', onEvent);
        signal?.removeEventListener('abort', onAbort);
      };
      const onEvent = (event: TraceEvent) => {
        if (!predicate(event)) return;
        settle();
        resolve(event as E);
      };
      const onAbort = () => {
        settle();
        reject(new TraceWaitAbortedError(signal?.reason));
      };
      const timer = setTimeout(() => {
        settle();
        resolve(undefined);
      }, Math.max(0, timeoutMs));
      this.emitter.on('event', onEvent);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  get(id: number): TraceEvent | undefined {
    // ids are dense from 1 in a Trace; fall back to a search for traces built from foreign lists
    const guess = this.list[id - 1];
    return guess?.id === id ? guess : this.list.find((e) => e.id === id);
  }

  byKind<K extends TraceEventKind>(kind: K): Extract<TraceEvent, { kind: K }>[] {
    return this.list.filter((e): e is Extract<TraceEvent, { kind: K }> => e.kind === kind);
  }

  byActor(actor: Actor): TraceEvent[] {
    return this.list.filter((e) => e.actor === actor);
  }

  /** HTTP events of one TCP connection, in order. */
  byConn(conn: number): HttpEvent[] {
    return this.list.filter((e): e is HttpEvent => (e.kind === 'http-request' || e.kind === 'http-response') && e.conn === conn);
  }

  /** Events with from <= time <= to. */
  between(from: number, to: number): TraceEvent[] {
    return this.list.filter((e) => e.time >= from && e.time <= to);
  }

  /** Events carried in the given frame. */
  byFrame(frame: number): TraceEvent[] {
    return this.list.filter((e) => e.frames.includes(frame));
  }

  mikeyTo(ep: Partial<Endpoint>): MikeyEvent[] {
    return this.byKind('mikey').filter((e) => endpointMatches(e.dst, ep));
  }

  mikeyFrom(ep: Partial<Endpoint>): MikeyEvent[] {
    return this.byKind('mikey').filter((e) => endpointMatches(e.src, ep));
  }

  /** The response paired with a request (by requestId). */
  responseTo(request: HttpRequestEvent | number): HttpResponseEvent | undefined {
    const id = typeof request === 'number' ? request : request.id;
    return this.byKind('http-response').find((r) => r.requestId === id && (r.status < 100 || r.status >= 200));
  }

  /** Interim (1xx) responses to a request. */
  interimResponsesTo(request: HttpRequestEvent | number): HttpResponseEvent[] {
    const id = typeof request === 'number' ? request : request.id;
    return this.byKind('http-response').filter((r) => r.requestId === id && r.status >= 100 && r.status < 200);
  }

  requestOf(response: HttpResponseEvent): HttpRequestEvent | undefined {
    if (response.requestId === undefined) return undefined;
    const e = this.get(response.requestId);
    return e?.kind === 'http-request' ? e : undefined;
  }

  /** Request/response pairs in request order. */
  exchanges(): { request: HttpRequestEvent; response?: HttpResponseEvent }[] {
    return this.byKind('http-request').map((request) => ({ request, response: this.responseTo(request) }));
  }

  /** Whether an event was sent by the UE side (offline 'ue', or live by the tester/SUT playing the UE). */
  sentByUe(event: TraceEvent): boolean {
    if (event.actor === 'ue') return true;
    if (event.actor === 'bmsc') return false;
    if (this.testerRole === undefined) {
      // without the role: HTTP requests and MIKEY ACKs come from the UE (TS 33.246 6.3)
      return event.kind === 'http-request';
    }
    return (event.actor === 'tester') === (this.testerRole === 'ue');
  }

  /** The UE-side endpoint of an event (the sender when the UE sent it, else the receiver). */
  ueEndpoint(event: TraceEvent): Endpoint {
    return this.sentByUe(event) ? event.src : event.dst;
  }

  /** B-TID of an HTTP event (its own Authorization, or its request's for a response). */
  btid(event: TraceEvent): string | undefined {
    if (event.kind === 'http-request') return btidOf(event.headers);
    if (event.kind === 'http-response') {
      const request = this.requestOf(event);
      return request ? btidOf(request.headers) : undefined;
    }
    return undefined;
  }

  /**
   * Groups events per UE: HTTP connections join through the B-TID (Authorization username, TS 33.246
   * 6.3.1 uses GBA credentials), MIKEY events through the UE's endpoint, and, with `byAddress`, everything
   * through the UE's IP address.
   */
  correlate(options: CorrelateOptions = {}): UeGroup[] {
    const byAddress = options.byAddress ?? true;
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let root = x;
      while (parent.get(root) !== undefined && parent.get(root) !== root) root = parent.get(root)!;
      parent.set(x, root);
      return root;
    };
    const union = (a: string, b: string) => {
      if (!parent.has(a)) parent.set(a, a);
      if (!parent.has(b)) parent.set(b, b);
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent.set(rb, ra);
    };
    const nodeOf = new Map<number, string>();
    for (const e of this.list) {
      if (e.kind === 'note') continue;
      const ue = this.ueEndpoint(e);
      const address = normalizeAddress(ue.address);
      let node: string;
      if (e.kind === 'mikey') {
        node = `ep:${address}:${ue.port}`;
        union(node, node);
      } else {
        node = `conn:${e.conn}`;
        union(node, node);
        const btid = this.btid(e);
        if (btid !== undefined) union(node, `btid:${btid}`);
      }
      if (byAddress) union(node, `addr:${address}`);
      nodeOf.set(e.id, node);
    }
    const groups = new Map<string, UeGroup & { order: number }>();
    for (const e of this.list) {
      const node = nodeOf.get(e.id);
      if (!node) continue;
      const root = find(node);
      let g = groups.get(root);
      if (!g) {
        g = { key: '', btids: [], addresses: [], mikeyEndpoints: [], events: [], order: groups.size };
        groups.set(root, g);
      }
      g.events.push(e.id);
      const ue = this.ueEndpoint(e);
      const address = normalizeAddress(ue.address);
      if (!g.addresses.includes(address)) g.addresses.push(address);
      const btid = this.btid(e);
      if (btid !== undefined && !g.btids.includes(btid)) g.btids.push(btid);
      if (e.kind === 'mikey' && !g.mikeyEndpoints.some((m) => endpointMatches(m, { address, port: ue.port }))) g.mikeyEndpoints.push({ address, port: ue.port });
    }
    return [...groups.values()].map(({ order: _order, ...g }) => ({
      ...g,
      key: g.btids[0] ?? (byAddress ? g.addresses[0] : g.mikeyEndpoints[0] ? `${g.mikeyEndpoints[0].address}:${g.mikeyEndpoints[0].port}` : g.addresses[0]),
    }));
  }

  /** Events of the UE with this B-TID or address (see correlate). */
  eventsOfUe(btidOrAddress: string, options?: CorrelateOptions): TraceEvent[] {
    const group = this.correlate(options).find((g) => g.btids.includes(btidOrAddress) || g.addresses.includes(normalizeAddress(btidOrAddress)) || g.key === btidOrAddress);
    return group ? group.events.map((id) => this.get(id)!) : [];
  }

  toJSON(): TraceEvent[] {
    return [...this.list];
  }
}
